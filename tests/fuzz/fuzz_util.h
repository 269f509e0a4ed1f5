/* fuzz_util.h - small helpers shared by the libFuzzer targets: a private scratch
 * directory per process (for the targets that read files: checkpoints, spool) and
 * writing one input to a file in it.
 *
 * Ownership: fuzz_scratch_dir() returns a process-wide path (static storage, created on
 * first use under $TMPDIR; the replay and seed mains remove it with fuzz_scratch_remove,
 * .ci/fuzz.sh gives each libFuzzer run its own $TMPDIR and removes that).
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The scratch directory of this process (created on first call; aborts on failure:
 * a fuzz target without its directory cannot run). */
const char *fuzz_scratch_dir(void);
/* Writes data[0..n) to dir/name (created or truncated). Aborts on an I/O error. */
void fuzz_write_file(const char *dir, const char *name, const uint8_t *data, size_t n);
/* Removes every entry of dir (one level of subdirectories too), keeping dir itself. */
void fuzz_clear_dir(const char *dir);
/* Removes the scratch directory, if this process created one (mains other than
 * libFuzzer's call it before returning). */
void fuzz_scratch_remove(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
