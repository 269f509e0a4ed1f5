/* spool_inspect.c - `logferry spool inspect`: a read-only report on one spool directory.
 *
 * Scans every segment like recovery does, but only reports what recovery would do with
 * bad parts; nothing is written, so it is safe while the agent runs (it then shows a
 * snapshot that may be a few frames behind). Frames the head or the acks file mark
 * acknowledged are not counted as unacknowledged.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logferry/lf_err.h"
#include "spool_int.h"

struct inspect {
    FILE *fp;
    int dirfd;
    bool has_head;
    struct lf_spool_pos head;
    uint64_t base; /* oldest segment id */
    uint64_t segments, bytes, frames, unacked;
    bool has_oldest;
    int64_t oldest_ms;
    struct spool_win w;
    struct lf_spool_pos *acks; /* the acks file's entries, sorted */
    size_t nacks;
};

static int cmp_pos(const void *a, const void *b)
{
    const struct lf_spool_pos *x = a, *y = b;
    if (x->seg != y->seg) {
        return x->seg < y->seg ? -1 : 1;
    }
    return x->off < y->off ? -1 : x->off > y->off;
}

static bool in_acks(const struct inspect *in, uint64_t seg, uint64_t off)
{
    struct lf_spool_pos key = {.seg = seg, .off = off};
    return in->nacks && bsearch(&key, in->acks, in->nacks, sizeof(key), cmp_pos) != NULL;
}

/* Loads the acks file (spool_acks.c) and prints what it holds. */
static void load_acks(struct inspect *in)
{
    uint64_t good = 0, size = 0;
    int fd = openat(in->dirfd, SPOOL_ACKS_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(in->fp, "  acks: none\n");
        return;
    }
    int rc = spool_acks_read(fd, &in->acks, &in->nacks, &good, &size);
    close(fd);
    if (rc != LF_OK) {
        fprintf(in->fp, "  acks: unreadable (%s; a restart reads every frame after the head)\n",
                lf_strerror(rc));
        return;
    }
    qsort(in->acks, in->nacks, sizeof(*in->acks), cmp_pos);
    fprintf(in->fp, "  acks: %zu out-of-order acknowledgement%s%s\n", in->nacks,
            in->nacks == 1 ? "" : "s", good < size ? " (torn end, cut at next open)" : "");
}

/* Number of frames of seg the persisted head marks as acknowledged. */
static uint32_t acked_by_head(const struct inspect *in, const struct spool_seg *seg)
{
    uint64_t rel_head = in->head.seg - in->base;
    if (!in->has_head || rel_head >= (uint64_t)1 << 63) {
        return 0;
    }
    if (seg->id - in->base < rel_head) {
        return seg->nframes;
    }
    uint32_t n = 0;
    while (seg->id == in->head.seg && n < seg->nframes && seg->off[n] < in->head.off) {
        n++;
    }
    return n;
}

static const char *scan_note(char *buf, size_t cap, enum spool_scan_status st, uint64_t bad,
                             uint64_t file_size)
{
    switch (st) {
    case SPOOL_SCAN_SHORT:
        return "shorter than a header (removed at next open)";
    case SPOOL_SCAN_BAD_HEADER:
        return "bad header (quarantined at next open)";
    case SPOOL_SCAN_BAD_FRAME:
        snprintf(buf, cap, "bad frame at %" PRIu64 " (%" PRIu64 " bytes quarantined at next open)",
                 bad, file_size - bad);
        return buf;
    case SPOOL_SCAN_OK:
        break;
    }
    return "";
}

static void note_oldest(struct inspect *in, const struct spool_seg *seg, uint32_t first)
{
    const unsigned char *p;
    if (in->has_oldest || first >= seg->nframes) {
        return;
    }
    if (spool_win_get(&in->w, seg->off[first] + SPOOL_FRAME_HDR, SPOOL_REC_FIXED, seg->size, &p) ==
        LF_OK) {
        in->oldest_ms = spool_body_timestamp(p);
        in->has_oldest = true;
    }
}

