/* check_spool.c - the spool through its public API and its documented file format:
 * round trip, CRC corruption and torn tails (quarantine), out-of-order acks deleting
 * segments, head persistence, segment ids wrapping around 2^64, group commit, max_size
 * policies, and write errors (RLIMIT_FSIZE everywhere, a full tmpfs when we may mount).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_cmd.h"
#include "lf_crc32c.h"
#include "lf_spool.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

#define PAYLOAD_LEN 200
#define SRC         "/var/log/nginx/access.log"
#define INPUT       "access"
/* One frame of make_rec: length + crc + fixed fields + id + source + input + payload. */
#define FRAME_LEN (8 + 72 + 32 + (sizeof(SRC) - 1) + (sizeof(INPUT) - 1) + PAYLOAD_LEN)
#define SEG_HDR   24

static const struct lf_log_ctx quiet = {.prefix = "[spool-test]", .level = LF_LOG_ERROR};

struct rec_buf {
    char payload[PAYLOAD_LEN + 1];
    char id[33];
};

static void make_rec(uint64_t i, struct rec_buf *b, struct lf_spool_rec *r)
{
    memset(b->payload, 'x', PAYLOAD_LEN);
    b->payload[PAYLOAD_LEN] = '\0';
    int n = snprintf(b->payload, PAYLOAD_LEN, "{\"seq\":%" PRIu64 ",\"message\":\"", i);
    b->payload[n] = 'x'; /* snprintf's NUL */
    b->payload[PAYLOAD_LEN - 2] = '"';
    b->payload[PAYLOAD_LEN - 1] = '}';
    snprintf(b->id, sizeof(b->id), "%016" PRIx64 "%016" PRIx64, i, ~i);
    memset(r, 0, sizeof(*r));
    r->payload = b->payload;
    r->payload_len = PAYLOAD_LEN;
    r->id = b->id;
    r->source = SRC;
    r->input = INPUT;
    r->type = (int)(i % 4);
    r->timestamp_ms = 1700000000000 + (int64_t)i;
    r->attempts = (uint32_t)(i % 7);
    r->first_failure_ms = i % 2 ? 1700000000500 + (int64_t)i : 0;
    r->dev = 0x801;
    r->ino = 1000 + i;
    r->start_offset = i * 1000;
    r->end_offset = i * 1000 + 999;
}

/* The sequence number a payload of make_rec carries. */
static uint64_t rec_seq(const struct lf_spool_rec *r)
{
    uint64_t v = UINT64_MAX;
    ck_assert_int_eq(sscanf(r->payload, "{\"seq\":%" SCNu64, &v), 1);
    return v;
}

static void check_rec(const struct lf_spool_rec *got, uint64_t i)
{
    struct rec_buf b;
    struct lf_spool_rec want;
    make_rec(i, &b, &want);
    ck_assert_uint_eq(got->payload_len, want.payload_len);
    ck_assert_mem_eq(got->payload, want.payload, want.payload_len);
    ck_assert_int_eq(got->payload[got->payload_len], '\0');
    ck_assert_str_eq(got->id, want.id);
    ck_assert_str_eq(got->source, want.source);
    ck_assert_str_eq(got->input, want.input);
    ck_assert_int_eq(got->type, want.type);
    ck_assert_int_eq(got->timestamp_ms, want.timestamp_ms);
    ck_assert_uint_eq(got->attempts, want.attempts);
    ck_assert_int_eq(got->first_failure_ms, want.first_failure_ms);
    ck_assert_uint_eq(got->dev, want.dev);
    ck_assert_uint_eq(got->ino, want.ino);
    ck_assert_uint_eq(got->start_offset, want.start_offset);
    ck_assert_uint_eq(got->end_offset, want.end_offset);
}

