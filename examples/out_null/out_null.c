/* out_null.c - an example output plugin built outside the logferry tree.
 *
 * Acknowledges every record as delivered and counts them; destroy() logs the count.
 * It shows the whole plugin ABI a third party needs (logferry-dev: <logferry/lf_plugin.h>
 * and logferry.pc): the descriptor, one option, and the callbacks. Build: make.
 */
#include <stdlib.h>

#include <logferry/lf_plugin.h>

struct null_conf {
    char *label; /* the "label" option, owned by the core's config */
};

struct null_state {
    struct lf_out_instance *ins;
    const struct null_conf *conf;
    unsigned long long records;
};

static const struct lf_opt null_options[] = {
    {
        .name = "label",
        .type = LF_OPT_STR,
        .def = "null",
        .offset = offsetof(struct null_conf, label),
        .desc = "A word logged with the record count at shutdown.",
    },
    {.name = NULL},
};

static int null_init(struct lf_out_instance *ins, const void *config, void **state)
{
    struct null_state *s = calloc(1, sizeof(*s));
    if (!s) {
        return LF_ENOMEM;
    }
    s->ins = ins;
    s->conf = config;
    *state = s;
    return LF_OK;
}

static int null_submit(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct null_state *s = state;
    lf_out_ack_many(s->ins, recs, n, LF_DELIVERED);
    s->records += n;
    *accepted = n;
    return LF_OK;
}

static int null_flush(void *state, int timeout_ms)
{
    return LF_OK; /* nothing is ever in flight */
}

static void null_destroy(void *state)
{
    struct null_state *s = state;
    if (!s) {
        return;
    }
    lf_out_log(s->ins, LF_LOG_INFO, "%s: %llu records", s->conf->label, s->records);
    free(s);
}

static const struct lf_output_plugin null_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "null",
    .description = "Example: acknowledges and drops every record.",
    .options = null_options,
    .config_size = sizeof(struct null_conf),
    .init = null_init,
    .submit = null_submit,
    .flush = null_flush,
    .destroy = null_destroy,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &null_plugin;
}
