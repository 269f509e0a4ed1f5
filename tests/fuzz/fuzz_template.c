/* fuzz_template.c - libFuzzer target for the template engine (lf_template.c): topic,
 * routing key and index templates rendered against a record's JSON payload.
 * Input: byte 0 picks the output buffer size (0..63, or 512 when its top bit is set);
 * the rest is "<template>\0<payload JSON>" (no NUL: the whole rest is the template and
 * the payload is a fixed record).
 * Checks besides the sanitizers: a rendered buffer is NUL-terminated within its size.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "logferry/lf_err.h"
#include "logferry/lf_record.h"

static const char fz_tmpl_default_payload[] =
    "{\"@timestamp\":\"2024-01-01T00:00:00.000Z\",\"type\":\"request\","
    "\"service\":{\"name\":\"shop\"},\"service.name\":\"api\",\"http.response.status_code\":200,"
    "\"message\":\"a \\\"quoted\\\" \\u00e9 line\",\"log\":{\"flags\":[\"parse_failure\"]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t cap = (data[0] & 0x80) ? 512 : (data[0] & 0x3f);
    char *copy = malloc(size);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    const char *tmpl = copy;
    size_t tlen = strlen(copy);
    const char *payload = tlen + 1 < size ? copy + tlen + 1 : fz_tmpl_default_payload;

    struct lf_record rec = {.payload = payload,
                            .payload_len = strlen(payload),
                            .type = LF_TYPE_REQUEST,
                            .id = "0123456789abcdef0123456789abcdef",
                            .source = "/var/log/x.log",
                            .input = "in",
                            .timestamp_ms = 1700000000000};
    struct lf_template *t = NULL;
    char err[256];
    if (lf_template_compile(tmpl, &t, err, sizeof(err)) == LF_OK) {
        char *buf = malloc(cap ? cap : 1);
        if (buf) {
            (void)lf_template_is_constant(t);
            lf_template_render(t, &rec, cap ? buf : NULL, cap);
            if (cap && !memchr(buf, '\0', cap)) {
                abort();
            }
            free(buf);
        }
        lf_template_destroy(t);
    }
    /* the field lookup on its own, with the template text as the field name */
    char small[16];
    (void)lf_record_field(&rec, tmpl, small, sizeof(small));
    free(copy);
    return 0;
}
