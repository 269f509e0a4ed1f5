/* lf_conf_yaml.c - the configuration file as a bounded YAML document (see lf_conf_yaml.h).
 *
 * Order of checks: the file (kind, size, readable), its bytes (empty, NUL, UTF-8, a tab
 * libfyaml crashes on), the YAML syntax (libfyaml, its errors collected, positions
 * refined here), the alias budget and the scalars libfyaml misreads, then resolution of
 * aliases and merge keys by libfyaml on a document known to be small once expanded.
 */
#include "lf_conf_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_optfill.h"
#include "logferry/lf_err.h"

void lf_conf_src_fini(struct lf_conf_src *src)
{
    free(src->text);
    memset(src, 0, sizeof(*src));
}

/* ---- the file ---------------------------------------------------------------------- */

static int yaml_file_kind(struct lf_diag *diag, const struct stat *st)
{
    if (S_ISDIR(st->st_mode)) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0,
                    "is a directory, not a configuration file (give the path of the YAML file)");
        return LF_ECONFIG;
    }
    if (!S_ISREG(st->st_mode)) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0,
                    "is not a regular file (a FIFO, socket or device): give the path of the "
                    "YAML file");
        return LF_ECONFIG;
    }
    if ((unsigned long long)st->st_size > LF_CONF_MAX_BYTES) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0,
                    "is %lld bytes: a configuration file is at most %u bytes",
                    (long long)st->st_size, LF_CONF_MAX_BYTES);
        return LF_ECONFIG;
    }
    return LF_OK;
}

static int yaml_read_fd(int fd, struct lf_diag *diag, struct lf_conf_src *src)
{
    size_t cap = LF_CONF_MAX_BYTES + 1;
    src->text = malloc(cap + 1);
    if (!src->text) {
        return LF_ENOMEM;
    }
    while (src->len < cap) {
        ssize_t n = read(fd, src->text + src->len, cap - src->len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "cannot read the configuration file: %s",
                        strerror(errno));
            return LF_ECONFIG;
        }
        if (n == 0) {
            break;
        }
        src->len += (size_t)n;
    }
    src->text[src->len] = '\0';
    if (src->len > LF_CONF_MAX_BYTES) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "a configuration file is at most %u bytes",
                    LF_CONF_MAX_BYTES);
        return LF_ECONFIG;
    }
    return LF_OK;
}

static int yaml_read_file(const char *path, struct lf_diag *diag, struct lf_conf_src *src)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "cannot open the configuration file: %s",
                    strerror(errno));
        return LF_ECONFIG;
    }
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? yaml_file_kind(diag, &st) : LF_EIO;
    if (rc == LF_OK) {
        src->world_readable = (st.st_mode & S_IROTH) != 0;
        rc = yaml_read_fd(fd, diag, src);
    }
    close(fd);
    return rc;
}

/* ---- the bytes --------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len = 0;
    if (s[0] < 0x80) {
        len = 1;
    } else if (s[0] >= 0xc2 && s[0] < 0xe0) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] < 0xf0) {
        len = 3;
    } else if (s[0] >= 0xf0 && s[0] < 0xf5) {
        len = 4;
    }
    if (len == 0 || len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
        (len == 4 && s[0] == 0xf4 && s[1] > 0x8f) || (len == 3 && s[0] == 0xed && s[1] > 0x9f)) {
        return 0; /* overlong, beyond U+10FFFF, or a surrogate */
    }
    return len;
}

static int yaml_check_bytes(struct lf_diag *diag, const struct lf_conf_src *src)
{
    const unsigned char *s = (const unsigned char *)src->text;
    size_t blank = strspn(src->text, " \t\r\n");
    if (src->len == 0 || blank == src->len) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0,
                    "the configuration file is empty (it needs at least inputs and outputs)");
        return LF_ECONFIG;
    }
    int line = 1, col = 1;
    for (size_t i = 0; i < src->len;) {
        size_t n = s[i] ? utf8_seq_len(s + i, src->len - i) : 0;
        if (n == 0) {
            lf_diag_add(diag, LF_DIAG_ERROR, line, col,
                        "not a text file: %s byte 0x%02x (a configuration is UTF-8 YAML text)",
                        s[i] ? "invalid UTF-8" : "NUL", s[i]);
            return LF_ECONFIG;
        }
        line += s[i] == '\n';
        col = s[i] == '\n' ? 1 : col + 1;
        i += n;
    }
    return LF_OK;
}

