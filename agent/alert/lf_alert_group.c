/* lf_alert_group.c - alert events grouped per kind and rate-limited, and the POST body.
 *
 * A group opens with its first event and is due LF_ALERT_GROUP_WAIT_MS later (or after
 * min_interval if that is shorter), and never sooner than min_interval after the last
 * POST of its kind. Pure logic: the alert thread calls it, the unit tests too. */
#include <stdio.h>
#include <string.h>

#include "lf_alert.h"
#include "logferry/lf_err.h"
#include "parse_int.h"

static const char *const group_kinds[LF_ALERT_KINDS] = {
    "dead_letter", "breaker_open", "breaker_close", "spool_high", "spool_drop"};

const char *lf_alert_kind_name(enum lf_alert_kind k)
{
    return k < LF_ALERT_KINDS ? group_kinds[k] : "unknown";
}

void lf_alert_groups_init(struct lf_alert_groups *gs, int64_t min_interval_ms)
{
    memset(gs, 0, sizeof(*gs));
    gs->min_interval_ms = min_interval_ms;
}

void lf_alert_groups_add(struct lf_alert_groups *gs, const struct lf_alert_event *ev,
                         int64_t now_ms)
{
    if (ev->kind >= LF_ALERT_KINDS) {
        return;
    }
    struct lf_alert_group *g = &gs->g[ev->kind];
    if (!g->opened_ms) {
        g->opened_ms = now_ms ? now_ms : 1;
    }
    g->count += ev->count;
    if (ev->output < LF_ALERT_MAX_OUTPUTS) {
        g->per_output[ev->output] += ev->count;
    }
}

int64_t lf_alert_groups_due(const struct lf_alert_groups *gs, enum lf_alert_kind k)
{
    const struct lf_alert_group *g = &gs->g[k];
    if (!g->opened_ms) {
        return -1;
    }
    int64_t wait =
        gs->min_interval_ms < LF_ALERT_GROUP_WAIT_MS ? gs->min_interval_ms : LF_ALERT_GROUP_WAIT_MS;
    int64_t due = g->opened_ms + wait;
    if (g->sent_ms && g->sent_ms + gs->min_interval_ms > due) {
        due = g->sent_ms + gs->min_interval_ms;
    }
    return due;
}

void lf_alert_groups_sent(struct lf_alert_groups *gs, enum lf_alert_kind k, bool ok, int64_t now_ms)
{
    struct lf_alert_group *g = &gs->g[k];
    g->sent_ms = now_ms;
    if (ok) {
        g->count = 0;
        g->opened_ms = 0;
        memset(g->per_output, 0, sizeof(g->per_output));
    }
}

static const char *const group_what[LF_ALERT_KINDS] = {
    "records dead-lettered", "circuit breaker opened", "circuit breaker closed",
    "spool above 80% of buffer.max_size", "records dropped by buffer.when_full: drop_oldest"};

/* "o1: 3, o2: 5" */
static int group_outputs(const struct lf_alert_group *g, const char *const *names, size_t n,
                         struct lf_buf *b)
{
    int rc = LF_OK;
    const char *sep = "";
    for (size_t i = 0; i < n && i < LF_ALERT_MAX_OUTPUTS && rc == LF_OK; i++) {
        if (g->per_output[i]) {
            rc =
                lf_buf_printf(b, "%s%s: %llu", sep, names[i], (unsigned long long)g->per_output[i]);
            sep = ", ";
        }
    }
    return rc;
}

static int group_text(const struct lf_alert_groups *gs, enum lf_alert_kind k, const char *agent,
                      const char *const *names, size_t n, struct lf_buf *b)
{
    const struct lf_alert_group *g = &gs->g[k];
    int rc = lf_buf_printf(b, "logferry %s: %s (%llu) - ", agent, group_what[k],
                           (unsigned long long)g->count);
    rc = rc == LF_OK ? group_outputs(g, names, n, b) : rc;
    return rc;
}

