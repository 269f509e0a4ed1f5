/* lf_tracker.c - per-file acknowledged prefixes behind opaque keys (see lf_tracker.h).
 *
 * Files live in a slot table; a key is (generation << 32 | slot + 1), so a key of a
 * closed file never reaches the slot's next tenant. Files touched by lf_tracker_finish
 * or lf_tracker_skip are chained through their slots (no allocation) for the next
 * lf_tracker_advance.
 */
#include "lf_tracker.h"

#include <stdlib.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"

#define NO_SLOT UINT32_MAX

struct track_slot {
    struct lf_track_file fifo;
    uint64_t dev, ino;
    uint64_t hold; /* the committed offset never passes it (lf_tracker_hold) */
    uint32_t gen;  /* bumped at close */
    bool live;
    bool moved;    /* committed moved since lf_tracker_take_moved */
    bool touched;  /* on the touched chain */
    uint32_t next; /* touched chain, or free list */
};

struct lf_tracker {
    struct track_slot *slots;
    size_t nslots, cap;
    uint32_t free_head;
    uint32_t touched_head;
    size_t live_files;
    bool any_moved; /* some file's mark was set since lf_tracker_take_any_moved */
    lf_track_release_fn *release;
    void *release_ctx;
};

static void free_record(void *ctx, struct lf_rec *rec)
{
    (void)ctx;
    free(rec);
}

int lf_tracker_create(lf_track_release_fn *release, void *release_ctx, struct lf_tracker **out)
{
    struct lf_tracker *tr = calloc(1, sizeof(*tr));
    if (!tr) {
        return LF_ENOMEM;
    }
    tr->free_head = NO_SLOT;
    tr->touched_head = NO_SLOT;
    tr->release = release ? release : free_record;
    tr->release_ctx = release_ctx;
    *out = tr;
    return LF_OK;
}

void lf_tracker_destroy(struct lf_tracker *tr)
{
    if (!tr) {
        return;
    }
    for (size_t i = 0; i < tr->nslots; i++) {
        if (tr->slots[i].live) {
            lf_track_drop_all(&tr->slots[i].fifo, tr->release, tr->release_ctx);
        }
    }
    free(tr->slots);
    free(tr);
}

static struct track_slot *slot_of(const struct lf_tracker *tr, uint64_t key)
{
    uint32_t idx = (uint32_t)key;
    if (idx == 0 || idx > tr->nslots) {
        return NULL;
    }
    struct track_slot *s = &tr->slots[idx - 1];
    return s->live && s->gen == (uint32_t)(key >> 32) ? s : NULL;
}

static int slot_take(struct lf_tracker *tr, uint32_t *idx)
{
    if (tr->free_head != NO_SLOT) {
        *idx = tr->free_head;
        tr->free_head = tr->slots[*idx].next;
        return LF_OK;
    }
    if (tr->nslots >= NO_SLOT - 1 || lf_vec_reserve(&tr->slots, &tr->cap, tr->nslots + 1)) {
        return LF_ENOMEM;
    }
    *idx = (uint32_t)tr->nslots++;
    tr->slots[*idx] = (struct track_slot){0};
    return LF_OK;
}

int lf_tracker_file_open(struct lf_tracker *tr, uint64_t dev, uint64_t ino, uint64_t committed,
                         uint64_t *key)
{
    uint32_t idx;
    if (slot_take(tr, &idx) != LF_OK) {
        return LF_ENOMEM;
    }
    struct track_slot *s = &tr->slots[idx];
    lf_track_init(&s->fifo, committed);
    s->moved = true; /* never remembered yet */
    tr->any_moved = true;
    s->hold = UINT64_MAX;
    s->dev = dev;
    s->ino = ino;
    s->live = true;
    s->touched = false;
    s->next = NO_SLOT;
    tr->live_files++;
    *key = (uint64_t)s->gen << 32 | (idx + 1);
    return LF_OK;
}

/* Takes s off the touched chain (closing a file is rare: a walk is fine). */
static void untouch(struct lf_tracker *tr, struct track_slot *s)
{
    uint32_t idx = (uint32_t)(s - tr->slots);
    for (uint32_t *p = &tr->touched_head; *p != NO_SLOT; p = &tr->slots[*p].next) {
        if (*p == idx) {
            *p = s->next;
            break;
        }
    }
    s->touched = false;
}

