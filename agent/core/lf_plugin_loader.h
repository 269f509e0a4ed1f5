/* lf_plugin_loader.h - finds output plugins: built-in ones, or out_<name>.so by dlopen.
 *
 * Checks, before anything of the plugin is used: the entry symbol exists, abi_version
 * equals LF_PLUGIN_ABI_VERSION, struct_size is at least what this agent knows, the name
 * matches the file, reserved slots are NULL, required callbacks are set, and the option
 * table validates. Errors name the plugin, the file and both versions.
 */
#ifndef LF_PLUGIN_LOADER_H
#define LF_PLUGIN_LOADER_H

#include <stddef.h>

#include "logferry/lf_plugin.h"

struct lf_plugin_handle {
    const struct lf_output_plugin *desc; /* borrowed from the module or built-in */
    void *dl;                            /* dlopen handle; NULL for built-ins */
};

/* The plugin directory to use when the config sets none: the build tree's plugins/
 * next to the running executable's directory if it exists, else the installed one.
 * Writes into buf (cap bytes). */
void lf_plugin_default_dir(char *buf, size_t cap);

/* Loads plugin `name` (built-in "stdout"/"file", or dir/out_<name>.so). On failure
 * returns a negative lf_err and a one-line message in err. */
int lf_plugin_load(const char *dir, const char *name, struct lf_plugin_handle *out, char *err,
                   size_t errlen);
/* Forgets the handle. The shared object stays mapped until the process exits. */
void lf_plugin_unload(struct lf_plugin_handle *h);

/* Built-in descriptors (lf_out_builtin.c). */
extern const struct lf_output_plugin lf_out_stdout_plugin;
extern const struct lf_output_plugin lf_out_file_plugin;

#endif