/* Appends the value of placeholder `name` (JSON-escaped, no quotes). */
static int group_value(const struct lf_alert_groups *gs, enum lf_alert_kind k, const char *name,
                       size_t nlen, const char *agent, const char *const *names, size_t n,
                       struct lf_buf *out)
{
    struct lf_buf v;
    int rc = LF_OK;
    lf_buf_init(&v, 0);
    if (nlen == 4 && !memcmp(name, "kind", 4)) {
        rc = lf_buf_append_str(&v, lf_alert_kind_name(k));
    } else if (nlen == 5 && !memcmp(name, "agent", 5)) {
        rc = lf_buf_append_str(&v, agent);
    } else if (nlen == 5 && !memcmp(name, "count", 5)) {
        rc = lf_buf_printf(&v, "%llu", (unsigned long long)gs->g[k].count);
    } else if (nlen == 7 && !memcmp(name, "outputs", 7)) {
        rc = group_outputs(&gs->g[k], names, n, &v);
    } else if (nlen == 4 && !memcmp(name, "text", 4)) {
        rc = group_text(gs, k, agent, names, n, &v);
    }
    rc = rc == LF_OK ? lf_buf_append_json_escaped(out, v.data ? v.data : "", v.len) : rc;
    lf_buf_fini(&v);
    return rc;
}

int lf_alert_render(const struct lf_alert_groups *gs, enum lf_alert_kind k, const char *tmpl,
                    const char *agent, const char *const *names, size_t n, struct lf_buf *b)
{
    const char *p = tmpl ? tmpl : "{\"text\": \"{{text}}\"}";
    int rc = LF_OK;
    while (*p && rc == LF_OK) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            rc = lf_buf_append_str(b, p);
            break;
        }
        rc = lf_buf_append(b, p, (size_t)(open - p));
        rc = rc == LF_OK
                 ? group_value(gs, k, open + 2, (size_t)(close - open - 2), agent, names, n, b)
                 : rc;
        p = close + 2;
    }
    return rc;
}

const char *lf_alert_check_template(const char *tmpl)
{
    struct lf_alert_groups gs;
    struct lf_buf b;
    const char *names[1] = {"output"};
    const char *err = NULL;
    lf_alert_groups_init(&gs, 0);
    lf_buf_init(&b, 0);
    if (lf_alert_render(&gs, LF_ALERT_DEAD_LETTER, tmpl, "agent", names, 1, &b) != LF_OK) {
        err = "out of memory";
    } else {
        const char *s = lf_json_ws(b.data ? b.data : "", b.data ? b.data + b.len : "");
        const char *end = b.data ? b.data + b.len : s;
        const char *e = s < end && *s == '{' ? lf_json_skip(s, end, 0) : NULL;
        if (!e || lf_json_ws(e, end) != end) {
            err = "alerts.template must render to one JSON object (placeholders go inside "
                  "strings, or {{count}} as a number)";
        }
    }
    lf_buf_fini(&b);
    return err;
}

const char *lf_alert_check_conf(const struct lf_alerts_conf *c)
{
    if (c->webhook && strncmp(c->webhook, "http://", 7) != 0 &&
        strncmp(c->webhook, "https://", 8) != 0) {
        return "alerts.webhook must be an http:// or https:// URL";
    }
    return c->body_template ? lf_alert_check_template(c->body_template) : NULL;
}

void lf_alert_redact(const char *url, char *buf, size_t cap)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep) {
        snprintf(buf, cap, "(webhook)");
        return;
    }
    const char *host = sep + 3;
    const char *at = strpbrk(host, "@/?#");
    if (at && *at == '@') { /* user:password@ is never shown */
        host = at + 1;
    }
    snprintf(buf, cap, "%.*s%.*s/...", (int)(sep + 3 - url), url, (int)strcspn(host, "/?#"), host);
}
