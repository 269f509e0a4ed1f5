/* lf_cmd_dlq.h - `logferry dlq`: the local dead-letter store read, selected and rewritten.
 *
 * The store of an output is <state_dir>/dead-letter/<output>.jsonl, one JSON object a line
 * (written by the agent, lf_dlq.c). Removal is two-step and crash-safe:
 *   1. the ids of records to remove are appended (fsynced) to <output>.jsonl.done, the
 *      journal; readers hide every line whose id is in it;
 *   2. compaction, under an exclusive flock of the store (the agent's append takes the
 *      same lock), writes the lines still live to a temporary file, fsyncs it, renames it
 *      over the store and empties the journal. The agent notices the rename (its file has
 *      no link left) and reopens the path before its next append.
 * A replay or purge holds an exclusive flock of the journal for its whole run, so two of
 * them never work on one output at once. Reads take a shared flock of the store.
 */
#ifndef LF_CMD_DLQ_H
#define LF_CMD_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lf_config;

/* sysexits codes of `logferry dlq` beyond those of lf_agent.h */
#define LF_EXIT_DATAERR  65 /* an ID that is in no store */
#define LF_EXIT_NOINPUT  66 /* no store for the output asked for */
#define LF_EXIT_TEMPFAIL 75 /* another replay/purge runs; records left after failures */

/* One line of the store. Strings are decoded and owned (NULL when the key is missing);
 * rec points into line (the original record's bytes, not copied). Times are UTC ms, 0
 * when missing or unreadable; code and attempts are -1 when missing. */
struct lf_dlq_item {
    char *line; /* owned, without the newline */
    size_t len;
    size_t lineno;
    char *output, *id, *reason, *error, *destination;
    int64_t time_ms, first_ms, last_ms;
    int64_t code, attempts;
    const char *rec;
    size_t rec_len;
};

struct lf_dlq_store {
    char *path;    /* <state_dir>/dead-letter/<output>.jsonl */
    char *journal; /* path + ".done" */
    char *output;
    struct lf_dlq_item *v; /* live entries, file order */
    size_t n, cap;
    size_t corrupt; /* lines skipped (reported on the err stream) */
    size_t hidden;  /* lines hidden by the journal */
    char **done;    /* ids in the journal, sorted */
    size_t ndone;
    int journal_fd;  /* >= 0 while the journal lock is held */
    bool from_topic; /* read from a Kafka topic (--from-topic): no file to compact */
};

/* Parses one line (n bytes, no newline) into e (line copied). false: not a store line
 * (e is left empty). Missing keys are fine; "id" and "record" are required. */
bool lf_dlq_entry_parse(const char *line, size_t n, size_t lineno, struct lf_dlq_item *e);
void lf_dlq_entry_fini(struct lf_dlq_item *e);
/* "2026-12-03T12:00:00.123Z" (fraction optional) to UTC ms; -1 if it is not one. */
int64_t lf_dlq_parse_time(const char *s);
/* "30s", "15m", "2h", "7d", "500ms" to ms; -1 if it is not one. */
int64_t lf_dlq_parse_duration(const char *s);

/* Opens and reads the store at path (output names the store), with a shared lock, hiding
 * journaled ids; corrupt lines are skipped and reported on err. LF_OK, LF_ENOTFOUND (no
 * file), LF_EIO, LF_ENOMEM. s is always fit for lf_dlq_store_fini. */
int lf_dlq_store_load(const char *path, const char *output, FILE *err, struct lf_dlq_store *s);
void lf_dlq_store_fini(struct lf_dlq_store *s);
/* An empty store for path (nothing read but its journal), to be filled with
 * lf_dlq_store_add. LF_OK or LF_ENOMEM/LF_EIO. */
int lf_dlq_store_init(const char *path, const char *output, struct lf_dlq_store *s);
/* Appends e (moved into the store; e is left empty on LF_OK). LF_OK or LF_ENOMEM. */
int lf_dlq_store_add(struct lf_dlq_store *s, struct lf_dlq_item *e);
/* The dead letters of Kafka topic `topic` (lf_cmd_dlq_topic.c), from the brokers of the
 * kafka output `output` of cfg (NULL: the first kafka output); ids journaled by an earlier
 * replay are hidden. LF_OK; LF_ENOTFOUND no such topic; LF_EINVAL no kafka output or no
 * librdkafka; LF_EBROKER. Problems are printed on stderr. */
int lf_dlq_topic_load(const struct lf_config *cfg, const char *output, const char *topic,
                      struct lf_dlq_store *s);
/* Takes the journal lock (non-blocking). LF_OK, LF_EAGAIN (held by another), LF_EIO. */
int lf_dlq_store_lock_journal(struct lf_dlq_store *s);
/* Appends ids (n of them) to the journal and fsyncs it; they are hidden from then on.
 * Needs the journal lock. LF_OK or LF_EIO. */
int lf_dlq_store_mark_done(struct lf_dlq_store *s, const char *const *ids, size_t n);
/* Rewrites the store without the journaled ids and empties the journal (see the top of
 * this file). Needs the journal lock. LF_OK, LF_EIO, LF_ENOMEM. */
int lf_dlq_store_compact(struct lf_dlq_store *s);
/* True when id is in the journal. */
bool lf_dlq_store_is_done(const struct lf_dlq_store *s, const char *id);

/* `logferry dlq replay` of the entries of st flagged in sel (lf_cmd_dlq_replay.c), to the
 * output `to` of cfg (NULL: the store's own output). Returns an exit code. */
int lf_dlq_replay(const struct lf_config *cfg, struct lf_dlq_store *st, const bool *sel,
                  const char *to, bool dry_run);

#endif
