/* lf_plugin_loader.c - built-in lookup, dlopen of out_<name>.so and the ABI checks. */
#include "lf_plugin_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_optfill.h"

void lf_plugin_default_dir(char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX + 16];
            struct stat st;
            /* build tree: build/agent/logferry next to build/plugins/ */
            snprintf(cand, sizeof(cand), "%s/../plugins", exe);
            if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode) &&
                strcmp(exe + strlen(exe) - 6, "/agent") == 0) {
                snprintf(buf, cap, "%s", cand);
                return;
            }
        }
    }
    snprintf(buf, cap, "%s", LF_PLUGIN_DIR);
}

static int check_descriptor(const struct lf_output_plugin *d, const char *name, const char *path,
                            char *err, size_t errlen)
{
    if (d->abi_version != LF_PLUGIN_ABI_VERSION) {
        snprintf(err, errlen,
                 "plugin '%s' (%s) was built for plugin ABI version %u, this agent has version "
                 "%u: rebuild the plugin against this agent's headers",
                 name, path, d->abi_version, LF_PLUGIN_ABI_VERSION);
        return LF_EABI;
    }
    if (d->struct_size < sizeof(struct lf_output_plugin)) {
        snprintf(err, errlen,
                 "plugin '%s' (%s) has a descriptor of %u bytes, this agent needs %zu: rebuild "
                 "the plugin",
                 name, path, d->struct_size, sizeof(struct lf_output_plugin));
        return LF_EABI;
    }
    if (!d->name || strcmp(d->name, name) != 0) {
        snprintf(err, errlen, "plugin file %s calls itself '%s', expected '%s'", path,
                 d->name ? d->name : "(null)", name);
        return LF_EABI;
    }
    for (size_t i = 0; i < sizeof(d->reserved) / sizeof(d->reserved[0]); i++) {
        if (d->reserved[i]) {
            snprintf(err, errlen, "plugin '%s' (%s): reserved slot %zu is set", name, path, i);
            return LF_EABI;
        }
    }
    if (!d->init || !d->submit || !d->flush || !d->destroy || !d->options) {
        snprintf(err, errlen,
                 "plugin '%s' (%s): init, submit, flush, destroy and options are "
                 "required",
                 name, path);
        return LF_EABI;
    }
    char why[256];
    if (lf_opt_table_validate(d->options, why, sizeof(why)) != LF_OK) {
        snprintf(err, errlen, "plugin '%s' (%s): bad option table: %s", name, path, why);
        return LF_EABI;
    }
    return LF_OK;
}

static bool valid_name(const char *name)
{
    if (!*name || strlen(name) > 64) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
            return false;
        }
    }
    return true;
}

int lf_plugin_load(const char *dir, const char *name, struct lf_plugin_handle *out, char *err,
                   size_t errlen)
{
    static const struct lf_output_plugin *const builtins[] = {&lf_out_stdout_plugin,
                                                              &lf_out_file_plugin};
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strcmp(builtins[i]->name, name) == 0) {
            out->desc = builtins[i];
            return check_descriptor(builtins[i], name, "built-in", err, errlen);
        }
    }
    if (!valid_name(name)) {
        snprintf(err, errlen, "invalid plugin name '%s'", name);
        return LF_EINVAL;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/out_%s.so", dir, name);
    if (access(path, R_OK) != 0) {
        /* the build tree keeps each plugin in its own directory: plugins/out_x/out_x.so */
        snprintf(path, sizeof(path), "%s/out_%s/out_%s.so", dir, name, name);
    }
    if (access(path, R_OK) != 0) {
        snprintf(path, sizeof(path), "%s/out_%s.so", dir, name);
        snprintf(err, errlen,
                 "plugin '%s' not found: no readable %s (set agent.plugin_dir, or "
                 "install the logferry-%s package)",
                 name, path, name);
        return LF_ENOTFOUND;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(err, errlen, "plugin '%s': cannot load %s: %s", name, path, dlerror());
        return LF_EIO;
    }
    lf_output_plugin_entry_fn *entry;
    *(void **)&entry = dlsym(dl, LF_OUTPUT_PLUGIN_ENTRY);
    if (!entry) {
        snprintf(err, errlen, "plugin '%s': %s does not export %s()", name, path,
                 LF_OUTPUT_PLUGIN_ENTRY);
        dlclose(dl);
        return LF_ENOTFOUND;
    }
    const struct lf_output_plugin *d = entry();
    int rc = d ? check_descriptor(d, name, path, err, errlen) : LF_EABI;
    if (!d) {
        snprintf(err, errlen, "plugin '%s': %s returned no descriptor", name, path);
    }
    if (rc != LF_OK) {
        dlclose(dl);
        return rc;
    }
    out->desc = d;
    out->dl = dl;
    return LF_OK;
}

/* The shared object stays mapped: client libraries such as librdkafka keep global state
 * and may still be ending threads after destroy, so unmapping their code is a crash risk
 * for no gain (a process loads each plugin once). It also keeps leak reports readable. */
void lf_plugin_unload(struct lf_plugin_handle *h)
{
    if (h) {
        h->dl = NULL;
        h->desc = NULL;
    }
}
