/* fuzz_config.c - libFuzzer target for the configuration loader (agent/conf through
 * lf_conf_load_string_with): YAML parsing, option tables, validation, plugin options.
 * Input: the YAML document. Plugins resolve to this build's real ones (built-ins, and
 * out_<name>.so from the build tree's plugins/ for kafka, rabbitmq, http); any other
 * name is refused without touching the file system, so a mutated agent.plugin_dir never
 * makes the target dlopen something arbitrary. The environment is fixed (two variables).
 * Checks besides the sanitizers: a failed load reports at least one error, and a load
 * either gives a config or an error, never both.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lf_conf.h"
#include "lf_diag.h"
#include "lf_plugin_loader.h"
#include "logferry/lf_err.h"

static int fz_conf_resolve(void *ctx, const char *dir, const char *name,
                           const struct lf_output_plugin **out, char *err, size_t errlen)
{
    static const char *const known[] = {"stdout", "file", "kafka", "rabbitmq", "http"};
    static const struct lf_output_plugin *cache[5];
    (void)ctx;
    (void)dir;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i], name) != 0) {
            continue;
        }
        if (!cache[i]) {
            struct lf_plugin_handle h;
            int rc = lf_plugin_load(LF_BUILD_PLUGIN_DIR, name, &h, err, errlen);
            if (rc != LF_OK) {
                return rc;
            }
            cache[i] = h.desc; /* the module stays mapped: kept for the process */
        }
        *out = cache[i];
        return LF_OK;
    }
    snprintf(err, errlen, "unknown output plugin '%s'", name);
    return LF_ENOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *yaml = malloc(size + 1);
    if (!yaml) {
        return 0;
    }
    memcpy(yaml, data, size);
    yaml[size] = '\0';
    static char env_a[] = "LF_FUZZ_HOST=broker.example:9092";
    static char env_b[] = "LF_FUZZ_SECRET=s3cret";
    char *envp[] = {env_a, env_b, NULL};
    struct lf_plugin_resolver r = {.resolve = fz_conf_resolve, .default_dir = LF_BUILD_PLUGIN_DIR};
    struct lf_diag diag;
    lf_diag_init(&diag, "fuzz.yaml");
    struct lf_config *cfg = NULL;
    int rc = lf_conf_load_string_with(yaml, "fuzz.yaml", envp, &r, &diag, &cfg);
    if ((rc == LF_OK) != (cfg != NULL) || (rc == LF_ECONFIG && diag.errors == 0)) {
        abort();
    }
    lf_conf_free(cfg);
    lf_diag_fini(&diag);
    free(yaml);
    return 0;
}