static struct lf_spool *open_spool(const char *dir, uint64_t seg_frames, uint64_t max_size,
                                   enum lf_spool_when_full wf)
{
    struct lf_spool_opts o = {
        .segment_size = seg_frames ? SEG_HDR + seg_frames * FRAME_LEN : 0,
        .max_size = max_size,
        .when_full = wf,
    };
    struct lf_spool *s = NULL;
    ck_assert_int_eq(lf_spool_open(dir, &o, &quiet, &s), LF_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void append_range(struct lf_spool *s, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        struct rec_buf b;
        struct lf_spool_rec r;
        make_rec(i, &b, &r);
        ck_assert_int_eq(lf_spool_append(s, &r), LF_OK);
    }
}

/* Reads everything at the cursor; checks each record; returns the count. Positions are
 * stored in pos (if not NULL, room for cap) and the sequence numbers in seq. */
static size_t read_all(struct lf_spool *s, uint64_t *seq, struct lf_spool_pos *pos, size_t cap)
{
    size_t n = 0;
    struct lf_spool_rec r;
    struct lf_spool_pos p;
    int rc;
    while ((rc = lf_spool_read(s, &r, &p)) == LF_OK) {
        ck_assert_uint_lt(n, cap);
        uint64_t q = rec_seq(&r);
        check_rec(&r, q);
        seq[n] = q;
        if (pos) {
            pos[n] = p;
        }
        n++;
        lf_spool_rec_free(&r);
    }
    ck_assert_int_eq(rc, LF_ENOTFOUND);
    return n;
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0, sl = strlen(suffix);
    if (!d) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void seg_path(char *buf, size_t cap, const char *dir, uint64_t id)
{
    snprintf(buf, cap, "%s/seg-%016" PRIx64 ".lfs", dir, id);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

START_TEST(crc32c_vectors)
{
    ck_assert_uint_eq(lf_crc32c(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(lf_crc32c_sw(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(lf_crc32c(0, "", 0), 0);
    unsigned char buf[1031];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 131 + 7);
    }
    for (size_t len = 0; len < sizeof(buf); len += 13) {
        ck_assert_uint_eq(lf_crc32c(0, buf + 1, len - (len ? 1 : 0)),
                          lf_crc32c_sw(0, buf + 1, len - (len ? 1 : 0)));
    }
    /* Extending equals one pass. */
    ck_assert_uint_eq(lf_crc32c(lf_crc32c(0, buf, 100), buf + 100, 900), lf_crc32c(0, buf, 1000));
}
END_TEST

START_TEST(round_trip)
{
    char *dir = lft_mkdtemp("spool-rt");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    ck_assert(lf_spool_empty(s));
    append_range(s, 0, 10);
    /* NULL strings and an empty payload are stored as empty strings. */
    struct lf_spool_rec odd = {.payload = NULL, .type = 3, .timestamp_ms = -5};
    ck_assert_int_eq(lf_spool_append(s, &odd), LF_OK);
    ck_assert(!lf_spool_empty(s));
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 11);
    ck_assert_uint_eq(st.segments, 1);
    ck_assert_uint_eq(st.bytes, SEG_HDR + 10 * FRAME_LEN + 8 + 72);
    ck_assert_int_eq(st.oldest_ms, 1700000000000);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    struct lf_spool_rec r;
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(lf_spool_read(s, &r, &pos[i]), LF_OK);
        check_rec(&r, (uint64_t)i);
        ck_assert_uint_eq(pos[i].off, SEG_HDR + (uint64_t)i * FRAME_LEN);
        lf_spool_rec_free(&r);
    }
    ck_assert_int_eq(lf_spool_read(s, &r, &pos[10]), LF_OK);
    ck_assert_str_eq(r.payload, "");
    ck_assert_str_eq(r.id, "");
    ck_assert_int_eq(r.type, 3);
    ck_assert_int_eq(r.timestamp_ms, -5);
    lf_spool_rec_free(&r);
    ck_assert_int_eq(lf_spool_read(s, &r, &pos[11]), LF_ENOTFOUND);
    /* Frames appended after the cursor reached the end are read at once (no sync). */
    append_range(s, 20, 1);
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 1);
    ck_assert_uint_eq(seq[0], 20);
    /* Rewind re-reads every un-acknowledged frame. */
    lf_spool_ack(s, pos[0]);
    lf_spool_ack(s, pos[0]);                                             /* repeated: ignored */
    lf_spool_ack(s, (struct lf_spool_pos){.seg = pos[0].seg, .off = 5}); /* unknown */
    lf_spool_ack(s, (struct lf_spool_pos){.seg = 99, .off = SEG_HDR});   /* unknown */
    lf_spool_ack(s, pos[2]);
    lf_spool_rewind(s);
    ck_assert_int_eq(lf_spool_read(s, &r, &pos[12]), LF_OK);
    check_rec(&r, 1);
    lf_spool_rec_free(&r);
    ck_assert_int_eq(lf_spool_read(s, &r, &pos[12]), LF_OK);
    check_rec(&r, 3); /* 2 was acknowledged */
    lf_spool_rec_free(&r);
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 10);
    ck_assert_int_eq(st.oldest_ms, 1700000000001);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* 5 segments of 4 frames; a byte of frame 2 of segment 2 flipped. */
START_TEST(crc_corruption_quarantined)
{
    char *dir = lft_mkdtemp("spool-crc");
    struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 20);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    ck_assert_uint_eq(count_files(dir, ".lfs"), 5);

    char path[256];
    seg_path(path, sizeof(path), dir, 2);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    off_t at = SEG_HDR + 2 * FRAME_LEN + 150;
    char c;
    ck_assert_int_eq(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
    close(fd);

    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 1);
    ck_assert_uint_eq(st.records, 18);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 2 * FRAME_LEN);
    char qpath[300];
    snprintf(qpath, sizeof(qpath), "%s/quarantine/seg-%016x.%d.bad", dir, 2,
             (int)(SEG_HDR + 2 * FRAME_LEN));
    ck_assert_uint_eq(file_size(qpath), 2 * FRAME_LEN);
    uint64_t seq[32];
    ck_assert_uint_eq(read_all(s, seq, NULL, 32), 18);
    for (size_t i = 0, want = 0; i < 18; i++, want++) {
        want = want == 10 ? 12 : want; /* records 10 and 11 went to quarantine */
        ck_assert_uint_eq(seq[i], want);
    }
    lf_spool_close(s);

