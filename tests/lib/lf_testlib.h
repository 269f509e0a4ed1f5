/* lf_testlib.h - helpers for integration tests: temp dirs, files, processes, bounded waits.
 *
 * Waits are bounded polls of an observable condition (a file's line count, a process
 * exit) with a deadline; nothing here sleeps as synchronisation.
 */
#ifndef LF_TESTLIB_H
#define LF_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 1 in a build instrumented by AddressSanitizer. There the resident size includes the
 * shadow memory and the quarantine of freed blocks (256 MiB by default), so memory bounds
 * (peak RSS) are asserted in the uninstrumented build only. */
#if defined(__SANITIZE_ADDRESS__)
#define LFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LFT_ASAN 1
#endif
#endif
#ifndef LFT_ASAN
#define LFT_ASAN 0
#endif

/* Creates a fresh directory under /tmp; returns a malloc'd path. */
char *lft_mkdtemp(const char *tag);
/* Removes a directory tree (rm -rf, no shell). Returns rm's exit code as lft_run does:
 * 0 on success (a missing path included). */
int lft_rmtree(const char *path);
/* Writes (or appends) content to path; aborts the test process on error. */
void lft_write_file(const char *path, const char *content, bool append);
/* Reads a whole file; returns malloc'd NUL-terminated data (NULL if missing). */
char *lft_read_file(const char *path, size_t *len);
/* Number of '\n' in a file (0 if missing). */
size_t lft_count_lines(const char *path);
/* Size of the file at path, -1 if it cannot be stat'ed. */
long lft_file_size(const char *path);
/* Offset the agent's checkpoint file in state_dir holds for the file at path (matched by
 * inode; the last such line), -1 if none. */
long lft_ckpt_offset(const char *state_dir, const char *path);
/* Appends n lines "PREFIX <i>\n" for i in [first, first+n). */
void lft_append_numbered(const char *path, const char *prefix, size_t first, size_t n);

/* Starts argv[0] with argv, stdout+stderr to logpath. Returns the pid. */
pid_t lft_spawn(char *const argv[], const char *logpath);
/* Waits up to timeout_ms for pid to exit; returns its exit code, or -1 on timeout
 * (the process is then killed with SIGKILL), or 128+signal. */
int lft_wait_exit(pid_t pid, int timeout_ms);
/* Polls until lft_count_lines(path) >= n or the deadline; returns the last count. */
size_t lft_wait_lines(const char *path, size_t n, int timeout_ms);
/* Runs argv[0] with argv, no shell: argv[0] is searched in PATH unless it contains a '/'.
 * stdout and stderr are appended to logpath, or inherited when logpath is NULL. Waits for
 * the exit, without a timeout. Returns the exit code, 128+signal if it was killed, 127 if
 * it could not be started (as a shell would; the reason is printed to stderr). */
int lft_run(char *const argv[], const char *logpath);
/* Parses all of s as a base-10 integer in [min, max] into *out. False, *out untouched, if
 * s is NULL or empty, starts with a space, has anything after the digits or is out of
 * range. */
bool lft_parse_long(const char *s, long min, long max, long *out);
/* lft_parse_long for a command-line argument: on failure prints
 * "PROG: NAME must be an integer in [MIN, MAX], not 'S'" to stderr and returns false. */
bool lft_arg_long(const char *prog, const char *name, const char *s, long min, long max, long *out);
/* Monotonic milliseconds. */
int64_t lft_now_ms(void);
/* Path of the logferry binary (env LF_BIN). */
const char *lft_bin(void);

#endif
