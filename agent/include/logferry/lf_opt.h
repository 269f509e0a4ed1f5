/* lf_opt.h - typed option tables: the single source for validation, defaults and docs.
 *
 * Every configurable struct (agent, input, output, each plugin) is described by an
 * array of struct lf_opt ending with an entry whose name is NULL. The configuration
 * loader fills the struct through `offset`, applies `def` for absent keys, checks
 * ranges and choices, and reports unknown keys with a did-you-mean hint. The same
 * table renders docs/config.md. Storage per type:
 *
 *   LF_OPT_STR       char *                  (owned by the config; NULL if absent, no default)
 *   LF_OPT_INT       int64_t
 *   LF_OPT_BOOL      bool
 *   LF_OPT_SIZE      uint64_t bytes          ("512KiB", "1GiB", "100")
 *   LF_OPT_DURATION  int64_t milliseconds    ("250ms", "10s", "5m", "1h")
 *   LF_OPT_ENUM      int, index into choices
 *   LF_OPT_LIST      struct lf_list          (items parsed as item_type: STR/INT/SIZE/DURATION)
 *   LF_OPT_MAP       struct lf_kvlist        (string keys, scalar values kept as strings)
 *   LF_OPT_SECTION   the struct of `sub`, embedded at offset
 *   LF_OPT_SECTION_LIST struct lf_seclist   (array of sub structs, each sub_size bytes)
 */
#ifndef LF_OPT_H
#define LF_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_export.h"

enum lf_opt_type {
    LF_OPT_STR = 1,
    LF_OPT_INT,
    LF_OPT_BOOL,
    LF_OPT_SIZE,
    LF_OPT_DURATION,
    LF_OPT_ENUM,
    LF_OPT_LIST,
    LF_OPT_MAP,
    LF_OPT_SECTION,
    LF_OPT_SECTION_LIST,
};

enum lf_opt_flags {
    LF_OPT_REQUIRED = 1u << 0,       /* absent key is an error */
    LF_OPT_SECRET = 1u << 1,         /* never logged or printed */
    LF_OPT_UNSUPPORTED = 1u << 2,    /* accepted by the schema, feature not built yet: error */
    LF_OPT_SCALAR_OR_LIST = 1u << 3, /* LIST that also accepts one scalar */
};

struct lf_opt {
    const char *name;
    enum lf_opt_type type;
    const char *def;            /* default as written in YAML; NULL = none */
    uint32_t flags;             /* enum lf_opt_flags */
    int64_t min, max;           /* for INT, SIZE, DURATION(ms) and LIST lengths; 0,0 = none */
    const char *const *choices; /* ENUM: NULL-terminated */
    enum lf_opt_type item_type; /* LIST: type of items (default STR) */
    size_t offset;              /* where the value lives in the target struct */
    const struct lf_opt *sub;   /* SECTION, SECTION_LIST: nested table */
    size_t sub_size;            /* SECTION_LIST: element size */
    const char *desc;           /* one or two sentences for the reference docs */
};

struct lf_list {
    size_t n;
    char **str;   /* item_type STR */
    int64_t *num; /* item_type INT, SIZE, DURATION */
};

struct lf_kv {
    char *key;
    char *value;
};

struct lf_kvlist {
    size_t n;
    struct lf_kv *v;
};

struct lf_seclist {
    size_t n;
    void *v; /* n elements of sub_size bytes */
};

/* Parse "512KiB" / "1GiB" / "100" (bytes; k/K, KB, KiB, M..., G... all powers of 1024). */
LF_EXPORT int lf_parse_size(const char *s, uint64_t *out);
/* Parse "250ms" / "10s" / "5m" / "1h" / "0" into milliseconds. A bare number is an error. */
LF_EXPORT int lf_parse_duration_ms(const char *s, int64_t *out);

/* Frees everything a table-driven fill allocated inside obj (strings, lists, maps,
 * sections); leaves obj zeroed where it freed. obj itself is the caller's. */
LF_EXPORT void lf_opt_free(const struct lf_opt *table, void *obj);

#endif
