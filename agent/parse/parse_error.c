/* parse_error.c - error.type, error.message and error.stack_trace from an error record.
 *
 * One detector per language (table `detectors`), tried in order on the trace text: Python
 * (chained and header-first tracebacks), Go (panics, fatal errors, goroutine dumps), PHP
 * (classic, PHP 7+ and Laravel/Monolog), Ruby (Rails and the interpreter's own form),
 * Java and .NET (same shape: "Type: message" then "at" frames; "Caused by:" when the
 * first line carries no type), Node.js/JavaScript. One pass over the line starts tells
 * which detectors can match; the first that finds an exception wins. Nothing is copied: the fields
 * point into the record text.
 */
#include <ctype.h>
#include <string.h>

#include "parse_int.h"

/* An exception found in a trace: its type and message. */
struct exc {
    const char *t, *m;
    size_t tl, ml;
};

/* One line of s..end: [l, l + n) without its \r, *next after its newline. */
static size_t line_at(const char *l, const char *end, const char **next)
{
    const char *e = memchr(l, '\n', (size_t)(end - l));
    size_t n = (size_t)((e ? e : end) - l);
    *next = e ? e + 1 : end;
    if (n && l[n - 1] == '\r') {
        n--;
    }
    return n;
}

static const char *skip_blank(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    return s;
}

/* memmem for the short texts and needles here: memchr on the first byte, then memcmp
 * (glibc's memmem costs hundreds of instructions to set up per call). */
static const char *find(const char *s, size_t n, const char *lit, size_t k)
{
    const char *end = s + n;
    for (const char *q = k && k <= n ? memchr(s, lit[0], n - k + 1) : NULL; q;
         q = q + 1 + k <= end ? memchr(q + 1, lit[0], (size_t)(end - q - k)) : NULL) {
        if (!memcmp(q, lit, k)) {
            return q;
        }
    }
    return NULL;
}

static bool has(const char *s, const char *end, const char *lit)
{
    return find(s, (size_t)(end - s), lit, strlen(lit)) != NULL;
}

static bool is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static bool starts(const char *w, size_t wl, const char *lit, size_t k)
{
    return wl >= k && !memcmp(w, lit, k);
}

static bool is_blank_line(const char *l, size_t n)
{
    return skip_blank(l, l + n) == l + n;
}

static void set_exc(struct exc *x, const char *t, size_t tl, const char *m, size_t ml)
{
    x->t = t, x->tl = tl, x->m = m, x->ml = ml;
}

/* Lines of a traceback that are not its exception line. */
static bool python_skip(const char *l, size_t ll)
{
    switch (*l) {
    case 'T':
        return starts(l, ll, "Traceback", 9) || starts(l, ll, "The above", 9);
    case 'D':
        return starts(l, ll, "During handling", 15);
    case 'F':
        return starts(l, ll, "File \"", 6);
    default:
        return isspace((unsigned char)*l);
    }
}

/* ---- Python: the last non-indented "Type: message" line after the first Traceback. */
static bool python_exc(const char *s, const char *end, struct exc *x)
{
    const char *tb = find(s, (size_t)(end - s), "Traceback (most recent call last):", 34);
    bool found = false;
    for (const char *l = tb, *next; l && l < end; l = next) {
        size_t ll = line_at(l, end, &next);
        if (!ll || python_skip(l, ll)) {
            continue;
        }
        size_t i = 0;
        while (i < ll && (is_ident(l[i]) || l[i] == '.')) {
            i++;
        }
        if (i && (i == ll || l[i] == ':')) {
            const char *m = i < ll ? l + i + 1 + (i + 1 < ll && l[i + 1] == ' ') : l + i;
            set_exc(x, l, i, m, (size_t)(l + ll - m));
            found = true;
        }
    }
    return found;
}

/* ---- Go: "panic: msg", "fatal error: msg", "http: panic serving ADDR: msg" or "SIGxxx: msg"
 * (maybe after a log.Printf date), confirmed by a "goroutine N [" section after it. */
