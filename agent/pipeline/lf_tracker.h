/* lf_tracker.h - the ack tracker: what each file's records still owe, keyed by file key.
 *
 * An input announces each file it reads (lf_tracker_file_open) and gets an opaque key;
 * the router pushes that file's records in read order; output paths report "finished
 * for output o" (lf_tracker_finish); lf_tracker_advance moves each touched file's
 * committed offset over its finished prefix and releases those records. So a file's
 * committed offset never passes a record that some output still owes (DESIGN.md,
 * "Delivery guarantees"). Inputs never see the tracker's state, only their keys.
 * Key 0 is never a file (records read back from a spool carry it).
 * Thread: main thread only.
 */
#ifndef LF_TRACKER_H
#define LF_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_acktrack.h"
#include "lf_rec.h"

struct lf_tracker;

/* Creates an empty tracker. release is called for every record the tracker lets go
 * (finished prefix, or a closed file's leftovers); the callee owns and frees it. NULL:
 * the tracker frees them itself. */
int lf_tracker_create(lf_track_release_fn *release, void *release_ctx, struct lf_tracker **out);
/* Releases every record still held, then frees the tracker. NULL-safe. */
void lf_tracker_destroy(struct lf_tracker *tr);

/* Starts tracking a file (device and inode are kept for the spool's frames) whose bytes
 * up to `committed` are already done. LF_OK with *key set, or LF_ENOMEM. */
int lf_tracker_file_open(struct lf_tracker *tr, uint64_t dev, uint64_t ino, uint64_t committed,
                         uint64_t *key);
/* Stops tracking: records still queued are released unacknowledged (shutdown, or a file
 * whose records were all finished). Unknown keys are ignored. */
void lf_tracker_file_close(struct lf_tracker *tr, uint64_t key);

/* Appends rec to its file's queue (rec->start_offset continues the previous record);
 * sets rec->file_key. The tracker owns rec until it releases it. */
void lf_tracker_push(struct lf_tracker *tr, uint64_t key, struct lf_rec *rec);
/* Bytes up to end that made no record (filtered): done once all before them are.
 * LF_OK or LF_ENOMEM (nothing changed: the caller retries or fails). */
int lf_tracker_skip(struct lf_tracker *tr, uint64_t key, uint64_t end);
/* Output `output` is done with rec (delivered, durably spooled or dead-lettered). */
void lf_tracker_finish(struct lf_tracker *tr, struct lf_rec *rec, unsigned output);
/* Moves the committed offset of every file touched since the last call. Returns how
 * many records were released. */
size_t lf_tracker_advance(struct lf_tracker *tr);

/* True if the file's committed offset moved (or the file is new) since the last call for
 * it; clears the mark. For the checkpoint policy: idle files cost no store lookup. */
bool lf_tracker_take_moved(struct lf_tracker *tr, uint64_t key);
/* True if some file's mark was set since lf_tracker_clear_any_moved: the checkpoint
 * store may have something to write (the checkpoint policy's pending work). */
bool lf_tracker_any_moved(const struct lf_tracker *tr);
void lf_tracker_clear_any_moved(struct lf_tracker *tr);
/* The bytes from offset on could not be tracked (no memory for their record): the file's
 * committed offset stays at or before offset for as long as the file is tracked, so a
 * restart reads them again. Never allocates. */
void lf_tracker_hold(struct lf_tracker *tr, uint64_t key, uint64_t offset);
/* Committed offset of the file (0 for an unknown key), never past a hold. */
uint64_t lf_tracker_committed(const struct lf_tracker *tr, uint64_t key);
/* Monotonic read time (lf_rec.read_mono_ms) of the file's oldest record not yet released,
 * 0 if none: how long the file's checkpoint has been waiting (metrics). */
int64_t lf_tracker_oldest_read_ms(const struct lf_tracker *tr, uint64_t key);
/* Records (and skip markers) of the file not yet released. */
size_t lf_tracker_pending(const struct lf_tracker *tr, uint64_t key);
/* True if any file has records not yet released. */
bool lf_tracker_any_pending(const struct lf_tracker *tr);
/* Device and inode given at open; false for an unknown key. */
bool lf_tracker_ident(const struct lf_tracker *tr, uint64_t key, uint64_t *dev, uint64_t *ino);

#endif