/* Whether p (n bytes left) starts what libfyaml 0.7.12 takes for a block indicator after
 * a tab: '?', ':', '|', '>', or '-' and a blank, a line end or the end of the text. */
static bool yaml_block_indicator(const char *p, size_t n)
{
    if (n == 0) {
        return false;
    }
    if (p[0] == '?' || p[0] == ':' || p[0] == '|' || p[0] == '>') {
        return true;
    }
    return p[0] == '-' && (n == 1 || p[1] <= ' ' || p[1] > '~');
}

/* libfyaml 0.7.12 frees a parser object twice, and crashes (in fy_parse_cleanup), when
 * after an explicit key ('? ') a ':' is followed by blanks holding a TAB and then by a
 * block indicator: fy_fetch_value recycles its simple key, fy_ws_indentation_check then
 * refuses the tab ("cannot use tab for indentation") and the error path recycles the key
 * again (upstream fix 0bb4406, in 0.8). YAML does not allow a tab as indentation there
 * anyway. Explicit keys begin only at a '?' byte, so in a text holding one that sequence
 * is refused wherever it stands, comments and quoted scalars included: a guess at the
 * context could miss one, the bytes cannot. Texts without a '?' never take that path
 * and keep "key:<TAB>|" (libfyaml accepts it). */
static int yaml_check_tab_indent(struct lf_diag *diag, const struct lf_conf_src *src)
{
    const char *s = src->text;
    if (!memchr(s, '?', src->len)) {
        return LF_OK;
    }
    int line = 1, col = 1;
    for (size_t i = 0; i < src->len; i++) {
        if (s[i] == ':') {
            size_t j = i + 1, tab = 0;
            for (; j < src->len && (s[j] == ' ' || s[j] == '\t'); j++) {
                if (s[j] == '\t' && tab == 0) {
                    tab = j;
                }
            }
            if (tab && yaml_block_indicator(s + j, src->len - j)) {
                lf_diag_add(diag, LF_DIAG_ERROR, line, col + (int)(tab - i),
                            "a TAB after ':' and before '%c' is block indentation, which YAML "
                            "does not allow: use spaces (libfyaml 0.7.12 would crash on it)",
                            s[j]);
                return LF_ECONFIG;
            }
        }
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)s[i] & 0xc0) != 0x80) {
            col++;
        }
    }
    return LF_OK;
}

/* ---- syntax errors ----------------------------------------------------------------- */

/* libfyaml's errors are collected (fy_diag_set_collect_errors), never printed, and the
 * first one is read back with its line and column. Printing is not safe: libfyaml 0.7.12
 * (Debian 12's) follows each printed error with an excerpt of the source, and that code
 * (fy_diag_error_atom_display) overflows a stack buffer (4 * 80 + 33 bytes) and crashes
 * when a line is over 80 display columns wide: the excerpt is then an 80-column window
 * shifted right, and the run of '~' marking the error under a line that starts left of
 * the window is clamped on the right only, so a marked part of 354 columns or more is
 * written past the buffer (issue 17; upstream guards it since 0.8, commit a398979).
 * Tabs count 8 columns a byte, which is how the fuzzer found it, but spaces do it too
 * ('s', 744 spaces, ': .', then 408 spaces and 'r:'): refusing some bytes before parsing
 * would not close it. Collecting does, for every input: fy_diag_vreport, the only
 * caller of the excerpt code, skips it when collecting. The collected record has the
 * message, line and column that the printed report had. */
struct yaml_err {
    int line, col; /* of the first error */
    char msg[512];
    int count;
};

/* A line or column number from libfyaml; 0 (unknown) if it is not one. */
static int yaml_position_number(int v)
{
    return v > 0 && v < INT_MAX ? v : 0;
}

/* Fills e from the errors collected so far (the first is kept: later ones follow from
 * it); returns their number. */
