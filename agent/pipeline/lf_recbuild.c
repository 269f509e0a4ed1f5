/* lf_recbuild.c - the record builder shared by the router and `logferry parse`. */
#include "lf_recbuild.h"

#include "lf_multiline.h"
#include "lf_recid.h"

int lf_recbuild(struct lf_parser *p, const struct lf_recbuild_src *src, const char *text,
                size_t len, uint64_t start, unsigned ml_flags, int64_t read_time_ms,
                struct lf_buf *out, struct lf_built *built)
{
    lf_record_make_id(src->file_id, start, built->id);
    struct lf_event_meta meta = {
        .host_name = src->host_name,
        .path = src->path,
        .host_len = src->host_len,
        .path_len = src->path_len,
        .input = src->input->name,
        .id_hex = built->id,
        .offset = start,
        .read_time_ms = read_time_ms,
        .fields = &src->input->fields,
        .flags = (ml_flags & LF_ML_TRUNCATED) ? LF_META_TRUNCATED : 0,
    };
    built->type = (enum lf_record_type)src->input->type;
    built->timestamp_ms = read_time_ms;
    lf_buf_reset(out);
    return lf_parser_encode(p, &meta, text, len, out, &built->type, &built->timestamp_ms);
}
