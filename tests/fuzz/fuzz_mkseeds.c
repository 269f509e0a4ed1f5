/* fuzz_mkseeds.c - writes the binary seed corpora of the fuzz targets with the real
 * writers, so the seeds follow the current on-disk formats:
 *   DIR/spool/: segment files of a spool holding three records (with the flag byte
 *               fuzz_spool.c expects in front), with and without a head slot;
 *   DIR/ckpt/:  checkpoint files of three entries (paths with spaces, '%', a newline),
 *               whole and without their trailer (fuzz_ckpt.c's byte 0).
 * Usage: fuzz_mkseeds DIR (DIR exists). Exit status 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "lf_ckpt.h"
#include "lf_spool.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

static int seed_read(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *b = malloc(1u << 20);
    size_t n = b ? fread(b, 1, 1u << 20, f) : 0;
    fclose(f);
    *out = b;
    *len = n;
    return b ? 0 : -1;
}

/* Writes flag byte + [prefix] + file content to dir/name. */
static int seed_put(const char *dir, const char *name, uint8_t flag, const uint8_t *prefix,
                    size_t plen, const uint8_t *data, size_t n)
{
    uint8_t *b = malloc(1 + plen + n);
    if (!b) {
        return -1;
    }
    b[0] = flag;
    if (plen) {
        memcpy(b + 1, prefix, plen);
    }
    memcpy(b + 1 + plen, data, n);
    fuzz_write_file(dir, name, b, 1 + plen + n);
    free(b);
    return 0;
}

static int seed_spool(const char *work, const char *out)
{
    struct lf_spool_opts opts = {.segment_size = 1u << 20, .first_segment_id = 1};
    struct lf_spool *s = NULL;
    if (lf_spool_open(work, &opts, NULL, &s) != LF_OK) {
        return -1;
    }
    static const char *const payloads[] = {"{\"message\":\"GET / 200\",\"type\":\"request\"}",
                                           "{\"message\":\"boom\"}",
                                           "{\"db.statement\":\"select 1\"}"};
    for (int i = 0; i < 3; i++) {
        struct lf_spool_rec r = {.payload = payloads[i],
                                 .payload_len = strlen(payloads[i]),
                                 .id = "0123456789abcdef0123456789abcdef",
                                 .source = "/var/log/nginx/access.log",
                                 .input = "web",
                                 .type = i + 1,
                                 .timestamp_ms = 1700000000000 + i,
                                 .start_offset = (uint64_t)i * 100,
                                 .end_offset = (uint64_t)i * 100 + 99};
        if (lf_spool_append(s, &r) != LF_OK) {
            return -1;
        }
    }
    lf_spool_sync(s);
    lf_spool_close(s);
    char path[4096 + 64];
    snprintf(path, sizeof(path), "%s/seg-0000000000000001.lfs", work);
    uint8_t *seg;
    size_t n;
    if (seed_read(path, &seg, &n) != 0) {
        return -1;
    }
    /* head slot: magic, sequence 1, segment 1, offset of the second frame */
    uint8_t slot[32] = "LFHEAD1";
    spool_put64(slot + 8, 1);
    spool_put64(slot + 16, 1);
    spool_put64(slot + 24, SPOOL_SEG_HDR + SPOOL_FRAME_HDR + spool_get32(seg + SPOOL_SEG_HDR));
    int rc = seed_put(out, "three-records", 0, NULL, 0, seg, n);
    rc |= seed_put(out, "three-records-inspect", 8, NULL, 0, seg, n);
    rc |= seed_put(out, "body-only-fixed-crc", 3, NULL, 0, seg + SPOOL_SEG_HDR, n - SPOOL_SEG_HDR);
    rc |= seed_put(out, "with-head", 4, slot, sizeof(slot), seg, n);
    rc |= seed_put(out, "with-head-slot1", 4 | 16, slot, sizeof(slot), seg, n);
    free(seg);
    return rc;
}

static int seed_ckpt(const char *work, const char *out)
{
    char err[512];
    struct lf_ckpt_store *s = NULL;
    if (lf_ckpt_open(work, &s, err, sizeof(err)) != LF_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    static const char *const paths[] = {"/var/log/nginx/access.log", "/srv/my app/100% done.log",
                                        "/tmp/odd\nname.log"};
    for (int i = 0; i < 3; i++) {
        struct lf_file_id id = {.dev = 2049,
                                .ino = 1000 + (uint64_t)i,
                                .fp_hash = 0x0123456789abcdefull * (uint64_t)(i + 1),
                                .fp_len = 1024};
        if (lf_ckpt_set(s, &id, paths[i], (uint64_t)i * 4096 + 17) != LF_OK) {
            return -1;
        }
    }
    if (lf_ckpt_save(s) != LF_OK) {
        return -1;
    }
    lf_ckpt_close(s);
    char path[4096 + 64];
    snprintf(path, sizeof(path), "%s/%s", work, LF_CKPT_FILE);
    uint8_t *f;
    size_t n;
    if (seed_read(path, &f, &n) != 0) {
        return -1;
    }
    size_t body = n;
    while (body > 1 && f[body - 2] != '\n') { /* cut the trailer line */
        body--;
    }
    body--;
    int rc = seed_put(out, "three-entries", 0, NULL, 0, f, n);
    rc |= seed_put(out, "three-entries-no-trailer", 1, NULL, 0, f, body);
    free(f);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_mkseeds DIR\n");
        return 1;
    }
    char spool_out[4096], ckpt_out[4096], work[4096];
    snprintf(spool_out, sizeof(spool_out), "%s/spool", argv[1]);
    snprintf(ckpt_out, sizeof(ckpt_out), "%s/ckpt", argv[1]);
    mkdir(spool_out, 0755);
    mkdir(ckpt_out, 0755);
    snprintf(work, sizeof(work), "%s/spool-work", fuzz_scratch_dir());
    int rc = seed_spool(work, spool_out) != 0 || seed_ckpt(fuzz_scratch_dir(), ckpt_out) != 0;
    fuzz_scratch_remove();
    if (rc) {
        fprintf(stderr, "fuzz_mkseeds: cannot write the seeds\n");
    }
    return rc;
}
