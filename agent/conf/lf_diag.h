/* lf_diag.h - collects configuration diagnostics as "FILE:LINE:COL: message".
 *
 * Every error and warning found while loading a config is recorded (not just the first)
 * so `logferry check` can print them all. Messages are owned by the diag.
 */
#ifndef LF_DIAG_H
#define LF_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum lf_diag_kind {
    LF_DIAG_ERROR,
    LF_DIAG_WARNING,
};

struct lf_diag_msg {
    enum lf_diag_kind kind;
    char *text; /* full line: "FILE:LINE:COL: message" or "FILE:LINE:COL: warning: message" */
};

struct lf_diag {
    const char *file; /* borrowed, for the prefix */
    struct lf_diag_msg *msgs;
    size_t n, cap;
    size_t errors, warnings;
};

void lf_diag_init(struct lf_diag *d, const char *file);
void lf_diag_fini(struct lf_diag *d);
/* line and col are 1-based; 0 means unknown (prints FILE:0:0 is avoided: FILE: message). */
void lf_diag_add(struct lf_diag *d, enum lf_diag_kind kind, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void lf_diag_print(const struct lf_diag *d, FILE *fp);
/* True if some message contains needle (tests). */
int lf_diag_has(const struct lf_diag *d, const char *needle);

#endif
