/* lf_vec.h - growable arrays: one reserve helper instead of a realloc block at every array.
 *
 * An array is a pointer, a count the caller keeps and a capacity this helper keeps. Usage:
 *     if (lf_vec_reserve(&v, &cap, n + 1) != LF_OK) { return LF_ENOMEM; }
 *     v[n++] = x;
 * On failure nothing changes (the old array and capacity stay valid), so a caller can
 * always undo or report: the error cannot be mistaken for success.
 */
#ifndef LF_VEC_H
#define LF_VEC_H

#include <stddef.h>

#include "logferry/lf_err.h"

/* Makes *(T **)vp hold at least `need` elements of elem_size bytes, growing the capacity
 * *cap geometrically (at least 8). Returns LF_OK, or LF_ENOMEM (also on size overflow)
 * with *vp and *cap unchanged. vp points to the caller's array pointer. */
int lf_vec_reserve_bytes(void *vp, size_t *cap, size_t need, size_t elem_size);

/* The usual case, room already there, answered inline (reserves sit on hot paths, once
 * per record); otherwise lf_vec_reserve_bytes. */
static inline int lf_vec_reserve_sized(void *vp, size_t *cap, size_t need, size_t elem_size)
{
    return need <= *cap ? LF_OK : lf_vec_reserve_bytes(vp, cap, need, elem_size);
}

/* The typed form: vpp is a T ** (the address of the array pointer). */
#define lf_vec_reserve(vpp, capp, need) lf_vec_reserve_sized((vpp), (capp), (need), sizeof(**(vpp)))

#endif