    /* A second open finds nothing new; the quarantine file is still counted. */
    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 1);
    ck_assert_uint_eq(st.records, 18);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(torn_tail_quarantined)
{
    char *dir = lft_mkdtemp("spool-torn");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 6);
    lf_spool_close(s);
    char path[256];
    seg_path(path, sizeof(path), dir, 0);
    ck_assert_int_eq(truncate(path, SEG_HDR + 5 * FRAME_LEN + 40), 0); /* mid frame 5 */

    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 1);
    ck_assert_uint_eq(st.records, 5);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 5 * FRAME_LEN);
    append_range(s, 100, 2); /* goes to a new segment */
    uint64_t seq[16];
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 7);
    ck_assert_uint_eq(seq[4], 4);
    ck_assert_uint_eq(seq[5], 100);
    lf_spool_close(s);

    /* A file torn while its header was written holds no frame: removed, not counted. */
    seg_path(path, sizeof(path), dir, 7);
    lft_write_file(path, "LFSPO", false);
    /* A bad header sends the whole file to quarantine. */
    seg_path(path, sizeof(path), dir, 8);
    lft_write_file(path, "this is not a spool segment at all", false);
    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 2);
    ck_assert_uint_eq(st.records, 7);
    ck_assert_uint_eq(count_files(dir, ".lfs"), 2);
    char qdir[300];
    snprintf(qdir, sizeof(qdir), "%s/quarantine", dir);
    ck_assert_uint_eq(count_files(qdir, ".bad"), 2);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* When the bad tail cannot be copied (here quarantine/ is a file), open still succeeds with
 * the good frames and leaves the file alone; a later open quarantines it. */
START_TEST(quarantine_unavailable)
{
    char *dir = lft_mkdtemp("spool-noq");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 4);
    lf_spool_close(s);
    char path[256], qfile[300];
    seg_path(path, sizeof(path), dir, 0);
    ck_assert_int_eq(truncate(path, SEG_HDR + 3 * FRAME_LEN + 10), 0);
    snprintf(qfile, sizeof(qfile), "%s/quarantine", dir);
    lft_write_file(qfile, "not a directory", false);
    char badhdr[256];
    seg_path(badhdr, sizeof(badhdr), dir, 5); /* the newest id, and it cannot be moved */
    lft_write_file(badhdr, "a segment whose header is not one", false);
    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 3);
    ck_assert_uint_eq(st.quarantined, 0);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 3 * FRAME_LEN + 10);
    append_range(s, 10, 1);
    uint64_t seq[8];
    struct lf_spool_pos pos[8];
    ck_assert_uint_eq(read_all(s, seq, pos, 8), 4);
    ck_assert_uint_eq(seq[3], 10);
    ck_assert_uint_eq(pos[3].seg, 6); /* never the name of the file left in place */
    lf_spool_close(s);
    ck_assert_int_eq(unlink(qfile), 0);
    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 4);
    ck_assert_uint_eq(st.quarantined, 2);
    ck_assert_int_eq(access(badhdr, F_OK), -1);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 3 * FRAME_LEN);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* A frame that goes bad after open is quarantined when the cursor reaches it. */
START_TEST(corruption_found_while_reading)
{
    char *dir = lft_mkdtemp("spool-rdbad");
    struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 8);
    char path[256];
    seg_path(path, sizeof(path), dir, 0);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "\xff\xff\xff\x7f", 4, SEG_HDR + FRAME_LEN), 4); /* length */
    close(fd);
    uint64_t seq[16];
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 5);
    ck_assert_uint_eq(seq[0], 0);
    ck_assert_uint_eq(seq[1], 4);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 3);
    ck_assert_uint_eq(st.records, 5);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* The same in the segment being written: appends continue after the cut. */
START_TEST(corruption_in_writer)
{
    char *dir = lft_mkdtemp("spool-wrbad");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 5);
    char path[256];
    seg_path(path, sizeof(path), dir, 0);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "#", 1, SEG_HDR + 2 * FRAME_LEN + FRAME_LEN - 1), 1);
    close(fd);
    uint64_t seq[16];
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 2);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 2 * FRAME_LEN);
    append_range(s, 100, 3);
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 3);
    ck_assert_uint_eq(seq[0], 100);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);

    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 1); /* the file of the 3 frames cut while reading */
    ck_assert_uint_eq(st.records, 5);
    ck_assert_uint_eq(read_all(s, seq, NULL, 16), 5);
    ck_assert_uint_eq(seq[1], 1);
    ck_assert_uint_eq(seq[2], 100);
    char qpath[300];
    snprintf(qpath, sizeof(qpath), "%s/quarantine/seg-%016x.%d.bad", dir, 0,
             (int)(SEG_HDR + 2 * FRAME_LEN));
    ck_assert_uint_eq(file_size(qpath), 3 * FRAME_LEN);
    lf_spool_close(s);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_int_eq(lf_spool_inspect(dir, fp, 0), LF_OK);
    fclose(fp);
    ck_assert_ptr_nonnull(strstr(buf, "quarantine: 1 file\n"));
    ck_assert_ptr_nonnull(strstr(buf, "quarantine/seg-0000000000000000.710.bad  1029 bytes"));
    free(buf);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* Random single-byte damage or truncation anywhere (headers, lengths, CRCs, bodies):
 * recovery never fails, every frame before the damage survives, each record read is
 * intact, and a second open finds nothing more to quarantine. */