static bool go_exc(const char *s, const char *end, struct exc *x)
{
    static const struct {
        const char *lead, *type;
    } leads[] = {
        {"panic: ", "panic"}, {"fatal error: ", "fatal error"}, {"http: panic serving ", "panic"}};
    for (const char *l = s, *next; l < end; l = next) {
        size_t ll = line_at(l, end, &next);
        const char *w = l;
        if (ll > 20 && isdigit((unsigned char)l[0]) && l[4] == '/' && l[19] == ' ') {
            w = l + 20; /* "2019/01/15 07:48:05 " */
        }
        size_t wl = ll - (size_t)(w - l);
        for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
            size_t k = strlen(leads[i].lead);
            if (wl < k || memcmp(w, leads[i].lead, k) || !has(next, end, "goroutine ")) {
                continue;
            }
            const char *m = w + k;
            if (i == 2) { /* past the client address */
                const char *c = find(m, wl - k, ": ", 2);
                m = c ? c + 2 : m;
            }
            set_exc(x, leads[i].type, strlen(leads[i].type), m, (size_t)(w + wl - m));
            return true;
        }
        if (wl > 4 && !memcmp(w, "SIG", 3) && memchr(w, ':', wl) && has(next, end, "goroutine ")) {
            const char *c = memchr(w, ':', wl);
            const char *m = skip_blank(c + 1, w + wl);
            set_exc(x, w, (size_t)(c - w), m, (size_t)(w + wl - m));
            return true;
        }
    }
    return false;
}

/* ---- PHP. "exception 'Type' with message 'msg' in /f:1" (PHP 5), "Uncaught Type: msg in
 * /f:1" (PHP 7+), Laravel's "[object] (Type(code: 0): msg at /f:1)". */
static bool php_classic(const char *l, size_t ll, struct exc *x)
{
    const char *e = find(l, ll, "exception '", 11);
    const char *w = e ? find(e, ll - (size_t)(e - l), "' with message '", 16) : NULL;
    if (!w) {
        return false;
    }
    const char *m = w + 16;
    const char *me = find(m, (size_t)(l + ll - m), "' in ", 5);
    set_exc(x, e + 11, (size_t)(w - e - 11), m, (size_t)((me ? me : l + ll) - m));
    return true;
}

static bool php_uncaught(const char *l, size_t ll, struct exc *x)
{
    const char *u = find(l, ll, "Uncaught ", 9);
    const char *o = find(l, ll, "[object] (", 10);
    const char *t = u ? u + 9 : o ? o + 10 : NULL;
    if (!t) {
        return false;
    }
    size_t i = 0;
    while (t + i < l + ll && (is_ident(t[i]) || t[i] == '\\')) {
        i++;
    }
    if (!i || t + i >= l + ll || (t[i] != ':' && t[i] != '(')) {
        return false;
    }
    const char *m = t + i;
    if (*m == '(') { /* "(code: 0): " */
        const char *c = find(m, (size_t)(l + ll - m), "): ", 3);
        m = c ? c + 3 : m;
    } else {
        m = skip_blank(m + 1, l + ll);
    }
    const char *me = find(m, (size_t)(l + ll - m), u ? " in /" : " at /", 5);
    set_exc(x, t, i, m, (size_t)((me ? me : l + ll) - m));
    return true;
}

static bool php_exc(const char *s, const char *end, struct exc *x)
{
    if (!has(s, end, "Stack trace:") && !has(s, end, "[stacktrace]")) {
        return false;
    }
    for (const char *l = s, *next; l < end; l = next) {
        size_t ll = line_at(l, end, &next);
        if (php_classic(l, ll, x) || php_uncaught(l, ll, x)) {
            return true;
        }
    }
    return false;
}

