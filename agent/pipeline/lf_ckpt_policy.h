/* lf_ckpt_policy.h - when and what to write to the checkpoint store.
 *
 * Beside the store (lf_ckpt.h) and the tracker: it keeps each live file identity's
 * entry at the tracker's committed offset (the inputs tell it which identities live
 * where through the tail sink's remember/forget), and saves the store when it is due:
 * agent.checkpoint_interval after the last save, asked when outcomes arrive and on the
 * agent's tick at the time lf_ckpt_policy_next_ms gives (ticks are at least 100 ms apart),
 * so a committed offset reaches the file at most checkpoint_interval + 100 ms after its
 * acknowledgement (docs/lifecycle.md); a store nothing moved in is not written, and asks
 * for no wake-up (no system call while idle). Also at shutdown and before a reload swaps
 * inputs.
 * A save that fails is logged and retried at the next interval; the old file stays valid
 * meanwhile (the store writes atomically).
 * Thread: main thread only.
 */
#ifndef LF_CKPT_POLICY_H
#define LF_CKPT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_ckpt.h"
#include "lf_tracker.h"
#include "logferry/lf_log.h"
#include "tail.h"

struct lf_ckpt_policy {
    struct lf_ckpt_store *store;  /* borrowed */
    struct lf_tracker *tracker;   /* borrowed */
    const struct lf_log_ctx *log; /* borrowed */
    int64_t interval_ms;
    int64_t next_ms;
    uint64_t saves, failed_saves;
};

/* Sets the policy up over a store and a tracker (both borrowed, outliving it). */
void lf_ckpt_policy_init(struct lf_ckpt_policy *cp, struct lf_ckpt_store *store,
                         struct lf_tracker *tracker, int64_t interval_ms,
                         const struct lf_log_ctx *log, int64_t now_ms);
/* True when the interval has passed since the last save. */
bool lf_ckpt_policy_due(const struct lf_ckpt_policy *cp, int64_t now_ms);
/* When a save has work: the end of the interval if a committed offset moved or the store
 * is dirty since the last save (a failed one included), else INT64_MAX (none). */
int64_t lf_ckpt_policy_next_ms(const struct lf_ckpt_policy *cp);
/* Writes the store (if anything changed) and starts the next interval; the caller has
 * had every live file remembered first (lf_tail_checkpoint). LF_OK or the store's error
 * (logged). */
int lf_ckpt_policy_save(struct lf_ckpt_policy *cp, int64_t now_ms);

/* Fills the file bookkeeping of a tail sink (files_ctx = cp; file_open, file_close,
 * pending, remember, forget) with this policy and its tracker. emit and emit_ctx are left
 * to the caller (the router). */
void lf_ckpt_policy_sink(struct lf_ckpt_policy *cp, struct lf_tail_sink *sink);

#endif