START_TEST(random_damage)
{
    uint32_t x = 777;
    for (int iter = 0; iter < 60; iter++) {
        char *dir = lft_mkdtemp("spool-fuzz");
        struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
        append_range(s, 0, 12); /* segments 0, 1, 2 */
        lf_spool_close(s);
        x = x * 1103515245u + 12345u;
        uint64_t seg = (x >> 8) % 3;
        x = x * 1103515245u + 12345u;
        uint64_t at = (x >> 8) % (SEG_HDR + 4 * FRAME_LEN);
        char path[256];
        seg_path(path, sizeof(path), dir, seg);
        if (iter % 3 == 0) {
            ck_assert_int_eq(truncate(path, (off_t)at), 0);
        } else {
            int fd = open(path, O_RDWR);
            char c;
            ck_assert_int_eq(pread(fd, &c, 1, (off_t)at), 1);
            c = (char)(c ^ (1 << (iter % 8)));
            ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)at), 1);
            close(fd);
        }
        /* Frames wholly before the damaged byte are kept (none if the header is hit). */
        uint64_t kept_in_seg = at < SEG_HDR ? 0 : (at - SEG_HDR) / FRAME_LEN;
        s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
        uint64_t seq[16];
        size_t n = read_all(s, seq, NULL, 16);
        ck_assert_uint_ge(n, 8 + kept_in_seg);
        bool harmless = iter % 3 != 0 && at >= 12 && at < 16; /* the reserved header field */
        ck_assert_uint_le(n, harmless ? 12 : 11);
        for (size_t i = 1; i < n; i++) {
            ck_assert_uint_gt(seq[i], seq[i - 1]);
        }
        struct lf_spool_stats st;
        lf_spool_get_stats(s, &st);
        lf_spool_close(s);
        s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
        struct lf_spool_stats st2;
        lf_spool_get_stats(s, &st2);
        ck_assert_uint_eq(st2.records, st.records);
        ck_assert_uint_eq(st2.quarantined, st.quarantined);
        lf_spool_close(s);
        lft_rmtree(dir);
        free(dir);
    }
}
END_TEST