static int yaml_collected(struct fy_diag *fyd, struct yaml_err *e)
{
    void *it = NULL;
    struct fy_diag_error *err;
    e->count = 0;
    while ((err = fy_diag_errors_iterate(fyd, &it)) != NULL) {
        if (err->type < FYET_ERROR || e->count++ > 0) {
            continue;
        }
        snprintf(e->msg, sizeof(e->msg), "%s", err->msg ? err->msg : "(no message)");
        e->msg[strcspn(e->msg, "\n")] = '\0';
        e->line = yaml_position_number(err->line);
        e->col = yaml_position_number(err->column);
    }
    return e->count;
}

/* What libfyaml prints besides reports (its internal "... failed" trail, without a
 * position) is dropped: the collected error says it all. */
static void yaml_diag_sink(struct fy_diag *fyd, void *user, const char *buf, size_t len)
{
    (void)fyd;
    (void)user;
    (void)buf;
    (void)len;
}

/* A flow bracket or a quote that opened a scalar or collection and is still open. */
struct yaml_open {
    int line, col;
    char c;
};

struct yaml_scan {
    struct yaml_open stack[64];
    int depth;  /* flow collections open */
    char quote; /* '"' or '\'' while inside a quoted scalar */
    struct yaml_open q;
    bool value_start; /* the next character may begin a node */
};

/* One character outside quotes and comments. */
static void yaml_scan_plain(struct yaml_scan *sc, const char *p, int line, int col)
{
    char c = *p;
    bool sep_after = p[1] == ' ' || p[1] == '\t' || p[1] == '\n' || p[1] == '\0';
    if (sc->value_start && (c == '"' || c == '\'')) {
        sc->quote = c;
        sc->q = (struct yaml_open){line, col, c};
    } else if (sc->value_start && (c == '[' || c == '{')) {
        if (sc->depth < 64) {
            sc->stack[sc->depth] = (struct yaml_open){line, col, c};
        }
        sc->depth++;
    } else if (sc->depth > 0 && (c == ']' || c == '}')) {
        sc->depth--;
        sc->value_start = false;
    } else if ((sc->depth > 0 && c == ',') || (c == ':' && (sep_after || sc->depth > 0)) ||
               ((c == '-' || c == '?') && sc->value_start && sep_after)) {
        sc->value_start = true;
    } else if (c != ' ' && c != '\t' && !(sc->value_start && (c == '&' || c == '!'))) {
        sc->value_start = false;
    }
}

/* Scans text up to (line, col) for the innermost bracket or quote still open there. */
static bool yaml_find_unclosed(const char *text, int eline, int ecol, struct yaml_open *out)
{
    struct yaml_scan sc = {.value_start = true};
    int line = 1, col = 1;
    for (const char *p = text; *p && (line < eline || (line == eline && col < ecol)); p++) {
        if (sc.quote == '"' && *p == '\\' && p[1] && p[1] != '\n') {
            p++;
            col++;
        } else if (sc.quote && *p == sc.quote) {
            if (sc.quote == '\'' && p[1] == '\'') {
                p++;
                col++;
            } else {
                sc.quote = 0;
                sc.value_start = false;
            }
        } else if (!sc.quote && *p == '#' && (p == text || p[-1] == ' ' || p[-1] == '\n')) {
            p += strcspn(p, "\n") - 1;
        } else if (!sc.quote && *p != '\n') {
            yaml_scan_plain(&sc, p, line, col);
        }
        if (*p == '\n') {
            line++;
            col = 0;
            sc.value_start = sc.value_start || sc.depth == 0;
        }
        col++;
    }
    if (sc.quote) {
        *out = sc.q;
    } else if (sc.depth > 0 && sc.depth <= 64) {
        *out = sc.stack[sc.depth - 1];
    } else {
        return false;
    }
    return out->line < eline;
}

static void yaml_report_syntax(struct lf_diag *diag, const struct yaml_err *e, const char *text)
{
    struct yaml_open o;
    if (e->count == 0) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "cannot parse the YAML document");
    } else if (e->line > 0 && yaml_find_unclosed(text, e->line, e->col, &o)) {
        lf_diag_add(diag, LF_DIAG_ERROR, o.line, o.col,
                    "YAML syntax error: this %s is never closed (the parser stopped at line %d, "
                    "column %d: %s)",
                    o.c == '['   ? "'['"
                    : o.c == '{' ? "'{'"
                                 : "quote",
                    e->line, e->col, e->msg);
    } else {
        lf_diag_add(diag, LF_DIAG_ERROR, e->line, e->col, "YAML syntax error: %s", e->msg);
    }
}

