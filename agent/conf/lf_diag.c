/* lf_diag.c - configuration diagnostics collector. */
#include "lf_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lf_vec.h"
#include "logferry/lf_err.h"

void lf_diag_init(struct lf_diag *d, const char *file)
{
    memset(d, 0, sizeof(*d));
    d->file = file ? file : "<config>";
}

void lf_diag_fini(struct lf_diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->msgs[i].text);
    }
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}

void lf_diag_add(struct lf_diag *d, enum lf_diag_kind kind, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (kind == LF_DIAG_ERROR) {
        d->errors++;
    } else {
        d->warnings++;
    }
    if (lf_vec_reserve(&d->msgs, &d->cap, d->n + 1) != LF_OK) {
        return; /* counted, not kept: the exit code still reports the failure */
    }
    char line_buf[1200];
    const char *sev = kind == LF_DIAG_WARNING ? "warning: " : "";
    if (line > 0) {
        snprintf(line_buf, sizeof(line_buf), "%s:%d:%d: %s%s", d->file, line, col, sev, msg);
    } else {
        snprintf(line_buf, sizeof(line_buf), "%s: %s%s", d->file, sev, msg);
    }
    char *text = strdup(line_buf);
    if (!text) {
        return;
    }
    d->msgs[d->n].kind = kind;
    d->msgs[d->n].text = text;
    d->n++;
}

void lf_diag_print(const struct lf_diag *d, FILE *fp)
{
    for (size_t i = 0; i < d->n; i++) {
        fprintf(fp, "%s\n", d->msgs[i].text);
    }
}

int lf_diag_has(const struct lf_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strstr(d->msgs[i].text, needle)) {
            return 1;
        }
    }
    return 0;
}
