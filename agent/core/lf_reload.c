/* lf_reload.c - the reload diff (see lf_reload.h). */
#include "lf_reload.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_err.h"

/* Agent keys a running agent takes from a reloaded config; the others need a restart. */
static const char *const reload_live_agent_keys[] = {"shutdown_timeout", "checkpoint_interval",
                                                     "memory_limit", NULL};

static bool reload_str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool reload_list_eq(const struct lf_list *a, const struct lf_list *b)
{
    if (a->n != b->n || !a->str != !b->str || !a->num != !b->num) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if ((a->str && !reload_str_eq(a->str[i], b->str[i])) ||
            (a->num && a->num[i] != b->num[i])) {
            return false;
        }
    }
    return true;
}

static bool reload_map_eq(const struct lf_kvlist *a, const struct lf_kvlist *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!reload_str_eq(a->v[i].key, b->v[i].key) ||
            !reload_str_eq(a->v[i].value, b->v[i].value)) {
            return false;
        }
    }
    return true;
}

static bool reload_seclist_eq(const struct lf_opt *o, const struct lf_seclist *a,
                              const struct lf_seclist *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!lf_opt_equal(o->sub, (const char *)a->v + i * o->sub_size,
                          (const char *)b->v + i * o->sub_size)) {
            return false;
        }
    }
    return true;
}

static bool reload_value_eq(const struct lf_opt *o, const char *a, const char *b)
{
    switch (o->type) {
    case LF_OPT_STR:
        return reload_str_eq(*(char *const *)a, *(char *const *)b);
    case LF_OPT_INT:
    case LF_OPT_DURATION:
        return *(const int64_t *)a == *(const int64_t *)b;
    case LF_OPT_SIZE:
        return *(const uint64_t *)a == *(const uint64_t *)b;
    case LF_OPT_BOOL:
        return *(const bool *)a == *(const bool *)b;
    case LF_OPT_ENUM:
        return *(const int *)a == *(const int *)b;
    case LF_OPT_LIST:
        return reload_list_eq((const struct lf_list *)a, (const struct lf_list *)b);
    case LF_OPT_MAP:
        return reload_map_eq((const struct lf_kvlist *)a, (const struct lf_kvlist *)b);
    case LF_OPT_SECTION:
        return lf_opt_equal(o->sub, a, b);
    case LF_OPT_SECTION_LIST:
        return reload_seclist_eq(o, (const struct lf_seclist *)a, (const struct lf_seclist *)b);
    }
    return false;
}

bool lf_opt_equal(const struct lf_opt *table, const void *a, const void *b)
{
    for (const struct lf_opt *o = table; o && o->name; o++) {
        if (!reload_value_eq(o, (const char *)a + o->offset, (const char *)b + o->offset)) {
            return false;
        }
    }
    return true;
}

/* The table of a top-level section of lf_config_options, by name. */
static const struct lf_opt *reload_section(const char *name)
{
    for (const struct lf_opt *o = lf_config_options; o->name; o++) {
        if (strcmp(o->name, name) == 0) {
            return o;
        }
    }
    return NULL;
}

static bool reload_output_eq(const struct lf_output_conf *a, const struct lf_output_conf *b)
{
    return reload_str_eq(a->plugin, b->plugin) && a->handle.desc == b->handle.desc &&
           lf_opt_equal(lf_output_core_options, a, b) &&
           lf_opt_equal(a->handle.desc ? a->handle.desc->options : NULL, a->plugin_config,
                        b->plugin_config);
}

/* Index of the item named name in a section list (elements of size, name first), -1. */
static int reload_find(const struct lf_seclist *l, size_t size, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (reload_str_eq(*(char *const *)((const char *)l->v + i * size), name)) {
            return (int)i;
        }
    }
    return -1;
}

/* Fills from/fate/removed and the counts for one kind (inputs or outputs). all_changed:
 * a shared section changed, every kept item restarts. */
static void reload_match(const struct lf_seclist *old, const struct lf_seclist *neu, size_t size,
                         bool (*eq)(const void *, const void *), bool all_changed, int *from,
                         enum lf_reload_fate *fate, bool *removed, struct lf_reload_counts *c)
{
    for (size_t j = 0; j < old->n; j++) {
        removed[j] = true;
    }
    for (size_t i = 0; i < neu->n; i++) {
        const char *elt = (const char *)neu->v + i * size;
        from[i] = reload_find(old, size, *(char *const *)elt);
        if (from[i] < 0) {
            fate[i] = LF_RELOAD_ADDED;
            c->added++;
            continue;
        }
        removed[from[i]] = false;
        bool same = !all_changed && eq((const char *)old->v + (size_t)from[i] * size, elt);
        fate[i] = same ? LF_RELOAD_SAME : LF_RELOAD_CHANGED;
        *(same ? &c->same : &c->changed) += 1;
    }
    for (size_t j = 0; j < old->n; j++) {
        c->removed += removed[j];
    }
}

static bool reload_in_eq(const void *a, const void *b)
{
    return lf_opt_equal(reload_section("inputs")->sub, a, b);
}

static bool reload_out_eq(const void *a, const void *b)
{
    return reload_output_eq(a, b);
}

static bool reload_is_live(const char *key)
{
    for (const char *const *k = reload_live_agent_keys; *k; k++) {
        if (strcmp(*k, key) == 0) {
            return true;
        }
    }
    return false;
}

