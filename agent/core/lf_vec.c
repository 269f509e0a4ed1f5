/* lf_vec.c - the growable-array reserve helper (see lf_vec.h). */
#include "lf_vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"

#define LF_VEC_MIN_CAP 8

int lf_vec_reserve_bytes(void *vp, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) {
        return LF_OK;
    }
    size_t ncap = *cap > LF_VEC_MIN_CAP / 2 ? *cap : LF_VEC_MIN_CAP / 2;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            return LF_ENOMEM;
        }
        ncap *= 2;
    }
    if (elem_size && ncap > SIZE_MAX / elem_size) {
        return LF_ENOMEM;
    }
    void *old;
    memcpy(&old, vp, sizeof(old)); /* vp is a T **: copy the pointer, no type pun */
    void *nv = realloc(old, ncap * elem_size);
    if (!nv) {
        return LF_ENOMEM;
    }
    memcpy(vp, &nv, sizeof(nv));
    *cap = ncap;
    return LF_OK;
}