/* Fills order[0..n) with a fixed permutation of 0..n-1 (LCG Fisher-Yates). */
static void permute(int *order, int n, uint32_t x)
{
    for (int i = 0; i < n; i++) {
        order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
        x = x * 1103515245u + 12345u;
        int j = (int)((x >> 8) % (uint32_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

START_TEST(out_of_order_acks_delete_segments)
{
    char *dir = lft_mkdtemp("spool-acks");
    struct lf_spool *s = open_spool(dir, 3, 0, LF_SPOOL_BLOCK);
    enum { N = 90 };
    append_range(s, 0, N);
    ck_assert_uint_eq(count_files(dir, ".lfs"), N / 3);
    uint64_t seq[N];
    struct lf_spool_pos pos[N];
    ck_assert_uint_eq(read_all(s, seq, pos, N), N);
    /* A fixed permutation, then track each segment's remaining frames. */
    int order[N], left[N / 3];
    permute(order, N, 12345);
    for (int i = 0; i < N / 3; i++) {
        left[i] = 3;
    }
    size_t segs = N / 3;
    for (int k = 0; k < N; k++) {
        int i = order[k];
        lf_spool_ack(s, pos[i]);
        if (--left[i / 3] == 0) {
            segs--;
        }
        ck_assert_uint_eq(count_files(dir, ".lfs"), segs);
        struct lf_spool_stats st;
        lf_spool_get_stats(s, &st);
        ck_assert_uint_eq(st.records, (uint64_t)(N - k - 1));
        ck_assert_uint_eq(st.segments, segs);
    }
    ck_assert(lf_spool_empty(s));
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    /* The writer was deleted with its last ack: the next append makes a new segment. */
    append_range(s, 500, 1);
    ck_assert_uint_eq(count_files(dir, ".lfs"), 1);
    ck_assert_uint_eq(read_all(s, seq, pos, N), 1);
    ck_assert_uint_eq(seq[0], 500);
    ck_assert_uint_eq(pos[0].seg, N / 3);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(head_persistence)
{
    char *dir = lft_mkdtemp("spool-head");
    struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 10);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 10);
    for (int i = 0; i < 6; i++) {
        lf_spool_ack(s, pos[i]); /* frames 0-3 fill segment 0: deleted */
    }
    lf_spool_ack(s, pos[8]); /* out of order: in the acks file, not in the head */
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_ack(s, pos[6]); /* after the last sync: re-read after restart */
    lf_spool_close(s);

    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 3);
    ck_assert_uint_eq(seq[0], 6); /* a duplicate, allowed */
    ck_assert_uint_eq(seq[1], 7);
    ck_assert_uint_eq(seq[2], 9);
    for (int i = 0; i < 3; i++) {
        lf_spool_ack(s, pos[i]);
    }
    ck_assert(lf_spool_empty(s));
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    ck_assert_uint_eq(count_files(dir, ".lfs"), 0);
    lf_spool_close(s);

    /* Empty after restart; new ids keep growing past the head. */
    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert(lf_spool_empty(s));
    append_range(s, 50, 1);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 1);
    ck_assert_uint_ge(pos[0].seg, 3);
    lf_spool_close(s);

    /* A damaged head file: every frame is read again. */
    char path[300];
    snprintf(path, sizeof(path), "%s/head", dir);
    lft_write_file(path, "LFHEAD1 and then garbage: no valid slot", false);
    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 1);
    ck_assert_uint_eq(seq[0], 50);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* A torn write of the newer head slot: the older slot is used (more duplicates, no loss). */
START_TEST(head_torn_slot)
{
    char *dir = lft_mkdtemp("spool-headslot");
    struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 10);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 10);
    lf_spool_ack(s, pos[0]);
    lf_spool_ack(s, pos[1]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK); /* head 2, slot 1 */
    lf_spool_ack(s, pos[2]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK); /* head 3, slot 0 */
    lf_spool_close(s);

    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 7);
    ck_assert_uint_eq(seq[0], 3);
    lf_spool_close(s);

    char path[300];
    snprintf(path, sizeof(path), "%s/head", dir);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "\x55", 1, 20), 1); /* inside slot 0 */
    close(fd);
    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 8);
    ck_assert_uint_eq(seq[0], 2);
    /* The next store goes to the slot after the one loaded and wins at the next open. */
    lf_spool_ack(s, pos[0]);
    lf_spool_ack(s, pos[1]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 6);
    ck_assert_uint_eq(seq[0], 4);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(segment_ids_wrap)
{
    char *dir = lft_mkdtemp("spool-wrap");
    struct lf_spool_opts o = {
        .segment_size = SEG_HDR + 2 * FRAME_LEN,
        .first_segment_id = UINT64_MAX - 2,
    };
    struct lf_spool *s;
    ck_assert_int_eq(lf_spool_open(dir, &o, &quiet, &s), LF_OK);
    append_range(s, 0, 12); /* ids max-2, max-1, max, 0, 1, 2 */
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    char path[256];
    seg_path(path, sizeof(path), dir, UINT64_MAX);
    ck_assert_int_eq(access(path, F_OK), 0);
    seg_path(path, sizeof(path), dir, 2);
    ck_assert_int_eq(access(path, F_OK), 0);

    ck_assert_int_eq(lf_spool_open(dir, &o, &quiet, &s), LF_OK);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 12);
    for (uint64_t i = 0; i < 12; i++) {
        ck_assert_uint_eq(seq[i], i); /* oldest first across the wrap */
    }
    ck_assert_uint_eq(pos[0].seg, UINT64_MAX - 2);
    ck_assert_uint_eq(pos[11].seg, 2);
    for (int i = 0; i < 7; i++) {
        lf_spool_ack(s, pos[i]);
    }
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    append_range(s, 12, 1); /* new segment 3 */
    lf_spool_close(s);

    ck_assert_int_eq(lf_spool_open(dir, &o, &quiet, &s), LF_OK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 6);
    ck_assert_uint_eq(seq[0], 7);
    ck_assert_uint_eq(pos[0].seg, 0);
    ck_assert_uint_eq(seq[5], 12);
    ck_assert_uint_eq(pos[5].seg, 3);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(group_commit)
{
    char *dir = lft_mkdtemp("spool-group");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    enum { N = 5000 };
    append_range(s, 0, N);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK); /* nothing new: no-op */
    lf_spool_close(s);
    s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, N);
    ck_assert_uint_eq(st.segments, (N * FRAME_LEN + (8u << 20) - 1) / ((8u << 20) - SEG_HDR));
    uint64_t *seq = malloc(N * sizeof(*seq));
    ck_assert_uint_eq(read_all(s, seq, NULL, N), N);
    for (uint64_t i = 0; i < N; i++) {
        ck_assert_uint_eq(seq[i], i);
    }
    free(seq);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(block_when_full)
{
    char *dir = lft_mkdtemp("spool-block");
    /* Room for 2 segments of 4 frames. */
    uint64_t max = 2 * (SEG_HDR + 4 * FRAME_LEN);
    struct lf_spool *s = open_spool(dir, 4, max, LF_SPOOL_BLOCK);
    append_range(s, 0, 8);
    struct rec_buf b;
    struct lf_spool_rec r;
    make_rec(8, &b, &r);
    ck_assert_int_eq(lf_spool_append(s, &r), LF_ETOOBIG);
    ck_assert_int_eq(lf_spool_append(s, &r), LF_ETOOBIG);
    /* A record alone over max_size is refused too. */
    char *big = malloc(max);
    memset(big, 'y', max);
    struct lf_spool_rec huge = {.payload = big, .payload_len = max};
    ck_assert_int_eq(lf_spool_append(s, &huge), LF_ETOOBIG);
    free(big);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 8);
    for (int i = 0; i < 3; i++) {
        lf_spool_ack(s, pos[i]);
    }
    ck_assert_int_eq(lf_spool_append(s, &r), LF_ETOOBIG); /* no segment freed yet */
    lf_spool_ack(s, pos[3]);
    ck_assert_int_eq(lf_spool_append(s, &r), LF_OK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 5);
    ck_assert_uint_eq(st.dropped_records, 0);
    ck_assert_uint_le(st.bytes, max);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(drop_oldest_counts)
{
    char *dir = lft_mkdtemp("spool-drop");
    uint64_t max = 3 * (SEG_HDR + 4 * FRAME_LEN);
    struct lf_spool *s = open_spool(dir, 4, max, LF_SPOOL_DROP_OLDEST);
    append_range(s, 0, 2);
    struct lf_spool_rec r;
    struct lf_spool_pos early;
    ck_assert_int_eq(lf_spool_read(s, &r, &early), LF_OK);
    lf_spool_rec_free(&r);
    lf_spool_ack(s, early); /* acked frames are not counted as dropped */
    ck_assert_int_eq(lf_spool_read(s, &r, &early), LF_OK); /* cursor inside segment 0 */
    lf_spool_rec_free(&r);
    append_range(s, 2, 30);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_le(st.bytes, max);
    ck_assert_uint_eq(st.segments, 3);
    ck_assert_uint_eq(st.records, 12); /* segments 5, 6, 7: records 20-31 */
    ck_assert_uint_eq(st.dropped_records, 32 - 1 - 12);
    lf_spool_ack(s, early); /* its segment is gone: ignored */
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 12);
    uint64_t seq[40];
    ck_assert_uint_eq(read_all(s, seq, NULL, 40), 12);
    ck_assert_uint_eq(seq[0], 20);
    ck_assert_uint_eq(seq[11], 31);
    lf_spool_close(s);

    /* Segments larger than max_size: the writer itself is dropped to make room. */
    lft_rmtree(dir);
    s = open_spool(dir, 100, SEG_HDR + 3 * FRAME_LEN, LF_SPOOL_DROP_OLDEST);
    append_range(s, 0, 7);
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 1);
    ck_assert_uint_eq(st.dropped_records, 6);
    ck_assert_uint_eq(read_all(s, seq, NULL, 40), 1);
    ck_assert_uint_eq(seq[0], 6);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* Reopens dir and checks it holds exactly records [0, n) and nothing was quarantined. */
