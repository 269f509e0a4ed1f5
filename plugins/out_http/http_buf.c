/* http_buf.c - the growable byte buffer of the HTTP output (request and answer bodies).
 *
 * Errors stick: after a failed allocation the buffer is marked oom and further appends do
 * nothing, so a body is built without a check per append and checked once (http.h).
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"

void http_buf_append(struct http_buf *b, const void *data, size_t n)
{
    if (b->oom || n == 0) {
        return; /* n == 0: b->p may still be NULL, and memcpy(NULL, ..., 0) is undefined */
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void http_buf_reset(struct http_buf *b)
{
    b->len = 0;
    b->oom = false;
}

void http_buf_fini(struct http_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
