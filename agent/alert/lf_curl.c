/* lf_curl.c - loading libcurl on demand (see lf_curl.h). */
#include "lf_curl.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "logferry/lf_err.h"

/* One symbol into *slot (a function pointer's storage). False if missing. */
static bool load_symbol(void *dl, const char *name, void *slot)
{
    void *sym = dlsym(dl, name);
    memcpy(slot, &sym, sizeof(sym)); /* object pointer to function pointer, as POSIX allows */
    return sym != NULL;
}

int lf_curl_load(struct lf_curl *c, char *err, size_t errlen)
{
    void *dl = dlopen(LF_CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(err, errlen, "cannot load %s (%s): install libcurl4", LF_CURL_LIBRARY, dlerror());
        return LF_ENOTFOUND;
    }
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"curl_global_init", &c->global_init},       {"curl_easy_init", &c->easy_init},
        {"curl_easy_setopt", &c->easy_setopt},       {"curl_easy_perform", &c->easy_perform},
        {"curl_easy_getinfo", &c->easy_getinfo},     {"curl_easy_strerror", &c->easy_strerror},
        {"curl_easy_cleanup", &c->easy_cleanup},     {"curl_slist_append", &c->slist_append},
        {"curl_slist_free_all", &c->slist_free_all},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (!load_symbol(dl, syms[i].name, syms[i].slot)) {
            snprintf(err, errlen, "%s has no %s", LF_CURL_LIBRARY, syms[i].name);
            return LF_ENOTFOUND; /* the handle stays open: harmless, and dlclose is not */
        }
    }
    return LF_OK;
}