static void check_reopen_exact(const char *dir, uint64_t n)
{
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct lf_spool_stats st;
    lf_spool_get_stats(s, &st);
    ck_assert_uint_eq(st.quarantined, 0);
    ck_assert_uint_eq(st.records, n);
    uint64_t *seq = malloc((n + 1) * sizeof(*seq));
    ck_assert_uint_eq(read_all(s, seq, NULL, n + 1), n);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_uint_eq(seq[i], i);
    }
    free(seq);
    lf_spool_close(s);
}

/* RLIMIT_FSIZE with SIGXFSZ ignored: a write crossing the limit is short, the next one
 * fails with EFBIG. Works on any file system and without privileges. */
START_TEST(write_error_fsize)
{
    char *dir = lft_mkdtemp("spool-fsize");
    struct lf_spool *s = open_spool(dir, 0, 0, LF_SPOOL_BLOCK);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = SEG_HDR + 20 * FRAME_LEN + FRAME_LEN / 2; /* frame 20 is torn */
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    /* No check assertion until the limit is restored (check writes files too). */
    int rc = LF_OK;
    uint64_t ok = 0;
    while (ok < 100) {
        struct rec_buf b;
        struct lf_spool_rec r;
        make_rec(ok, &b, &r);
        rc = lf_spool_append(s, &r);
        if (rc != LF_OK) {
            break;
        }
        ok++;
    }
    int rc2 = LF_OK;
    {
        struct rec_buf b;
        struct lf_spool_rec r;
        make_rec(ok, &b, &r);
        rc2 = lf_spool_append(s, &r); /* still failing, still no torn frame */
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_sig);
    ck_assert_int_eq(rc, LF_ENOSPC);
    ck_assert_int_eq(rc2, LF_ENOSPC);
    ck_assert_uint_eq(ok, 20);
    char path[256];
    seg_path(path, sizeof(path), dir, 0);
    ck_assert_uint_eq(file_size(path), SEG_HDR + 20 * FRAME_LEN);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    /* Space is back: appends work again. */
    append_range(s, 20, 5);
    lf_spool_close(s);
    check_reopen_exact(dir, 25);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* A full file system: a 256 KiB tmpfs filled by another file. Needs CAP_SYS_ADMIN. */
START_TEST(write_error_enospc_tmpfs)
{
    char *dir = lft_mkdtemp("spool-enospc");
    /* In a private mount namespace when possible, so that a failing test (the forked
     * child dies) leaves no tmpfs mounted behind. */
    if (unshare(CLONE_NEWNS) == 0) {
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    }
    if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
        printf("SKIP: write_error_enospc_tmpfs: cannot mount tmpfs (%s); the error path is "
               "covered by write_error_fsize\n",
               strerror(errno));
        fflush(stdout);
        lft_rmtree(dir);
        free(dir);
        return;
    }
    char sdir[300], filler[300];
    snprintf(sdir, sizeof(sdir), "%s/spool", dir);
    snprintf(filler, sizeof(filler), "%s/filler", dir);
    struct lf_spool *s = open_spool(sdir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 10);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    char block[512];
    memset(block, 'f', sizeof(block));
    while (write(fd, block, sizeof(block)) > 0) {
    }
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
    uint64_t ok = 10;
    int rc;
    for (;;) {
        struct rec_buf b;
        struct lf_spool_rec r;
        make_rec(ok, &b, &r);
        rc = lf_spool_append(s, &r);
        if (rc != LF_OK) {
            break;
        }
        ok++;
        ck_assert_uint_lt(ok, 100000);
    }
    ck_assert_int_eq(rc, LF_ENOSPC);
    char path[400];
    seg_path(path, sizeof(path), sdir, 0);
    ck_assert_uint_eq(file_size(path), SEG_HDR + ok * FRAME_LEN); /* no torn frame */
    lf_spool_close(s);
    check_reopen_exact(sdir, ok);
    ck_assert_int_eq(unlink(filler), 0);
    s = open_spool(sdir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, ok, 5);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    check_reopen_exact(sdir, ok + 5);
    ck_assert_int_eq(umount(dir), 0);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(inspect_report)
{
    char *dir = lft_mkdtemp("spool-inspect");
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/nope", dir);
    ck_assert_int_eq(lf_spool_inspect(missing, stdout, 0), LF_ENOTFOUND);
    struct lf_spool *s = open_spool(dir, 4, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 10);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 10);
    lf_spool_ack(s, pos[0]);
    lf_spool_ack(s, pos[1]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    char path[256];
    seg_path(path, sizeof(path), dir, 2);
    ck_assert_int_eq(truncate(path, SEG_HDR + FRAME_LEN + 3), 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_int_eq(lf_spool_inspect(dir, fp, 1700000000000 + 61000), LF_OK);
    fclose(fp);
    fputs(buf, stdout);
    ck_assert_ptr_nonnull(strstr(buf, "head: segment 0000000000000000 offset 710"));
    ck_assert_ptr_nonnull(strstr(buf, "total: 3 segments"));
    ck_assert_ptr_nonnull(strstr(buf, ", 9 frames, 7 unacknowledged"));
    ck_assert_ptr_nonnull(strstr(buf, "bad frame at 367"));
    ck_assert_ptr_nonnull(strstr(buf, "2023-11-14T22:13:20.002Z (age 60.998s)"));
    ck_assert_ptr_nonnull(strstr(buf, "quarantine: 0 files"));
    free(buf);
    ck_assert_uint_eq(file_size(path), SEG_HDR + FRAME_LEN + 3); /* read only */
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* Runs `logferry spool inspect ARGS...` in-process with stdout in a file; returns the exit
 * code and the output (malloc'd) in *out. */
static int run_cli(const char *dir, char **argv, int argc, char **out)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/cli.out", dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 1);
    close(fd);
    int code = lf_cli_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    size_t len;
    *out = lft_read_file(path, &len);
    ck_assert_ptr_nonnull(*out);
    return code;
}

START_TEST(cli_inspect)
{
    char *dir = lft_mkdtemp("spool-cli");
    char cfg[300], yaml[1024], sdir[300], bad[300];
    snprintf(cfg, sizeof(cfg), "%s/c.yaml", dir);
    snprintf(yaml, sizeof(yaml),
             "agent: {state_dir: %s}\n"
             "inputs: [{name: i, paths: ['%s/*.log']}]\n"
             "outputs: [{name: main, plugin: stdout}, {name: other, plugin: stdout}]\n",
             dir, dir);
    lft_write_file(cfg, yaml, false);
    snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
    lft_write_file(bad, "agent: {no_such_key: 1}\n", false);
    snprintf(sdir, sizeof(sdir), "%s/spool/main", dir);
    struct lf_spool *s = open_spool(sdir, 0, 0, LF_SPOOL_BLOCK);
    append_range(s, 0, 3);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);

    char *out;
    char *all[] = {"logferry", "spool", "inspect", "-c", cfg, NULL};
    ck_assert_int_eq(run_cli(dir, all, 5, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "total: 1 segments, 1053 bytes, 3 frames, 3 unacknowledged"));
    ck_assert_ptr_nonnull(strstr(out, "/spool/other: none"));
    free(out);
    char *one[] = {"logferry", "spool", "inspect", "-c", cfg, "other", NULL};
    ck_assert_int_eq(run_cli(dir, one, 6, &out), 0);
    ck_assert_ptr_null(strstr(out, "/spool/main"));
    free(out);
    char *unknown[] = {"logferry", "spool", "inspect", "-c", cfg, "nope", NULL};
    ck_assert_int_eq(run_cli(dir, unknown, 6, &out), 64);
    free(out);
    char *usage[] = {"logferry", "spool", "list", NULL};
    ck_assert_int_eq(run_cli(dir, usage, 3, &out), 64);
    free(out);
    char *badcfg[] = {"logferry", "spool", "inspect", "-c", bad, NULL};
    ck_assert_int_eq(run_cli(dir, badcfg, 5, &out), 78);
    free(out);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

static uint64_t acks_file_size(const char *dir)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/acks", dir);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Acks out of order (as Kafka gives them) survive a restart: only frames acknowledged after
 * the last sync are read again; none acknowledged before it. */
START_TEST(acks_survive_restart)
{
    char *dir = lft_mkdtemp("spool-ackfile");
    struct lf_spool *s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    enum { N = 2000, SYNCED = 1500, LATE = 40 };
    static int order[N];
    static uint64_t seq[N];
    static struct lf_spool_pos pos[N];
    static bool done[N];
    append_range(s, 0, N);
    ck_assert_uint_eq(read_all(s, seq, pos, N), N);
    permute(order, N, 777);
    for (int k = 0; k < SYNCED + LATE; k++) {
        lf_spool_ack(s, pos[order[k]]);
        if (k < SYNCED) {
            done[order[k]] = true;
        }
        if ((k + 1) % 100 == 0 && k < SYNCED) {
            ck_assert_int_eq(lf_spool_sync(s), LF_OK);
        }
    }
    lf_spool_close(s);
    char *report = NULL;
    size_t report_len = 0;
    FILE *fp = open_memstream(&report, &report_len);
    ck_assert_int_eq(lf_spool_inspect(dir, fp, 0), LF_OK);
    fclose(fp);
    ck_assert_msg(strstr(report, "2000 frames, 500 unacknowledged") != NULL, "%s", report);
    free(report);

    s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    size_t n = read_all(s, seq, pos, N);
    ck_assert_uint_eq(n, N - SYNCED);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(!done[seq[i]], "frame %" PRIu64 " was acknowledged before the sync", seq[i]);
        lf_spool_ack(s, pos[i]);
    }
    ck_assert(lf_spool_empty(s));
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    ck_assert_uint_eq(acks_file_size(dir), 0); /* nothing after the head: emptied */
    lf_spool_close(s);
    s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    ck_assert(lf_spool_empty(s));
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* A torn last entry costs that one frame (read again); a file with a bad magic costs all
 * of them; neither stops the spool. */
START_TEST(acks_torn_or_bad)
{
    char *dir = lft_mkdtemp("spool-acktorn");
    char path[300];
    snprintf(path, sizeof(path), "%s/acks", dir);
    struct lf_spool *s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    uint64_t seq[16];
    struct lf_spool_pos pos[16];
    append_range(s, 0, 10);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 10);
    lf_spool_ack(s, pos[3]);
    lf_spool_ack(s, pos[5]);
    lf_spool_ack(s, pos[7]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    ck_assert_uint_eq(acks_file_size(dir), 8 + 3 * 20);

    ck_assert_int_eq(truncate(path, 8 + 2 * 20 + 13), 0); /* the third entry torn */
    s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 8);
    ck_assert_uint_eq(seq[3], 4);
    ck_assert_uint_eq(seq[5], 7); /* read again */
    lf_spool_ack(s, pos[0]);      /* frame 0: the head moves to 1 */
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    lf_spool_close(s);
    ck_assert_uint_eq(acks_file_size(dir), 8 + 2 * 20); /* cut at open */

    s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 7);
    lf_spool_close(s);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "X", 1, 0), 1);
    close(fd);
    s = open_spool(dir, 100, 0, LF_SPOOL_BLOCK);
    ck_assert_uint_eq(read_all(s, seq, pos, 16), 9); /* only the head applies */
    ck_assert_uint_eq(seq[0], 1);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

