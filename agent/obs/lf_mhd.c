/* lf_mhd.c - loading libmicrohttpd on demand (see lf_mhd.h). */
#include "lf_mhd.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "logferry/lf_err.h"

static const char *const library_names[] = {LF_MHD_LIBRARY, "libmicrohttpd.so"};

/* One symbol into *slot (a function pointer's storage). False if missing. */
static bool load_symbol(void *dl, const char *name, void *slot)
{
    void *sym = dlsym(dl, name);
    memcpy(slot, &sym, sizeof(sym)); /* object pointer to function pointer, as POSIX allows */
    return sym != NULL;
}

int lf_mhd_load(struct lf_mhd *m, char *err, size_t errlen)
{
    void *dl = NULL;
    for (size_t i = 0; !dl && i < sizeof(library_names) / sizeof(library_names[0]); i++) {
        dl = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!dl) {
        snprintf(err, errlen, "cannot load %s (%s): install libmicrohttpd12", LF_MHD_LIBRARY,
                 dlerror());
        return LF_ENOTFOUND;
    }
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"MHD_start_daemon", &m->start_daemon},
        {"MHD_stop_daemon", &m->stop_daemon},
        {"MHD_create_response_from_buffer", &m->create_response_from_buffer},
        {"MHD_add_response_header", &m->add_response_header},
        {"MHD_queue_response", &m->queue_response},
        {"MHD_destroy_response", &m->destroy_response},
        {"MHD_lookup_connection_value", &m->lookup_connection_value},
        {"MHD_get_version", &m->get_version},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (!load_symbol(dl, syms[i].name, syms[i].slot)) {
            snprintf(err, errlen, "%s has no %s: libmicrohttpd >= 0.9.71 is needed", LF_MHD_LIBRARY,
                     syms[i].name);
            return LF_ENOTFOUND; /* the handle stays open: harmless, and dlclose is not */
        }
    }
    return LF_OK;
}
