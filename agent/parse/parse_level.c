/* parse_level.c - log levels: the canonical names, the mapping of the many spellings
 * (TRACE, FINEST, warning, err, SEVERE, PANIC...) to them, and the log.level field.
 * Shared by the regex-family and json parsers; no state.
 */
#include <string.h>
#include <strings.h>

#include "parse_int.h"

const char *const lf_level_names[] = {"none", "TRACE", "DEBUG", "INFO",
                                      "WARN", "ERROR", "FATAL", NULL};

int lf_level_index(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int level;
    } map[] = {{"TRACE", 1}, {"FINEST", 1}, {"FINER", 1},  {"DEBUG", 2}, {"FINE", 2},
               {"INFO", 3},  {"NOTICE", 3}, {"CONFIG", 3}, {"WARN", 4},  {"WARNING", 4},
               {"ERROR", 5}, {"ERR", 5},    {"SEVERE", 5}, {"FATAL", 6}, {"CRITICAL", 6},
               {"CRIT", 6},  {"ALERT", 6},  {"EMERG", 6},  {"PANIC", 6}};
    while (n && s[n - 1] == ' ') {
        n--;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].name) == n && !strncasecmp(map[i].name, s, n)) {
            return map[i].level;
        }
    }
    return 0;
}

void lf_put_level(struct lf_parser *p, int level, const char *raw, size_t n)
{
    p->level = level;
    if (level) {
        lf_f_str(p, "log.level", lf_level_names[level], strlen(lf_level_names[level]));
    } else {
        lf_f_str(p, "log.level", raw, n);
    }
}