/* With one live entry and ever more stale ones (the head keeps passing them), the file is
 * rewritten with only the live entry once stale ones pass the threshold. */
START_TEST(acks_compacted)
{
    char tmpl[] = "/dev/shm/lft-ackcompact-XXXXXX"; /* tmpfs: 17k fdatasyncs cost nothing */
    char *dir = strdup(mkdtemp(tmpl) ? tmpl : lft_mkdtemp("ackcompact"));
    enum { N = 36000 };
    struct lf_spool *s = open_spool(dir, 1000, 0, LF_SPOOL_BLOCK);
    static uint64_t seq[N];
    static struct lf_spool_pos pos[N];
    append_range(s, 0, N);
    ck_assert_uint_eq(read_all(s, seq, pos, N), N);
    lf_spool_ack(s, pos[1]);
    ck_assert_int_eq(lf_spool_sync(s), LF_OK);
    uint64_t largest = 0;
    for (int i = 0; i + 3 < N; i += 2) { /* head at i, live entry i + 1 */
        lf_spool_ack(s, pos[i]);
        lf_spool_ack(s, pos[i + 3]);
        ck_assert_int_eq(lf_spool_sync(s), LF_OK);
        uint64_t sz = acks_file_size(dir);
        largest = sz > largest ? sz : largest;
    }
    ck_assert_uint_ge(largest, 8 + 16384 * 20);
    ck_assert_uint_lt(acks_file_size(dir), 8 + 2000 * 20); /* rewritten near i = 32768 */
    lf_spool_close(s);
    s = open_spool(dir, 1000, 0, LF_SPOOL_BLOCK);
    size_t n = read_all(s, seq, pos, N);
    ck_assert_uint_eq(n, 1); /* the head; N - 1 after it is acknowledged */
    ck_assert_uint_eq(seq[0], N - 2);
    lf_spool_close(s);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *su = suite_create("spool");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"crc32c", crc32c_vectors},
        {"round_trip", round_trip},
        {"crc_corruption", crc_corruption_quarantined},
        {"torn_tail", torn_tail_quarantined},
        {"quarantine_unavailable", quarantine_unavailable},
        {"corrupt_while_reading", corruption_found_while_reading},
        {"corrupt_writer", corruption_in_writer},
        {"random_damage", random_damage},
        {"acks", out_of_order_acks_delete_segments},
        {"head", head_persistence},
        {"head_torn_slot", head_torn_slot},
        {"acks_restart", acks_survive_restart},
        {"acks_torn", acks_torn_or_bad},
        {"acks_compacted", acks_compacted},
        {"wrap", segment_ids_wrap},
        {"group_commit", group_commit},
        {"block", block_when_full},
        {"drop_oldest", drop_oldest_counts},
        {"enospc_fsize", write_error_fsize},
        {"enospc_tmpfs", write_error_enospc_tmpfs},
        {"inspect", inspect_report},
        {"cli_inspect", cli_inspect},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].test);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(su, tc);
    }
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(spool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