/* ---- Ruby: Rails "Type (message):" and the interpreter's "f.rb:1:in `m': msg (Type)". */
static bool ruby_line(const char *l, size_t ll, struct exc *x)
{
    const char *w = skip_blank(l, l + ll);
    const char *le = l + ll;
    size_t i = 0;
    while (w + i < le && (is_ident(w[i]) || w[i] == ':')) {
        i++;
    }
    if (i && isupper((unsigned char)*w) && w + i + 1 < le && w[i] == ' ' && w[i + 1] == '(') {
        const char *m = w + i + 2;
        const char *me = le;
        while (me > m && me[-1] != ')') {
            me--;
        }
        set_exc(x, w, i, m, me > m ? (size_t)(me - 1 - m) : 0);
        return true;
    }
    const char *in = find(l, ll, ":in ", 4);
    const char *c = in ? find(in, (size_t)(le - in), "': ", 3) : NULL;
    if (c && ll > 2 && le[-1] == ')') {
        const char *t = le - 1;
        while (t > c && t[-1] != '(') {
            t--;
        }
        const char *me = t - 1;
        while (me > c + 3 && me[-1] == ' ') {
            me--;
        }
        if (t > c + 3) {
            set_exc(x, t, (size_t)(le - 1 - t), c + 3, (size_t)(me - (c + 3)));
            return true;
        }
    }
    return false;
}

static bool ruby_exc(const char *s, const char *end, struct exc *x)
{
    if (!has(s, end, ".rb:")) {
        return false;
    }
    for (const char *l = s, *next; l < end; l = next) {
        size_t ll = line_at(l, end, &next);
        const char *nl = next;
        size_t nll = nl < end ? line_at(nl, end, &nl) : 0;
        const char *n2 = next;
        if (nll && is_blank_line(n2, nll)) { /* Rails puts a blank line before frames */
            n2 = nl;
            nll = n2 < end ? line_at(n2, end, &nl) : 0;
        }
        if (nll && find(n2, nll, ".rb:", 4) && ruby_line(l, ll, x)) {
            return true;
        }
    }
    return false;
}

/* ---- Java and .NET: "java.lang.IllegalStateException: msg" / "System.X: msg". */
static bool exception_line(const char *s, size_t n, struct exc *x)
{
    size_t i = 0, dots = 0;
    while (i < n && (is_ident(s[i]) || s[i] == '.')) {
        dots += s[i] == '.';
        i++;
    }
    if (!i || !dots || !isalpha((unsigned char)s[0])) {
        return false;
    }
    if (i < n && !(s[i] == ':' || s[i] == ' ')) {
        return false;
    }
    if (i + 1 < n && s[i] == ':') {
        const char *m = s + i + 1 + (s[i + 1] == ' ');
        set_exc(x, s, i, m, n - (size_t)(m - s));
    } else {
        set_exc(x, s, i, s + i, 0);
    }
    return true;
}

/* "... Exception in thread "main" java.lang.X: msg", JUL's "Class: RuntimeException: msg":
 * the first word ending in Exception or Error that is followed by ':' or the line end. */
static bool embedded_exception(const char *l, size_t ll, struct exc *x)
{
    for (size_t i = 0; i < ll;) {
        size_t j = i;
        while (j < ll && (is_ident(l[j]) || l[j] == '.')) {
            j++;
        }
        bool typed = (j - i > 5 && !memcmp(l + j - 5, "Error", 5)) ||
                     (j - i > 9 && !memcmp(l + j - 9, "Exception", 9));
        if (typed && (j == ll || l[j] == ':') && isalpha((unsigned char)l[i])) {
            const char *m = j < ll ? skip_blank(l + j + 1, l + ll) : l + ll;
            set_exc(x, l + i, j - i, m, (size_t)(l + ll - m));
            return true;
        }
        i = j + 1;
    }
    return false;
}

/* A stack frame line of Java, .NET or JavaScript: "at ...", "... N more". */
static bool frame_line(const char *l, const char *end)
{
    const char *w = skip_blank(l, end);
    return (end - w > 3 && !memcmp(w, "at ", 3) && w > l) ||
           (end - w > 4 && !memcmp(w, "... ", 4) && isdigit((unsigned char)w[4]));
}

/* The end of the message of an exception whose line ends at msg_end: the message may go on
 * over more lines until the first frame (within 50 lines). NULL without a frame. */