void lf_tracker_file_close(struct lf_tracker *tr, uint64_t key)
{
    struct track_slot *s = slot_of(tr, key);
    if (!s) {
        return;
    }
    if (s->touched) {
        untouch(tr, s);
    }
    lf_track_drop_all(&s->fifo, tr->release, tr->release_ctx);
    s->live = false;
    s->gen++;
    s->next = tr->free_head;
    tr->free_head = (uint32_t)(s - tr->slots);
    tr->live_files--;
}

static void touch(struct lf_tracker *tr, struct track_slot *s)
{
    if (!s->touched) {
        s->touched = true;
        s->next = tr->touched_head;
        tr->touched_head = (uint32_t)(s - tr->slots);
    }
}

static void mark_moved(struct lf_tracker *tr, struct track_slot *s, bool moved)
{
    s->moved = s->moved || moved;
    tr->any_moved = tr->any_moved || moved;
}

void lf_tracker_push(struct lf_tracker *tr, uint64_t key, struct lf_rec *rec)
{
    struct track_slot *s = slot_of(tr, key);
    rec->file_key = key;
    lf_track_push(&s->fifo, rec);
}

int lf_tracker_skip(struct lf_tracker *tr, uint64_t key, uint64_t end)
{
    struct track_slot *s = slot_of(tr, key);
    if (!s) {
        return LF_EINVAL;
    }
    uint64_t before = s->fifo.committed;
    int rc = lf_track_skip(&s->fifo, end);
    mark_moved(tr, s, s->fifo.committed != before);
    return rc;
}

void lf_tracker_finish(struct lf_tracker *tr, struct lf_rec *rec, unsigned output)
{
    rec->done_mask |= 1u << output;
    struct track_slot *s = slot_of(tr, rec->file_key);
    if (s && s->fifo.head == rec) {
        touch(tr, s); /* only a finished head can move the committed offset */
    }
}

size_t lf_tracker_advance(struct lf_tracker *tr)
{
    size_t n = 0;
    while (tr->touched_head != NO_SLOT) {
        struct track_slot *s = &tr->slots[tr->touched_head];
        tr->touched_head = s->next;
        s->touched = false;
        s->next = NO_SLOT;
        uint64_t before = s->fifo.committed;
        n += lf_track_advance(&s->fifo, tr->release, tr->release_ctx);
        mark_moved(tr, s, s->fifo.committed != before);
    }
    return n;
}

bool lf_tracker_take_moved(struct lf_tracker *tr, uint64_t key)
{
    struct track_slot *s = slot_of(tr, key);
    bool moved = s && s->moved;
    if (s) {
        s->moved = false;
    }
    return moved;
}

bool lf_tracker_any_moved(const struct lf_tracker *tr)
{
    return tr->any_moved;
}

void lf_tracker_clear_any_moved(struct lf_tracker *tr)
{
    tr->any_moved = false;
}

uint64_t lf_tracker_committed(const struct lf_tracker *tr, uint64_t key)
{
    const struct track_slot *s = slot_of(tr, key);
    if (!s) {
        return 0;
    }
    return s->fifo.committed < s->hold ? s->fifo.committed : s->hold;
}

void lf_tracker_hold(struct lf_tracker *tr, uint64_t key, uint64_t offset)
{
    struct track_slot *s = slot_of(tr, key);
    if (s && offset < s->hold) {
        s->hold = offset;
        mark_moved(tr, s, true);
    }
}

int64_t lf_tracker_oldest_read_ms(const struct lf_tracker *tr, uint64_t key)
{
    const struct track_slot *s = slot_of(tr, key);
    return s && s->fifo.head ? s->fifo.head->read_mono_ms : 0;
}

size_t lf_tracker_pending(const struct lf_tracker *tr, uint64_t key)
{
    const struct track_slot *s = slot_of(tr, key);
    return s ? s->fifo.pending : 0;
}

bool lf_tracker_any_pending(const struct lf_tracker *tr)
{
    for (size_t i = 0; i < tr->nslots; i++) {
        if (tr->slots[i].live && tr->slots[i].fifo.pending) {
            return true;
        }
    }
    return false;
}

bool lf_tracker_ident(const struct lf_tracker *tr, uint64_t key, uint64_t *dev, uint64_t *ino)
{
    const struct track_slot *s = slot_of(tr, key);
    if (!s) {
        return false;
    }
    *dev = s->dev;
    *ino = s->ino;
    return true;
}