/* Whether any line holds more than blanks and a comment (libfyaml builds no document
 * from a file of comments, without an error). */
static bool yaml_has_content(const char *text)
{
    for (const char *p = text; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        p += strspn(p, " \t\r");
        if (*p && *p != '#' && *p != '\n') {
            return true;
        }
    }
    return false;
}

/* ---- aliases ----------------------------------------------------------------------- */

struct alias_budget {
    struct lf_diag *diag;
    const struct lf_conf_src *src; /* the text parsed (NULL: scalars not checked) */
    size_t nodes, aliases;
    bool merge;    /* a `<<` key: the document needs resolving even without aliases */
    bool failed;   /* over budget: the walk stops */
    size_t errors; /* duplicate keys: the walk goes on to report them all */
};

/* ---- scalars ----------------------------------------------------------------------- */

/* libfyaml 0.7.12 reads a single-quoted scalar wrong when two '' escapes follow each
 * other ('a''''b'): its text iterator (fy_atom_iter_format) emits a quote for each quote
 * of the run that another quote follows, 3 for 2 escapes, while the length it allocates
 * for is computed right, so the text is cut short ("a'''" for a''b, silently), and once
 * the pieces outgrow the iterator's inline array, the array it allocated leaks
 * (fy_atom_format_text returns early without freeing it). A lone '' reads right, and so do the
 * other styles. Such a scalar is refused before its text is read: its raw bytes (between the
 * quotes, from the token's marks) holding four quotes in a row is exactly that case. */
static bool yaml_sq_misread(const struct alias_budget *b, struct fy_node *n)
{
    if (!b->src || !fy_node_is_scalar(n) || fy_node_is_alias(n) ||
        fy_node_get_style(n) != FYNS_SINGLE_QUOTED) {
        return false;
    }
    struct fy_token *t = fy_node_get_scalar_token(n);
    const struct fy_mark *from = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *to = t ? fy_token_end_mark(t) : NULL;
    if (!from || !to || from->input_pos > to->input_pos || to->input_pos > b->src->len) {
        return false;
    }
    return memmem(b->src->text + from->input_pos, to->input_pos - from->input_pos, "''''", 4) !=
           NULL;
}

/* ---- mappings ---------------------------------------------------------------------- */

/* libfyaml's own duplicate-key check costs O(keys^2) per mapping at parse time (seconds
 * for a few thousand keys), so it is off and done here: at most LF_CONF_MAX_KEYS keys per
 * mapping, duplicates found by sorting. */
struct yaml_key {
    const char *s;
    size_t len;
    int line, col;
};

static int yaml_key_cmp(const void *pa, const void *pb)
{
    const struct yaml_key *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c == 0 && a->len != b->len) {
        c = a->len < b->len ? -1 : 1;
    }
    if (c == 0) {
        c = a->line != b->line ? (a->line < b->line ? -1 : 1) : (a->col < b->col ? -1 : 1);
    }
    return c;
}

static size_t yaml_collect_keys(struct alias_budget *b, struct fy_node *map, struct yaml_key *k)
{
    size_t n = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *kn = fy_node_pair_key(p);
        size_t len = 0;
        if (yaml_sq_misread(b, kn)) {
            continue; /* not read: the walk reports it */
        }
        const char *s = kn && fy_node_is_scalar(kn) && !fy_node_is_alias(kn)
                            ? fy_node_get_scalar(kn, &len)
                            : NULL;
        if (s && len == 2 && memcmp(s, "<<", 2) == 0) {
            b->merge = true;
        } else if (s) {
            k[n] = (struct yaml_key){.s = s, .len = len};
            lf_node_pos(kn, &k[n].line, &k[n].col);
            n++;
        }
    }
    return n;
}

