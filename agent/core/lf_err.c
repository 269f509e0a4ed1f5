/* lf_err.c - strings for enum lf_err. */
#include "logferry/lf_err.h"

const char *lf_strerror(int err)
{
    switch (err) {
    case LF_OK:
        return "success";
    case LF_ENOMEM:
        return "out of memory";
    case LF_EINVAL:
        return "invalid argument";
    case LF_EIO:
        return "I/O error";
    case LF_EAGAIN:
        return "try again";
    case LF_ECONFIG:
        return "configuration error";
    case LF_EBROKER:
        return "broker error";
    case LF_ETOOBIG:
        return "too big";
    case LF_ENOTFOUND:
        return "not found";
    case LF_EABI:
        return "plugin ABI mismatch";
    case LF_ECORRUPT:
        return "corrupt data";
    case LF_ENOSPC:
        return "no space left";
    case LF_ESHUTDOWN:
        return "shutting down";
    default:
        return "unknown error";
    }
}
