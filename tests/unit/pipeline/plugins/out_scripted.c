/* out_scripted.c - test plugin whose outcomes follow the record's text, so pipeline tests
 * can drive every outcome path with the real core around it:
 *   a message containing "reject" is LF_REJECTED;
 *   "retry" is LF_RETRY on its first submission (attempts 0), then delivered;
 *   anything else is delivered.
 * Delivered records are appended, one payload a line, to <state_dir>/scripted.out, so a
 * test can count what arrived. Acks are sent from submit (the worker thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_plugin.h"

struct scripted {
    struct lf_out_instance *ins;
    FILE *out;
};

static const struct lf_opt opts[] = {{.name = NULL}};

static int p_init(struct lf_out_instance *ins, const void *c, void **s)
{
    char path[4096];
    struct scripted *st = calloc(1, sizeof(*st));
    if (!st) {
        return LF_ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/scripted.out", lf_out_state_dir(ins));
    st->ins = ins;
    st->out = fopen(path, "a");
    if (!st->out) {
        free(st);
        return LF_EIO;
    }
    *s = st;
    return LF_OK;
}

static enum lf_outcome outcome_of(const struct lf_record *r)
{
    if (strstr(r->payload, "reject")) {
        return LF_REJECTED;
    }
    if (strstr(r->payload, "retry") && r->attempts == 0) {
        return LF_RETRY;
    }
    return LF_DELIVERED;
}

static int p_submit(void *s, struct lf_record *const *r, size_t n, size_t *acc)
{
    struct scripted *st = s;
    for (size_t i = 0; i < n; i++) {
        enum lf_outcome o = outcome_of(r[i]);
        if (o == LF_DELIVERED) {
            fprintf(st->out, "%s\n", r[i]->payload);
            fflush(st->out);
        }
        lf_out_ack(st->ins, r[i], o, o == LF_REJECTED ? "scripted rejection" : NULL);
    }
    *acc = n;
    return LF_OK;
}

static int p_flush(void *s, int t)
{
    return LF_OK;
}

static void p_destroy(void *s)
{
    struct scripted *st = s;
    if (st) {
        fclose(st->out);
        free(st);
    }
}

static const struct lf_output_plugin desc = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "scripted",
    .description = "test plugin: outcomes follow the record's text",
    .options = opts,
    .init = p_init,
    .submit = p_submit,
    .flush = p_flush,
    .destroy = p_destroy,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);
const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &desc;
}
