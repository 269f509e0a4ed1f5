/* lf_multiline.c - STUB: one line = one record; replaced by the multiline work. */
#include "lf_multiline.h"

#include <stdlib.h>

#include "logferry/lf_err.h"

const char *const lf_ml_preset_names[] = {"none", NULL};
const struct lf_opt lf_ml_options[] = {
    {.name = NULL},
};

struct lf_ml {
    int unused;
};

int lf_ml_create(const struct lf_ml_conf *conf, const char *preset_override, char *err,
                 size_t errlen, struct lf_ml **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? LF_OK : LF_ENOMEM;
}

void lf_ml_destroy(struct lf_ml *ml)
{
    free(ml);
}

int lf_ml_push(struct lf_ml *ml, const char *line, size_t len, uint64_t start_offset,
               uint64_t end_offset, unsigned flags, int64_t now_ms, lf_ml_emit_fn *emit,
               void *ctx)
{
    return emit(ctx, line, len, start_offset, end_offset, flags);
}

int lf_ml_flush(struct lf_ml *ml, lf_ml_emit_fn *emit, void *ctx)
{
    return LF_OK;
}

int64_t lf_ml_deadline(const struct lf_ml *ml)
{
    return -1;
}

uint64_t lf_ml_pending_start(const struct lf_ml *ml)
{
    return 0;
}
