/* lf_conf_yaml.h - reads a configuration file and parses it into a bounded YAML document.
 *
 * Before libfyaml sees a byte the file is checked: a directory, a FIFO or device, an empty
 * file, one over LF_CONF_MAX_BYTES, or one holding NUL bytes or invalid UTF-8 (a binary
 * file) each get their own message. Syntax errors get the position libfyaml reports,
 * moved to the opening bracket or quote when the real cause is one left unclosed.
 * Aliases are not expanded eagerly: the document is parsed unresolved, every alias is
 * walked with a budget (expanded nodes, alias expansions, nesting depth), and only a
 * document within the budget is resolved. Over budget is an error at the alias. Mappings
 * are limited to LF_CONF_MAX_KEYS keys and checked for duplicate keys here (libfyaml's
 * own check is quadratic in the number of keys).
 */
#ifndef LF_CONF_YAML_H
#define LF_CONF_YAML_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>

#include "lf_diag.h"

#define LF_CONF_MAX_BYTES   (4u << 20) /* a config larger than 4 MiB is refused */
#define LF_CONF_MAX_NODES   100000     /* nodes after alias expansion */
#define LF_CONF_MAX_ALIASES 10000      /* alias expansions, nested ones included */
#define LF_CONF_MAX_DEPTH   32         /* aliases inside aliases */
#define LF_CONF_MAX_KEYS    256        /* keys of one mapping */

/* The text a document was parsed from; it must outlive the document. */
struct lf_conf_src {
    char *text; /* owned, NUL-terminated */
    size_t len;
    bool world_readable; /* the file's mode lets any user read it */
};

/* Parses path (when yaml is NULL) or the len bytes of yaml. Returns the resolved
 * document (free with fy_document_destroy), or NULL with every problem in diag. src is
 * filled in either case: call lf_conf_src_fini after the document is destroyed. */
struct fy_document *lf_conf_yaml_load(const char *path, const char *yaml, size_t len,
                                      struct lf_diag *diag, struct lf_conf_src *src);
void lf_conf_src_fini(struct lf_conf_src *src);

/* Checks an unresolved document: the alias budget, per mapping at most LF_CONF_MAX_KEYS
 * keys and no duplicate key, and (given src, the text doc was parsed from) no
 * single-quoted scalar that libfyaml 0.7.12 reads wrong. LF_OK, or LF_ECONFIG with the
 * errors (at the alias, mapping, key or scalar) in diag. *needs_resolve (may be NULL)
 * tells whether the document has aliases or merge keys. Exposed for the unit tests. */
int lf_conf_alias_check(struct fy_document *doc, const struct lf_conf_src *src,
                        struct lf_diag *diag, bool *needs_resolve);

#endif
