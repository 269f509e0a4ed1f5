/* lf_slab.h - a bump allocator for many small objects freed in about the order they were made.
 *
 * Objects are carved one after another out of chunks (one malloc each, chunk_size bytes),
 * instead of one malloc and free per object: for the router's records that is one malloc
 * per about 80 nginx records, no per-record allocator header, and record memory that does
 * not interleave with everything else the main thread allocates. A chunk is freed when
 * its last object is freed and the slab has moved on to a newer chunk; the chunk being
 * filled starts over from its beginning when all its objects are gone (an agent at a low
 * rate reuses one chunk). An object larger than a quarter of a chunk gets a chunk of its
 * own.
 *
 * Accounting: a chunk's whole size is added to the caller's counter (*held) while it holds
 * a live object, and taken off when its last one is freed. So *held is the memory the
 * objects really pin: one object kept alive (a record of a file whose output is down)
 * counts its whole chunk, and a limit on *held bounds the chunks, whatever the order in
 * which objects are freed.
 *
 * Ownership: the slab belongs to its owner (the router); each object is owned by whoever
 * the caller hands it to and is given back with lf_slab_free(), which needs no slab: an
 * object may outlive its slab (lf_slab_fini lets go of the current chunk, whose memory
 * goes with its last object). `held` must outlive every object. Not thread-safe: objects
 * are made and freed by one thread (the main thread for records).
 */
#ifndef LF_SLAB_H
#define LF_SLAB_H

#include <stddef.h>

struct lf_slab_chunk;

struct lf_slab {
    struct lf_slab_chunk *cur; /* the chunk being filled; NULL before the first object */
    size_t chunk_size;         /* bytes of a chunk, its header included */
    size_t *held;              /* the owner's counter of pinned chunk bytes */
};

/* The default chunk: 64 KiB, about 80 nginx records of the benchmark. */
#define LF_SLAB_CHUNK (64 * 1024)

/* An empty slab (no memory until the first object). chunk_size: at least 1 KiB. held is
 * borrowed. */
void lf_slab_init(struct lf_slab *s, size_t chunk_size, size_t *held);
/* Lets go of the current chunk: freed now if it holds no object, else with its last one. */
void lf_slab_fini(struct lf_slab *s);

/* Room for `size` bytes aligned for any type, or NULL when out of memory. Owned by the
 * caller until lf_slab_free. */
void *lf_slab_alloc(struct lf_slab *s, size_t size);
/* Gives back an object of lf_slab_alloc (NULL: nothing). */
void lf_slab_free(void *p);

#endif
