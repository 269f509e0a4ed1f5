/* lf_rec.c - releasing log-file records against the memory budget (see lf_rec.h). */
#include "lf_rec.h"

#include <stdlib.h>

void lf_rec_release(void *budget, struct lf_rec *r)
{
    struct lf_rec_budget *b = budget;
    b->live_bytes -= r->mem;
    free(r);
}