static void yaml_check_mapping(struct alias_budget *b, struct fy_node *map)
{
    int count = fy_node_mapping_item_count(map);
    if (count > LF_CONF_MAX_KEYS) {
        int line, col;
        lf_node_pos(map, &line, &col);
        lf_diag_add(b->diag, LF_DIAG_ERROR, line, col, "a mapping with %d keys (at most %d)", count,
                    LF_CONF_MAX_KEYS);
        b->failed = true;
        return;
    }
    struct yaml_key *k = count > 0 ? calloc((size_t)count, sizeof(*k)) : NULL;
    size_t n = k ? yaml_collect_keys(b, map, k) : 0;
    if (n > 1) {
        qsort(k, n, sizeof(*k), yaml_key_cmp);
    }
    for (size_t i = 1; i < n; i++) {
        if (k[i].len == k[i - 1].len && memcmp(k[i].s, k[i - 1].s, k[i].len) == 0) {
            lf_diag_add(b->diag, LF_DIAG_ERROR, k[i].line, k[i].col,
                        "duplicate key '%.*s' (first at line %d, column %d)",
                        (int)(k[i].len > 200 ? 200 : k[i].len), k[i].s, k[i - 1].line,
                        k[i - 1].col);
            b->errors++;
        }
    }
    free(k);
}

static void alias_fail(struct alias_budget *b, struct fy_node *at, const char *why)
{
    int line, col;
    size_t len = 0;
    const char *name = at ? fy_node_get_scalar(at, &len) : NULL;
    lf_node_pos(at, &line, &col);
    lf_diag_add(b->diag, LF_DIAG_ERROR, line, col, "alias '*%.*s': %s", (int)(name ? len : 1),
                name ? name : "?", why);
    b->failed = true;
}

/* Whether node n lies inside anc (or is it). */
static bool yaml_contains(struct fy_node *anc, struct fy_node *n)
{
    for (int up = 0; n && up < 256; n = fy_node_get_parent(n), up++) {
        if (n == anc) {
            return true;
        }
    }
    return false;
}

/* Counts the nodes of n with aliases expanded; `outer` is the alias of the document
 * being expanded (NULL outside any), where an error is reported. */
static void alias_walk(struct alias_budget *b, struct fy_node *n, int depth, struct fy_node *outer)
{
    char why[160];
    if (!n || b->failed) {
        return;
    }
    if (++b->nodes > LF_CONF_MAX_NODES && outer) {
        snprintf(why, sizeof(why),
                 "the document expands to more than %d nodes (nested "
                 "aliases multiply; an alias may not expand to this much)",
                 LF_CONF_MAX_NODES);
        alias_fail(b, outer, why);
        return;
    }
    if (b->nodes > LF_CONF_MAX_NODES) {
        int line, col;
        lf_node_pos(n, &line, &col);
        lf_diag_add(b->diag, LF_DIAG_ERROR, line, col,
                    "the document has more than %d nodes: not a configuration", LF_CONF_MAX_NODES);
        b->failed = true;
        return;
    }
    if (fy_node_is_alias(n)) {
        struct fy_node *target = fy_node_resolve_alias(n);
        struct fy_node *at = outer ? outer : n;
        if (++b->aliases > LF_CONF_MAX_ALIASES) {
            snprintf(why, sizeof(why), "the document expands more than %d aliases",
                     LF_CONF_MAX_ALIASES);
            alias_fail(b, at, why);
        } else if (depth >= LF_CONF_MAX_DEPTH) {
            snprintf(why, sizeof(why), "aliases nested more than %d deep", LF_CONF_MAX_DEPTH);
            alias_fail(b, at, why);
        } else if (!target) {
            alias_fail(b, n, "refers to an unknown anchor or to itself");
        } else if (yaml_contains(target, n)) {
            alias_fail(b, n, "refers to a node that contains it (a cycle)");
        } else {
            alias_walk(b, target, depth + 1, at);
        }
        return;
    }
    if (!outer && yaml_sq_misread(b, n)) {
        int line, col;
        lf_node_pos(n, &line, &col);
        lf_diag_add(b->diag, LF_DIAG_ERROR, line, col,
                    "a single-quoted scalar with two '' escapes in a row: libfyaml 0.7.12 "
                    "reads it wrong; write it double-quoted (\"...'...\")");
        b->errors++;
        return;
    }
    void *it = NULL;
    if (fy_node_is_sequence(n)) {
        struct fy_node *item;
        while (!b->failed && (item = fy_node_sequence_iterate(n, &it))) {
            alias_walk(b, item, depth, outer);
        }
    } else if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p;
        if (!outer) {
            yaml_check_mapping(b, n); /* once, where it is written, not per alias */
        }
        while (!b->failed && (p = fy_node_mapping_iterate(n, &it))) {
            alias_walk(b, fy_node_pair_key(p), depth, outer);
            alias_walk(b, fy_node_pair_value(p), depth, outer);
        }
    }
}