static int inspect_seg(struct inspect *in, uint64_t id)
{
    char name[SPOOL_NAME_MAX], note[96];
    struct stat sb;
    enum spool_scan_status st = SPOOL_SCAN_OK;
    uint64_t bad = 0;
    spool_seg_name(name, id);
    int fd = openat(in->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        return LF_OK; /* deleted by the running agent since the listing */
    }
    if (fd < 0 || fstat(fd, &sb) != 0) {
        fprintf(in->fp, "  %016" PRIx64 "  cannot read: %s\n", id, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return LF_EIO;
    }
    struct spool_seg *seg = spool_seg_new(id);
    int rc = seg ? spool_seg_scan(fd, (uint64_t)sb.st_size, seg, &in->w, &st, &bad) : LF_ENOMEM;
    if (rc == LF_OK) {
        uint32_t first = acked_by_head(in, seg), acked = first;
        for (uint32_t j = first; j < seg->nframes; j++) {
            acked += in_acks(in, id, seg->off[j]);
        }
        while (first < seg->nframes && in_acks(in, id, seg->off[first])) {
            first++;
        }
        note_oldest(in, seg, first);
        const char *text = scan_note(note, sizeof(note), st, bad, (uint64_t)sb.st_size);
        fprintf(in->fp, "  %016" PRIx64 " %12" PRIu64 " %8" PRIu32 " %8" PRIu32 "%s%s\n", id,
                (uint64_t)sb.st_size, seg->nframes, seg->nframes - acked, *text ? "  " : "", text);
        in->segments++;
        in->bytes += (uint64_t)sb.st_size;
        in->frames += seg->nframes;
        in->unacked += seg->nframes - acked;
    }
    spool_seg_free(seg);
    close(fd);
    return rc;
}

static void print_head(struct inspect *in)
{
    int rc = spool_head_load(in->dirfd, &in->head, NULL);
    in->has_head = rc == LF_OK;
    if (in->has_head) {
        fprintf(in->fp, "  head: segment %016" PRIx64 " offset %" PRIu64 "\n", in->head.seg,
                in->head.off);
    } else {
        fprintf(in->fp, "  head: %s (a restart reads from the oldest frame)\n",
                rc == LF_ENOTFOUND ? "none" : "unreadable");
    }
}

static void print_oldest(const struct inspect *in, int64_t now_ms)
{
    if (!in->has_oldest) {
        fprintf(in->fp, "  oldest unacknowledged record: none\n");
        return;
    }
    char when[32] = "?";
    time_t t = (time_t)(in->oldest_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm)) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    }
    /* a corrupt or far-off timestamp must not overflow: such an age shows as 0 */
    int64_t age = in->oldest_ms >= 0 && in->oldest_ms <= now_ms ? now_ms - in->oldest_ms : 0;
    fprintf(in->fp, "  oldest unacknowledged record: %s.%03dZ (age %" PRId64 ".%03ds)\n", when,
            (int)(in->oldest_ms % 1000 + 1000) % 1000, age / 1000,
            (int)((age % 1000 + 1000) % 1000));
}

int lf_spool_inspect(const char *dir, FILE *fp, int64_t now_ms)
{
    struct inspect in = {.fp = fp};
    uint64_t *ids;
    size_t n;
    in.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (in.dirfd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    int rc = spool_list_ids(in.dirfd, &ids, &n);
    if (rc != LF_OK) {
        close(in.dirfd);
        return rc;
    }
    fprintf(fp, "spool %s\n", dir);
    print_head(&in);
    load_acks(&in);
    in.base = n ? ids[0] : 0;
    fprintf(fp, "  %-16s %12s %8s %8s  %s\n", "segment", "bytes", "frames", "unacked", "note");
    for (size_t i = 0; i < n; i++) {
        int r = inspect_seg(&in, ids[i]);
        rc = rc == LF_OK ? r : rc;
    }
    fprintf(fp,
            "  total: %" PRIu64 " segments, %" PRIu64 " bytes, %" PRIu64 " frames, %" PRIu64
            " unacknowledged\n",
            in.segments, in.bytes, in.frames, in.unacked);
    print_oldest(&in, now_ms);
    uint64_t q = spool_quarantine_count(in.dirfd, NULL);
    fprintf(fp, "  quarantine: %" PRIu64 " file%s\n", q, q == 1 ? "" : "s");
    spool_quarantine_count(in.dirfd, fp);
    spool_win_fini(&in.w);
    free(in.acks);
    free(ids);
    close(in.dirfd);
    return rc;
}
