/* lf_optfill.h - fills structs from YAML nodes through lf_opt tables (core internal).
 *
 * One pass per section: each key is looked up in the section's tables (several tables
 * when a section mixes core and plugin keys), typed, range-checked and stored; unknown
 * keys get a did-you-mean hint; absent keys get their default; `${VAR}` and
 * `${VAR:-default}` in scalar values are substituted from the environment; every secret
 * option NAME (LF_OPT_SECRET) also takes `NAME_file: PATH`, the value read from that file
 * (a list: one item per line), unless the table has a NAME_file of its own. Problems go
 * to the lf_diag with the node's line and column; filling continues so that every
 * problem is reported.
 */
#ifndef LF_OPTFILL_H
#define LF_OPTFILL_H

#include <libfyaml.h>
#include <stdbool.h>

#include "lf_buf.h"
#include "lf_diag.h"
#include "logferry/lf_opt.h"

struct lf_optfill {
    struct lf_diag *diag;
    char **envp; /* NULL: use getenv */
    /* Secrets written in the file itself (not ${VAR} or NAME_file), and where the first
     * one is: a world-readable file holding one gets a warning. */
    int secrets_inline;
    int secret_line, secret_col;
};

/* One table and the object it fills. */
struct lf_optset {
    const struct lf_opt *table;
    void *obj;
};

/* Fills each set from mapping node `map` (NULL = section absent: defaults only).
 * `where` names the section in messages ("agent", "inputs[0]"). Keys that no table
 * knows are errors unless listed in `ignore` (NULL-terminated, may be NULL).
 * Returns the number of errors added. */
int lf_optfill_sets(struct lf_optfill *f, const struct lf_optset *sets, size_t nsets,
                    struct fy_node *map, const char *where, const char *const *ignore);
int lf_optfill(struct lf_optfill *f, const struct lf_opt *table, void *obj, struct fy_node *map,
               const char *where);

/* Line and column (1-based) of a node, or of the first scalar inside it. */
void lf_node_pos(struct fy_node *n, int *line, int *col);
/* Line and column of the key `key` in mapping `map` (0, 0 if absent). */
void lf_node_key_pos(struct fy_node *map, const char *key, int *line, int *col);
/* The value of scalar key `key` in mapping `map` (NULL if absent or not a scalar). */
struct fy_node *lf_node_lookup(struct fy_node *map, const char *key);

/* Substitutes ${VAR} / ${VAR:-def} / $$ in s. Returns LF_OK or LF_ENOTFOUND with the
 * variable's name in missing (cap bytes). out receives the result. */
int lf_env_substitute(const char *s, size_t len, char **envp, struct lf_buf *out, char *missing,
                      size_t cap);

/* Checks a table: names unique, types known, defaults parse and sit in range, enums have
 * choices, sections have sub-tables. Returns LF_OK or LF_EINVAL with a message. */
int lf_opt_table_validate(const struct lf_opt *table, char *err, size_t errlen);

/* Appends the markdown reference of a table: one row per key (type, default, desc);
 * nested sections get their own heading under `path`. */
int lf_opt_doc_md(const struct lf_opt *table, const char *path, struct lf_buf *out);

/* Reads the secret in file path (lf_optsecret.c): LF_OK and *out (malloc'd, trailing
 * whitespace dropped), or an error with a message naming the path in err. */
int lf_secret_read_file(const char *path, char **out, char *err, size_t errlen);

/* Levenshtein distance, for did-you-mean hints. */
size_t lf_edit_distance(const char *a, const char *b);

#endif