int lf_conf_alias_check(struct fy_document *doc, const struct lf_conf_src *src,
                        struct lf_diag *diag, bool *needs_resolve)
{
    struct alias_budget b = {.diag = diag, .src = src};
    alias_walk(&b, fy_document_root(doc), 0, NULL);
    if (needs_resolve) {
        *needs_resolve = b.aliases > 0 || b.merge;
    }
    return b.failed || b.errors ? LF_ECONFIG : LF_OK;
}

/* ---- parsing ----------------------------------------------------------------------- */

/* The document with aliases and merge keys resolved. Merge keys need libfyaml's
 * duplicate-key handling, so the text is parsed again with it: cheap now that every
 * mapping is known to be small. Consumes doc; NULL on failure. */
static struct fy_document *yaml_resolved(struct fy_document *doc, struct fy_parse_cfg *pcfg,
                                         const struct lf_conf_src *src)
{
    fy_document_destroy(doc);
    pcfg->flags &= ~(unsigned)FYPCF_ALLOW_DUPLICATE_KEYS;
    doc = fy_document_build_from_string(pcfg, src->text, src->len);
    if (doc && fy_document_resolve(doc) != 0) {
        fy_document_destroy(doc);
        doc = NULL;
    }
    return doc;
}

static struct fy_document *yaml_parse(struct lf_diag *diag, const struct lf_conf_src *src)
{
    struct yaml_err e = {.count = 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = yaml_diag_sink;
    dcfg.colorize = false;
    struct fy_diag *fyd = fy_diag_create(&dcfg);
    if (!fyd) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "out of memory");
        return NULL;
    }
    fy_diag_set_collect_errors(fyd, true); /* never printed: see struct yaml_err */
    /* No FYPCF_RESOLVE_DOCUMENT: aliases stay aliases until their budget is checked.
     * Duplicate keys are checked by the walk (see yaml_check_mapping). */
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS, .diag = fyd};
    bool resolve = false;
    struct fy_document *doc = fy_document_build_from_string(&pcfg, src->text, src->len);
    if (yaml_collected(fyd, &e) > 0 || (!doc && yaml_has_content(src->text))) {
        yaml_report_syntax(diag, &e, src->text);
    } else if (!doc || !fy_document_root(doc)) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0,
                    "the configuration file holds no YAML content (only comments?)");
    } else if (lf_conf_alias_check(doc, src, diag, &resolve) == LF_OK &&
               (!resolve || (doc = yaml_resolved(doc, &pcfg, src)) != NULL)) {
        fy_diag_destroy(fyd);
        return doc;
    } else if (yaml_collected(fyd, &e) > 0) {
        yaml_report_syntax(diag, &e, src->text);
    }
    if (diag->errors == 0) {
        lf_diag_add(diag, LF_DIAG_ERROR, 0, 0, "cannot resolve the aliases of the document");
    }
    fy_document_destroy(doc);
    fy_diag_destroy(fyd);
    return NULL;
}

struct fy_document *lf_conf_yaml_load(const char *path, const char *yaml, size_t len,
                                      struct lf_diag *diag, struct lf_conf_src *src)
{
    memset(src, 0, sizeof(*src));
    if (path) {
        if (yaml_read_file(path, diag, src) != LF_OK) {
            return NULL;
        }
    } else {
        src->text = malloc(len + 1);
        if (!src->text) {
            return NULL;
        }
        memcpy(src->text, yaml, len);
        src->text[len] = '\0';
        src->len = len;
    }
    if (yaml_check_bytes(diag, src) != LF_OK || yaml_check_tab_indent(diag, src) != LF_OK) {
        return NULL;
    }
    return yaml_parse(diag, src);
}
