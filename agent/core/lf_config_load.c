/* lf_config_load.c - configuration loading with the agent's plugin loader.
 *
 * conf/ parses and validates a configuration but finds plugins only through a resolver
 * its caller passes (struct lf_plugin_resolver). These are the callers' usual entry
 * points (lf_conf_load, lf_conf_load_string, lf_conf_doc_md, declared in lf_conf.h): they
 * pass the resolver of lf_plugin_loader.c, which finds built-ins or dlopens
 * out_<name>.so, the default plugin directory, and each plugin's validate().
 */
#include <limits.h>
#include <stddef.h>

#include "lf_conf.h"
#include "lf_output.h"
#include "lf_plugin_loader.h"

/* The loader keeps every shared object mapped for the life of the process (see
 * lf_plugin_unload), so the descriptor outlives the handle dropped here. */
static int resolve_with_loader(void *ctx, const char *dir, const char *name,
                               const struct lf_output_plugin **out, char *err, size_t errlen)
{
    struct lf_plugin_handle h;
    (void)ctx;
    int rc = lf_plugin_load(dir, name, &h, err, errlen);
    *out = rc == LF_OK ? h.desc : NULL;
    lf_plugin_unload(&h);
    return rc;
}

static int validate_with_plugin(void *ctx, const struct lf_output_conf *out, const char *agent_name,
                                const char *state_dir)
{
    (void)ctx;
    return lf_output_validate(out, agent_name, state_dir);
}

int lf_conf_load(const char *path, char **envp, struct lf_diag *diag, struct lf_config **out)
{
    char dir[PATH_MAX];
    lf_plugin_default_dir(dir, sizeof(dir));
    struct lf_plugin_resolver r = {
        .resolve = resolve_with_loader, .default_dir = dir, .validate = validate_with_plugin};
    return lf_conf_load_with(path, envp, &r, diag, out);
}

int lf_conf_load_string(const char *yaml, const char *name, char **envp, struct lf_diag *diag,
                        struct lf_config **out)
{
    char dir[PATH_MAX];
    lf_plugin_default_dir(dir, sizeof(dir));
    struct lf_plugin_resolver r = {
        .resolve = resolve_with_loader, .default_dir = dir, .validate = validate_with_plugin};
    return lf_conf_load_string_with(yaml, name, envp, &r, diag, out);
}

int lf_conf_doc_md(const char *plugin_dir, struct lf_buf *out)
{
    struct lf_plugin_resolver r = {.resolve = resolve_with_loader};
    return lf_conf_doc_md_with(&r, plugin_dir, out);
}
