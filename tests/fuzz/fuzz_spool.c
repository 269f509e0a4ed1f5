/* fuzz_spool.c - libFuzzer target for the spool segment reader (agent/spool): a segment
 * file (and optionally a head file) recovered by lf_spool_open and read by
 * lf_spool_read, and the same directory shown by lf_spool_inspect.
 * Input: byte 0 is a set of flags, the rest the segment file seg-0000000000000001.lfs:
 *   bit 0: prepend a valid segment header (id 1);
 *   bit 1: rewrite each frame's CRC32C to match its body (mutations then reach the
 *          record decoder instead of stopping at the checksum);
 *   bit 2: the first 32 bytes of the rest are a "head" slot (magic, sequence, segment,
 *          offset; its CRC is appended), written to slot 0, or slot 1 with bit 4;
 *   bit 3: run lf_spool_inspect on the directory first.
 * After recovery every frame is read, every other one acknowledged, one record appended
 * and synced. Checks besides the sanitizers: a record read back holds NUL-terminated
 * strings of the stated payload length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lf_crc32c.h"
#include "lf_spool.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

#define FZ_SEG_NAME  "seg-0000000000000001.lfs"
#define FZ_HEAD_SLOT 512u /* spool_head.c: two slots of 512 bytes, 36 used in each */
#define FZ_HEAD_REC  32u  /* the slot bytes before their CRC */

static void fz_spool_head(const char *dir, const uint8_t *slot, int second)
{
    uint8_t head[2 * FZ_HEAD_SLOT] = {0};
    uint8_t *p = head + (second ? FZ_HEAD_SLOT : 0);
    memcpy(p, slot, FZ_HEAD_REC);
    spool_put32(p + FZ_HEAD_REC, lf_crc32c(0, p, FZ_HEAD_REC));
    fuzz_write_file(dir, SPOOL_HEAD_FILE, head, sizeof(head));
}

static void fz_spool_fix_crcs(uint8_t *seg, size_t n)
{
    size_t off = SPOOL_SEG_HDR;
    while (off + SPOOL_FRAME_HDR <= n) {
        uint32_t len = spool_get32(seg + off);
        if (len > n - off - SPOOL_FRAME_HDR) {
            break;
        }
        spool_put32(seg + off + 4, lf_crc32c(0, seg + off + SPOOL_FRAME_HDR, len));
        off += SPOOL_FRAME_HDR + len;
    }
}

/* Builds the segment file content: header (flag bit 0) + body, CRCs fixed (bit 1). */
static uint8_t *fz_spool_segment(uint8_t flags, const uint8_t *body, size_t n, size_t *out_len)
{
    size_t hdr = (flags & 1) ? SPOOL_SEG_HDR : 0;
    uint8_t *seg = malloc(hdr + n + 1);
    if (!seg) {
        return NULL;
    }
    if (hdr) {
        memcpy(seg, SPOOL_MAGIC, 8);
        spool_put32(seg + 8, SPOOL_VERSION);
        spool_put32(seg + 12, 0);
        spool_put64(seg + 16, 1);
    }
    memcpy(seg + hdr, body, n);
    if (flags & 2) {
        fz_spool_fix_crcs(seg, hdr + n);
    }
    *out_len = hdr + n;
    return seg;
}

static void fz_spool_read_all(struct lf_spool *s)
{
    struct lf_spool_rec rec;
    struct lf_spool_pos pos;
    for (unsigned i = 0; i < 100000 && lf_spool_read(s, &rec, &pos) == LF_OK; i++) {
        if (rec.payload[rec.payload_len] != '\0' ||
            strlen(rec.id) + strlen(rec.source) + strlen(rec.input) > (size_t)1 << 30) {
            abort();
        }
        if (i % 2 == 0) {
            lf_spool_ack(s, pos);
        }
        lf_spool_rec_free(&rec);
    }
}

static void fz_spool_use(const char *dir)
{
    struct lf_spool_opts opts = {.max_size = 1u << 20, .segment_size = 4096};
    struct lf_spool *s = NULL;
    if (lf_spool_open(dir, &opts, NULL, &s) != LF_OK) {
        return;
    }
    fz_spool_read_all(s);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    struct lf_spool_rec rec = {.payload = "{\"message\":\"x\"}",
                               .payload_len = 15,
                               .id = "0123456789abcdef0123456789abcdef",
                               .source = "/var/log/x.log",
                               .input = "in",
                               .timestamp_ms = 1700000000000};
    if (lf_spool_append(s, &rec) == LF_OK) {
        (void)lf_spool_sync(s);
        lf_spool_rewind(s);
        fz_spool_read_all(s);
    }
    lf_spool_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const char *dir = fuzz_scratch_dir();
    fuzz_clear_dir(dir);
    if ((flags & 4) && n >= FZ_HEAD_REC) {
        fz_spool_head(dir, body, flags & 16);
        body += FZ_HEAD_REC;
        n -= FZ_HEAD_REC;
    }
    size_t seg_len;
    uint8_t *seg = fz_spool_segment(flags, body, n, &seg_len);
    if (!seg) {
        return 0;
    }
    fuzz_write_file(dir, FZ_SEG_NAME, seg, seg_len);
    free(seg);
    if (flags & 8) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            (void)lf_spool_inspect(dir, null, 1700000000000);
            fclose(null);
        }
    }
    fz_spool_use(dir);
    return 0;
}
