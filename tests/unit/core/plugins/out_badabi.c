/* out_badabi.c - test plugin built for a future ABI version. */
#include "logferry/lf_plugin.h"

static const struct lf_opt opts[] = {{.name = NULL}};

static const struct lf_output_plugin desc = {
    .abi_version = LF_PLUGIN_ABI_VERSION + 1,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "badabi",
    .options = opts,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);
const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &desc;
}
