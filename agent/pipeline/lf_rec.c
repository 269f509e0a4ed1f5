/* lf_rec.c - releasing log-file records to the router's slab (see lf_rec.h). */
#include "lf_rec.h"

#include "lf_slab.h"

void lf_rec_release(void *budget, struct lf_rec *r)
{
    (void)budget; /* the slab's chunk knows its counter */
    lf_slab_free(r);
}
