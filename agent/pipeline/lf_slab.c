/* lf_slab.c - chunks of objects freed with their last object (see lf_slab.h). */
#include "lf_slab.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ALIGN alignof(max_align_t)

struct lf_slab_chunk {
    size_t *held; /* the owner's counter; charged size while live > 0 */
    size_t size;  /* bytes of this chunk, header included */
    size_t used;  /* bytes of data[] handed out */
    size_t live;  /* objects not freed yet */
    bool open;    /* still its slab's current chunk (may start over when empty) */
    alignas(max_align_t) unsigned char data[];
};

/* Each object is preceded by the address of its chunk, padded to ALIGN. */
struct slab_obj {
    struct lf_slab_chunk *chunk;
    alignas(max_align_t) unsigned char data[];
};

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(ALIGN - 1);
}

static struct lf_slab_chunk *chunk_new(size_t *held, size_t size, bool open)
{
    struct lf_slab_chunk *c = malloc(size);
    if (c) {
        *c = (struct lf_slab_chunk){.held = held, .size = size, .open = open};
    }
    return c;
}

/* The chunk's last object is gone: it no longer pins memory. */
static void chunk_idle(struct lf_slab_chunk *c)
{
    *c->held -= c->size;
    if (c->open) {
        c->used = 0; /* still being filled: start over */
    } else {
        free(c);
    }
}

static void *carve(struct lf_slab_chunk *c, size_t need)
{
    struct slab_obj *o = (struct slab_obj *)(c->data + c->used);
    c->used += need;
    if (c->live++ == 0) {
        *c->held += c->size;
    }
    o->chunk = c;
    return o->data;
}

void lf_slab_init(struct lf_slab *s, size_t chunk_size, size_t *held)
{
    *s = (struct lf_slab){.chunk_size = chunk_size < 1024 ? 1024 : chunk_size, .held = held};
}

void lf_slab_fini(struct lf_slab *s)
{
    struct lf_slab_chunk *c = s->cur;
    s->cur = NULL;
    if (c) {
        c->open = false;
        if (c->live == 0) {
            free(c);
        }
    }
}

/* The current chunk is full: close it (it goes with its last object) and open a new one. */
static struct lf_slab_chunk *next_chunk(struct lf_slab *s)
{
    struct lf_slab_chunk *c = chunk_new(s->held, s->chunk_size, true);
    if (!c) {
        return NULL;
    }
    lf_slab_fini(s);
    s->cur = c;
    return c;
}

void *lf_slab_alloc(struct lf_slab *s, size_t size)
{
    size_t room = s->chunk_size - sizeof(struct lf_slab_chunk);
    if (size > SIZE_MAX / 2) {
        return NULL;
    }
    size_t need = round_up(sizeof(struct slab_obj) + size);
    if (need > room / 4) {
        struct lf_slab_chunk *own = chunk_new(s->held, sizeof(struct lf_slab_chunk) + need, false);
        return own ? carve(own, need) : NULL;
    }
    struct lf_slab_chunk *c = s->cur;
    if (!c || room - c->used < need) {
        c = next_chunk(s);
    }
    return c ? carve(c, need) : NULL;
}

void lf_slab_free(void *p)
{
    if (!p) {
        return;
    }
    struct slab_obj *o = (struct slab_obj *)((unsigned char *)p - offsetof(struct slab_obj, data));
    struct lf_slab_chunk *c = o->chunk;
    if (--c->live == 0) {
        chunk_idle(c);
    }
}
