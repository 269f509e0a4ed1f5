/* fuzz_ckpt.c - libFuzzer target for the checkpoint reader (lf_ckpt.c): the bytes of a
 * <state_dir>/checkpoints file loaded by lf_ckpt_open.
 * Input: byte 0 bit 0 set: the rest is the content before the trailer and the target
 * appends a correct "end <count> <xxh64>" trailer (so mutations reach the entry parser
 * past the checksum); clear: the rest is the whole file.
 * Checks besides the sanitizers: a file that loads is saved and loads again with the same
 * entries (offset and path of each), as a restart would.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fuzz_util.h"
#include "lf_ckpt.h"
#include "logferry/lf_err.h"

static uint8_t *fz_ckpt_with_trailer(const uint8_t *body, size_t n, size_t *out_len)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += body[i] == '\n';
    }
    char trailer[64];
    int t = snprintf(trailer, sizeof(trailer), "end %zu %016" PRIx64 "\n", lines ? lines - 1 : 0,
                     (uint64_t)XXH64(body, n, 0));
    uint8_t *out = malloc(n + (size_t)t);
    if (!out) {
        return NULL;
    }
    memcpy(out, body, n);
    memcpy(out + n, trailer, (size_t)t);
    *out_len = n + (size_t)t;
    return out;
}

static void fz_ckpt_same(const struct lf_ckpt_store *a, const struct lf_ckpt_store *b)
{
    if (a->n != b->n) {
        abort();
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct lf_ckpt_entry *x = &a->v[i], *y = &b->v[i];
        if (x->offset != y->offset || x->id.dev != y->id.dev || x->id.ino != y->id.ino ||
            x->id.fp_hash != y->id.fp_hash || x->id.fp_len != y->id.fp_len ||
            strcmp(x->path, y->path) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *dir = fuzz_scratch_dir();
    fuzz_clear_dir(dir);
    if (data[0] & 1) {
        size_t n;
        uint8_t *file = fz_ckpt_with_trailer(data + 1, size - 1, &n);
        if (!file) {
            return 0;
        }
        fuzz_write_file(dir, LF_CKPT_FILE, file, n);
        free(file);
    } else {
        fuzz_write_file(dir, LF_CKPT_FILE, data + 1, size - 1);
    }
    char err[512];
    struct lf_ckpt_store *s = NULL;
    if (lf_ckpt_open(dir, &s, err, sizeof(err)) != LF_OK) {
        return 0;
    }
    s->dirty = true;
    if (lf_ckpt_save(s) == LF_OK) {
        struct lf_ckpt_store *again = NULL;
        if (lf_ckpt_open(dir, &again, err, sizeof(err)) != LF_OK) {
            abort(); /* what the store wrote it cannot read back */
        }
        fz_ckpt_same(s, again);
        lf_ckpt_close(again);
    }
    lf_ckpt_close(s);
    return 0;
}
