/* lf_reload.h - what a configuration reload changes: old and new lf_config compared per
 * named input and output.
 *
 * Pure comparison, no side effect: lf_reload_diff matches inputs and outputs by name and
 * compares every key of their option tables (an output's plugin keys too), so the agent
 * knows which to keep running untouched, which to drain and restart, start or stop. The
 * top-level buffer and breaker sections belong to every output: a change there changes
 * them all. Agent-level keys that cannot change in a running agent are listed for the
 * "restart needed" message. Thread: any; both configs borrowed for the call.
 */
#ifndef LF_RELOAD_H
#define LF_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "lf_conf.h"

enum lf_reload_fate {
    LF_RELOAD_SAME = 0, /* identical: keep the running one */
    LF_RELOAD_CHANGED,  /* same name, different keys: drain and restart */
    LF_RELOAD_ADDED,    /* new name: start */
};

struct lf_reload_counts {
    size_t added, removed, changed, same;
};

struct lf_reload_plan {
    /* new_from[i]: index in the old config of the new config's item i, -1 if added.
     * fate[i]: its fate. old_removed[j]: old item j has no counterpart. Owned (free with
     * lf_reload_plan_free). */
    int *out_from, *in_from;
    enum lf_reload_fate *out_fate, *in_fate;
    bool *out_removed, *in_removed;
    struct lf_reload_counts outs, ins;
    /* agent-level keys that differ and need a restart, comma separated ("" none) */
    char restart_keys[256];
};

/* Compares old and new. LF_OK (plan filled) or LF_ENOMEM (plan zeroed). */
int lf_reload_diff(const struct lf_config *old, const struct lf_config *neu,
                   struct lf_reload_plan *plan);
/* Gives neu the old values of the agent keys that cannot change live (those of
 * restart_keys), so that neu can become the running configuration. LF_OK or LF_ENOMEM
 * (neu then partly updated: do not run it). */
int lf_reload_keep_agent(const struct lf_config *old, struct lf_config *neu);
void lf_reload_plan_free(struct lf_reload_plan *plan);
/* True if the plan changes nothing in inputs or outputs. */
bool lf_reload_plan_empty(const struct lf_reload_plan *plan);
/* "outputs +1 -0 ~1 =2, inputs +0 -1 ~0 =3" into buf. */
void lf_reload_summary(const struct lf_reload_plan *plan, char *buf, size_t len);
/* True if the two objects described by table hold the same values (strings, lists,
 * maps and sections compared by content). */
bool lf_opt_equal(const struct lf_opt *table, const void *a, const void *b);

#endif