static const char *java_message_end(const char *msg_end, const char *next, const char *end)
{
    for (int k = 0; k < 50 && next < end; k++) {
        if (frame_line(next, end)) {
            return msg_end;
        }
        const char *qe = memchr(next, '\n', (size_t)(end - next));
        if (!qe) {
            return NULL;
        }
        msg_end = qe; /* the message continues on this line */
        next = qe + 1;
    }
    return NULL;
}

/* The first exception line followed by a frame, possibly after more lines of its message.
 * A trace whose first line has no type (a bare message) gets the first "Caused by:". */
/* The exception of the line at l (and its message up to the first frame); *next gets the
 * following line. */
static bool java_line(const char *l, const char *end, const char **next, struct exc *x)
{
    size_t ll = line_at(l, end, next);
    const char *lt = skip_blank(l, l + ll); /* Tomcat JULI indents it by a space */
    if (ll - (size_t)(lt - l) > 11 && !memcmp(lt, "Caused by: ", 11)) {
        lt += 11;
    }
    if (ll < 2 || !(exception_line(lt, ll - (size_t)(lt - l), x) ||
                    (*next < end && frame_line(*next, end) && embedded_exception(l, ll, x)))) {
        return false;
    }
    const char *msg_end = java_message_end(x->m + x->ml, *next, end);
    if (!msg_end) {
        return false;
    }
    while (msg_end > x->m && (msg_end[-1] == '\n' || msg_end[-1] == '\r' || msg_end[-1] == ' ')) {
        msg_end--;
    }
    x->ml = msg_end > x->m ? (size_t)(msg_end - x->m) : 0;
    return true;
}

static bool java_exc(const char *s, const char *end, struct exc *x)
{
    for (const char *l = s, *next; l < end; l = next) {
        if (java_line(l, end, &next, x)) {
            return true;
        }
    }
    return false;
}

/* ---- Node.js / JavaScript: "TypeError: msg" (no package dots) right before "at" frames. */
static bool node_exc(const char *s, const char *end, struct exc *x)
{
    for (const char *l = s, *next; l < end; l = next) {
        size_t ll = line_at(l, end, &next);
        const char *w = skip_blank(l, l + ll);
        if (ll - (size_t)(w - l) > 9 && !memcmp(w, "Uncaught ", 9)) {
            w += 9;
        }
        size_t wl = ll - (size_t)(w - l), i = 0;
        while (i < wl && is_ident(w[i])) {
            i++;
        }
        if (!i || !isupper((unsigned char)*w) || (i < wl && w[i] != ':') || next >= end ||
            !frame_line(next, end)) {
            continue;
        }
        const char *m = i < wl ? skip_blank(w + i + 1, w + wl) : w + i;
        set_exc(x, w, i, m, (size_t)(w + wl - m));
        return true;
    }
    return false;
}

/* What the lines of a trace begin with: decides which detectors can match. */
enum {
    F_FRAME = 1,  /* "at ..." or "... N more": Java, .NET, JavaScript */
    F_PYTHON = 2, /* "Traceback (", "File \"" */
    F_GO = 4,     /* "goroutine " */
    F_PHP = 8,    /* "#N ", "Stack trace:", "[stacktrace]" */
    F_RUBY = 16,  /* "from ...", a "file.rb:" frame (looked for when nothing else is) */
};

static unsigned line_feature(const char *w, size_t wl)
{
    if (starts(w, wl, "at ", 3) ||
        (starts(w, wl, "... ", 4) && wl > 4 && isdigit((unsigned char)w[4]))) {
        return F_FRAME;
    }
    if (starts(w, wl, "Traceback (", 11) || starts(w, wl, "File \"", 6)) {
        return F_PYTHON;
    }
    if (starts(w, wl, "goroutine ", 10)) {
        return F_GO;
    }
    if ((wl > 1 && w[0] == '#' && isdigit((unsigned char)w[1])) ||
        starts(w, wl, "Stack trace:", 12) || starts(w, wl, "[stacktrace]", 12)) {
        return F_PHP;
    }
    return 0;
}

