/* lf_fsutil.h - small file-system helpers shared by the core and the spool: directory
 * creation with the state mode, and the lock that keeps two agents off one state_dir. */
#ifndef LF_FSUTIL_H
#define LF_FSUTIL_H

#include <stddef.h>

#define LF_STATE_DIR_MODE  0750 /* state_dir and everything created under it */
#define LF_STATE_FILE_MODE 0640 /* checkpoints, spool segments, dead letters, the lock */

/* mkdir -p with mode 0750: creates path and its missing parents. LF_OK, LF_ENOMEM, or
 * LF_EIO with errno telling why (the component that failed is not reported). */
int lf_mkdir_p(const char *path);

/* Takes the lock of state_dir (created 0750 if missing): an flock on <dir>/lock, which
 * then holds this process's pid. Returns LF_OK with *fd (the caller keeps it open for the
 * life of the agent and closes it to release), LF_EAGAIN when another process holds the
 * lock (err names its pid), or LF_EIO (err says why: not a directory, a lock path that is
 * not a regular file, permissions). A world-accessible state_dir is not an error: *warn
 * (warnlen bytes) is set to a message then, else left empty. */
int lf_state_lock(const char *dir, int *fd, char *err, size_t errlen, char *warn, size_t warnlen);

#endif