/* The agent keys that differ and cannot change live, into plan->restart_keys. The
 * output plugins get agent.name, state_dir and log_level: those are restart keys. */
static void reload_agent_keys(const struct lf_config *old, const struct lf_config *neu,
                              struct lf_reload_plan *plan)
{
    size_t len = 0;
    for (const struct lf_opt *o = reload_section("agent")->sub; o->name; o++) {
        const char *a = (const char *)&old->agent + o->offset;
        const char *b = (const char *)&neu->agent + o->offset;
        if (reload_is_live(o->name) || reload_value_eq(o, a, b)) {
            continue;
        }
        int n = snprintf(plan->restart_keys + len, sizeof(plan->restart_keys) - len, "%sagent.%s",
                         len ? ", " : "", o->name);
        if (n < 0 || (size_t)n >= sizeof(plan->restart_keys) - len) {
            break;
        }
        len += (size_t)n;
    }
}

/* Copies the value of o from src to dst (dst's own value freed). LF_OK, LF_ENOMEM, or
 * LF_EINVAL for a type the agent section does not use. */
static int reload_copy_value(const struct lf_opt *o, char *dst, const char *src)
{
    switch (o->type) {
    case LF_OPT_STR: {
        const char *from = *(char *const *)src;
        char *dup = from ? strdup(from) : NULL;
        if (from && !dup) {
            return LF_ENOMEM;
        }
        free(*(char **)dst);
        *(char **)dst = dup;
        return LF_OK;
    }
    case LF_OPT_INT:
    case LF_OPT_DURATION:
    case LF_OPT_SIZE:
        memcpy(dst, src, sizeof(int64_t));
        return LF_OK;
    case LF_OPT_BOOL:
        memcpy(dst, src, sizeof(bool));
        return LF_OK;
    case LF_OPT_ENUM:
        memcpy(dst, src, sizeof(int));
        return LF_OK;
    case LF_OPT_SECTION:
        for (const struct lf_opt *s = o->sub; s->name; s++) {
            int rc = reload_copy_value(s, dst + s->offset, src + s->offset);
            if (rc != LF_OK) {
                return rc;
            }
        }
        return LF_OK;
    default:
        return LF_EINVAL;
    }
}

int lf_reload_keep_agent(const struct lf_config *old, struct lf_config *neu)
{
    for (const struct lf_opt *o = reload_section("agent")->sub; o->name; o++) {
        const char *a = (const char *)&old->agent + o->offset;
        char *b = (char *)&neu->agent + o->offset;
        if (reload_is_live(o->name) || reload_value_eq(o, a, b)) {
            continue;
        }
        int rc = reload_copy_value(o, b, a);
        if (rc != LF_OK) {
            return rc;
        }
    }
    return LF_OK;
}

int lf_reload_diff(const struct lf_config *old, const struct lf_config *neu,
                   struct lf_reload_plan *plan)
{
    size_t no = neu->outputs.n + 1, ni = neu->inputs.n + 1;
    *plan = (struct lf_reload_plan){
        .out_from = calloc(no, sizeof(int)),
        .in_from = calloc(ni, sizeof(int)),
        .out_fate = calloc(no, sizeof(enum lf_reload_fate)),
        .in_fate = calloc(ni, sizeof(enum lf_reload_fate)),
        .out_removed = calloc(old->outputs.n + 1, sizeof(bool)),
        .in_removed = calloc(old->inputs.n + 1, sizeof(bool)),
    };
    if (!plan->out_from || !plan->in_from || !plan->out_fate || !plan->in_fate ||
        !plan->out_removed || !plan->in_removed) {
        lf_reload_plan_free(plan);
        return LF_ENOMEM;
    }
    bool shared = !lf_opt_equal(reload_section("buffer")->sub, &old->buffer, &neu->buffer) ||
                  !lf_opt_equal(reload_section("breaker")->sub, &old->breaker, &neu->breaker);
    reload_match(&old->outputs, &neu->outputs, sizeof(struct lf_output_conf), reload_out_eq, shared,
                 plan->out_from, plan->out_fate, plan->out_removed, &plan->outs);
    reload_match(&old->inputs, &neu->inputs, sizeof(struct lf_input_conf), reload_in_eq, false,
                 plan->in_from, plan->in_fate, plan->in_removed, &plan->ins);
    reload_agent_keys(old, neu, plan);
    return LF_OK;
}

void lf_reload_plan_free(struct lf_reload_plan *plan)
{
    free(plan->out_from);
    free(plan->in_from);
    free(plan->out_fate);
    free(plan->in_fate);
    free(plan->out_removed);
    free(plan->in_removed);
    *plan = (struct lf_reload_plan){0};
}

bool lf_reload_plan_empty(const struct lf_reload_plan *plan)
{
    return plan->outs.added + plan->outs.removed + plan->outs.changed + plan->ins.added +
               plan->ins.removed + plan->ins.changed ==
           0;
}

void lf_reload_summary(const struct lf_reload_plan *plan, char *buf, size_t len)
{
    const struct lf_reload_counts *o = &plan->outs, *i = &plan->ins;
    snprintf(buf, len, "outputs +%zu -%zu ~%zu =%zu, inputs +%zu -%zu ~%zu =%zu", o->added,
             o->removed, o->changed, o->same, i->added, i->removed, i->changed, i->same);
}
