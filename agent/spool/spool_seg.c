/* spool_seg.c - segment files and their in-memory index: names, listing in age order
 * (modulo 2^64), the per-frame offset and acknowledgement arrays, and the recovery scan.
 *
 * Nothing here writes to a file; recovery decisions (truncate, quarantine) are made by
 * the caller from what spool_seg_scan reports.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"
#include "spool_int.h"

void spool_seg_name(char *buf, uint64_t id)
{
    snprintf(buf, SPOOL_NAME_MAX, "seg-%016" PRIx64 ".lfs", id);
}

bool spool_seg_parse_name(const char *name, uint64_t *id)
{
    if (strlen(name) != 24 || strncmp(name, "seg-", 4) != 0 || strcmp(name + 20, ".lfs") != 0) {
        return false;
    }
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else {
            return false;
        }
        v = v << 4 | d;
    }
    *id = v;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted ids form a circle; the oldest follows the largest gap (ids are consecutive
 * modulo 2^64 except where segments were deleted). */
static void rotate_oldest_first(uint64_t *ids, size_t n)
{
    if (n < 2) {
        return;
    }
    size_t best = n - 1;
    uint64_t best_gap = ids[0] - ids[n - 1]; /* wraps: the gap across 2^64 */
    for (size_t i = 0; i + 1 < n; i++) {
        if (ids[i + 1] - ids[i] > best_gap) {
            best_gap = ids[i + 1] - ids[i];
            best = i;
        }
    }
    size_t first = (best + 1) % n;
    uint64_t *tmp = malloc(n * sizeof(*tmp));
    if (!tmp) {
        return; /* numeric order: only wrong across the wrap, and only in memory shortage */
    }
    for (size_t i = 0; i < n; i++) {
        tmp[i] = ids[(first + i) % n];
    }
    memcpy(ids, tmp, n * sizeof(*tmp));
    free(tmp);
}

static int push_id(uint64_t **ids, size_t *n, size_t *cap, uint64_t id)
{
    if (lf_vec_reserve(ids, cap, *n + 1) != LF_OK) {
        return LF_ENOMEM;
    }
    (*ids)[(*n)++] = id;
    return LF_OK;
}

int spool_list_ids(int dirfd, uint64_t **ids, size_t *n)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t cap = 0;
    int rc = LF_OK;
    *ids = NULL;
    *n = 0;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return LF_EIO;
    }
    struct dirent *e;
    while (rc == LF_OK && (e = readdir(d)) != NULL) {
        uint64_t id;
        if (spool_seg_parse_name(e->d_name, &id)) {
            rc = push_id(ids, n, &cap, id);
        }
    }
    closedir(d);
    if (rc != LF_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return rc;
    }
    if (*n) {
        qsort(*ids, *n, sizeof(**ids), cmp_u64);
    }
    rotate_oldest_first(*ids, *n);
    return LF_OK;
}

struct spool_seg *spool_seg_new(uint64_t id)
{
    struct spool_seg *seg = calloc(1, sizeof(*seg));
    if (seg) {
        seg->id = id;
        seg->fd = -1;
        seg->size = SPOOL_SEG_HDR;
    }
    return seg;
}

void spool_seg_free(struct spool_seg *seg)
{
    if (!seg) {
        return;
    }
    if (seg->fd >= 0) {
        close(seg->fd);
    }
    free(seg->off);
    free(seg->acked);
    free(seg);
}

/* Bits past nframes are always clear (forget_tail clears what it drops), so only the
 * words the bitmap gains need zeroing. */
int spool_seg_reserve(struct spool_seg *seg)
{
    size_t need = (size_t)seg->nframes + 1;
    if (lf_vec_reserve(&seg->off, &seg->off_cap, need) != LF_OK) {
        return LF_ENOMEM;
    }
    size_t old_words = seg->acked_words;
    if (lf_vec_reserve(&seg->acked, &seg->acked_words, (need + 63) / 64) != LF_OK) {
        return LF_ENOMEM;
    }
    memset(seg->acked + old_words, 0, (seg->acked_words - old_words) * sizeof(*seg->acked));
    return LF_OK;
}

int spool_seg_push_frame(struct spool_seg *seg, uint64_t off)
{
    int rc = spool_seg_reserve(seg);
    if (rc == LF_OK) {
        seg->off[seg->nframes++] = (uint32_t)off;
    }
    return rc;
}

bool spool_seg_is_acked(const struct spool_seg *seg, uint32_t idx)
{
    return seg->acked[idx / 64] >> (idx % 64) & 1;
}

void spool_seg_set_acked(struct spool_seg *seg, uint32_t idx)
{
    seg->acked[idx / 64] |= (uint64_t)1 << (idx % 64);
    seg->nacked++;
    while (seg->first_unacked < seg->nframes && spool_seg_is_acked(seg, seg->first_unacked)) {
        seg->first_unacked++;
    }
}

long spool_seg_find(const struct spool_seg *seg, uint64_t off)
{
    uint32_t lo = 0, hi = seg->nframes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seg->off[mid] < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < seg->nframes && seg->off[lo] == off ? (long)lo : -1;
}

uint32_t spool_seg_frame_len(const struct spool_seg *seg, uint32_t idx)
{
    uint64_t end = idx + 1 < seg->nframes ? seg->off[idx + 1] : seg->size;
    return (uint32_t)(end - seg->off[idx]);
}

static bool header_ok(const unsigned char *h, uint64_t id)
{
    return memcmp(h, SPOOL_MAGIC, 8) == 0 && spool_get32(h + 8) == SPOOL_VERSION &&
           spool_get64(h + 16) == id;
}

int spool_seg_scan(int fd, uint64_t file_size, struct spool_seg *seg, struct spool_win *w,
                   enum spool_scan_status *st, uint64_t *bad_off)
{
    const unsigned char *h;
    spool_win_init(w, fd);
    *st = SPOOL_SCAN_OK;
    *bad_off = file_size;
    if (file_size < SPOOL_SEG_HDR) {
        *st = SPOOL_SCAN_SHORT;
        return LF_OK;
    }
    int rc = spool_win_get(w, 0, SPOOL_SEG_HDR, file_size, &h);
    if (rc != LF_OK) {
        return rc == LF_ECORRUPT ? LF_EIO : rc; /* shrank under us */
    }
    if (!header_ok(h, seg->id)) {
        *st = SPOOL_SCAN_BAD_HEADER;
        return LF_OK;
    }
    uint64_t off = SPOOL_SEG_HDR;
    while (off < file_size) {
        uint32_t flen;
        rc = off > UINT32_MAX ? LF_ECORRUPT : spool_frame_check(w, off, file_size, &flen);
        if (rc == LF_ECORRUPT) {
            *st = SPOOL_SCAN_BAD_FRAME;
            *bad_off = off;
            break;
        }
        if (rc == LF_OK) {
            rc = spool_seg_push_frame(seg, off);
        }
        if (rc != LF_OK) {
            return rc;
        }
        off += flen;
    }
    seg->size = off;
    return LF_OK;
}