/* The features of the trace's lines; stops at the first line that has one of stop. */
static unsigned features(const char *s, const char *end, unsigned stop)
{
    unsigned f = 0;
    for (const char *l = s, *next; l < end && !(f & stop); l = next) {
        size_t ll = line_at(l, end, &next);
        const char *w = skip_blank(l, l + ll);
        f |= line_feature(w, (size_t)(l + ll - w));
    }
    if (f) {
        return f;
    }
    for (const char *l = s, *next; l < end; l = next) { /* Ruby frames: "from ", "x.rb:" */
        size_t ll = line_at(l, end, &next);
        const char *w = skip_blank(l, l + ll);
        if (starts(w, (size_t)(l + ll - w), "from ", 5) || find(l, ll, ".rb:", 4)) {
            return F_RUBY;
        }
    }
    return 0;
}

static const struct {
    unsigned needs; /* any of these features */
    bool (*find)(const char *s, const char *end, struct exc *x);
} detectors[] = {
    {F_PYTHON, python_exc}, {F_GO, go_exc},      {F_PHP, php_exc},
    {F_RUBY, ruby_exc},     {F_FRAME, java_exc}, {F_FRAME, node_exc},
};

/* A type logged inside JSON (Laravel's context) has its backslashes doubled: undone. */
static void put_type(struct lf_parser *p, const char *t, size_t tl)
{
    char *o = find(t, tl, "\\\\", 2) ? lf_scratch_alloc(p, tl) : NULL;
    if (!o) {
        lf_f_str(p, "error.type", t, tl);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < tl; i++) {
        o[k++] = t[i];
        i += t[i] == '\\' && i + 1 < tl && t[i + 1] == '\\';
    }
    p->scratch.len -= tl - k;
    lf_f_str(p, "error.type", o, k);
}

#define EXC_SPAN_MAX (1u << 30) /* no record is longer (multiline.max_bytes at most) */

static void put_exc(struct lf_parser *p, const struct exc *x, const char *trace, const char *end)
{
    /* a detector's spans must be sane: a length that wrapped around (found by the fuzz
     * target on odd input) or a span that starts in the trace and ends past it gives no
     * error fields rather than a read past the record. A type may also point at a
     * constant ("panic"), outside the trace: then only its length is checked. */
    if (x->tl > EXC_SPAN_MAX || x->ml > EXC_SPAN_MAX ||
        (x->t >= trace && x->t <= end && x->tl > (size_t)(end - x->t)) ||
        (x->m >= trace && x->m <= end && x->ml > (size_t)(end - x->m))) {
        return;
    }
    put_type(p, x->t, x->tl);
    lf_f_str(p, "error.message", x->m, x->ml);
    lf_f_str(p, "error.stack_trace", trace, (size_t)(end - trace));
}

void lf_error_details(struct lf_parser *p, const char *head, size_t hn, const char *rest, size_t n)
{
    const char *trace = rest, *end = rest + n;
    const char *tb = head ? find(head, hn, "Traceback (most recent call last):", 34) : NULL;
    if (tb) {
        trace = tb; /* "... error: Traceback (most recent call last):" ends the header line */
    }
    if (trace >= end) {
        return;
    }
    struct exc x;
    const char *second;
    /* the common cases first: a Python traceback, or "pkg.Type: message" then a frame
     * (Java, .NET), which no other language's trace starts with */
    if (starts(trace, (size_t)(end - trace), "Traceback (", 11) && python_exc(trace, end, &x)) {
        put_exc(p, &x, trace, end);
        return;
    }
    if (java_line(trace, end, &second, &x)) {
        put_exc(p, &x, trace, end);
        return;
    }
    /* a Python traceback decides at its first line (the first detector) */
    unsigned f = features(trace, end, F_PYTHON);
    if ((f & F_PYTHON) && python_exc(trace, end, &x)) {
        put_exc(p, &x, trace, end);
        return;
    }
    if (f & F_PYTHON) {
        f = features(trace, end, 0);
    }
    for (size_t i = 0; f && i < sizeof(detectors) / sizeof(detectors[0]); i++) {
        if ((detectors[i].needs & f) && detectors[i].find(trace, end, &x)) {
            put_exc(p, &x, trace, end);
            return;
        }
    }
}
