/* out_wrongname.c - test plugin whose descriptor names another plugin. */
#include <stddef.h>

#include "logferry/lf_plugin.h"

static const struct lf_opt opts[] = {{.name = NULL}};

static int p_init(struct lf_out_instance *ins, const void *c, void **s)
{
    *s = NULL;
    return LF_OK;
}

static int p_submit(void *s, struct lf_record *const *r, size_t n, size_t *acc)
{
    *acc = 0;
    return LF_OK;
}

static int p_flush(void *s, int t)
{
    return LF_OK;
}

static void p_destroy(void *s)
{}

static const struct lf_output_plugin desc = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "somethingelse",
    .options = opts,
    .init = p_init,
    .submit = p_submit,
    .flush = p_flush,
    .destroy = p_destroy,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);
const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &desc;
}
