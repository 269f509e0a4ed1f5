/* cli_version.c - `logferry --version`: the version, the plugin ABI and the libraries.
 *
 * libfyaml is linked into the agent, so its version is asked at run time. The client
 * libraries belong to the plugins (the agent does not link them): their versions are the
 * ones meson found when the plugins were built (lf_build_info.h, generated).
 */
#include <libfyaml.h>

#include "cli_help.h"
#include "lf_build_info.h"
#include "logferry/lf_plugin.h"

static const struct {
    const char *name;
    const char *version; /* "" when not built */
    const char *used_by;
} build_libs[] = {
    {"librdkafka", LF_BUILD_RDKAFKA_VERSION, "kafka plugin"},
    {"librabbitmq", LF_BUILD_RABBITMQ_VERSION, "rabbitmq plugin"},
    {"libcurl", LF_BUILD_CURL_VERSION, "http plugin"},
};

void cli_version(FILE *fp)
{
    fprintf(fp, "logferry %s (plugin ABI %d)\n", LF_VERSION, LF_PLUGIN_ABI_VERSION);
    fprintf(fp, "libfyaml %s (run time)\n", fy_library_version());
    for (size_t i = 0; i < sizeof(build_libs) / sizeof(build_libs[0]); i++) {
        if (build_libs[i].version[0]) {
            fprintf(fp, "%s %s (build time, %s)\n", build_libs[i].name, build_libs[i].version,
                    build_libs[i].used_by);
        } else {
            fprintf(fp, "%s not built (%s)\n", build_libs[i].name, build_libs[i].used_by);
        }
    }
}
