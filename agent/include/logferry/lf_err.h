/* lf_err.h - the one error enum of logferry and its strings.
 *
 * Functions return LF_OK or a negative enum lf_err. Values are append-only and never
 * reused: plugins compiled against an older header keep their meaning.
 */
#ifndef LF_ERR_H
#define LF_ERR_H

#include "lf_export.h"

enum lf_err {
    LF_OK = 0,
    LF_ENOMEM = -1,     /* allocation failed */
    LF_EINVAL = -2,     /* invalid argument or input */
    LF_EIO = -3,        /* I/O error; errno was logged */
    LF_EAGAIN = -4,     /* try again later (backpressure) */
    LF_ECONFIG = -5,    /* configuration error */
    LF_EBROKER = -6,    /* broker or remote endpoint error */
    LF_ETOOBIG = -7,    /* value over its limit */
    LF_ENOTFOUND = -8,  /* file, symbol or key not found */
    LF_EABI = -9,       /* plugin ABI mismatch */
    LF_ECORRUPT = -10,  /* corrupt state file or frame */
    LF_ENOSPC = -11,    /* no space left for state or spool */
    LF_ESHUTDOWN = -12, /* the agent is shutting down */
    /* append only */
    LF_ERR_LAST = -13 /* never use */
};

/* Returns a static string for err; unknown values give "unknown error". */
LF_EXPORT const char *lf_strerror(int err);

#endif
