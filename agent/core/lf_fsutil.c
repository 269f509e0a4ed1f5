/* lf_fsutil.c - small file-system helpers (see lf_fsutil.h). */
#include "lf_fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "logferry/lf_err.h"

int lf_mkdir_p(const char *path)
{
    char *p = strdup(path);
    int rc = LF_OK;
    if (!p) {
        return LF_ENOMEM;
    }
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0') {
            continue;
        }
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            rc = LF_EIO;
            break;
        }
        *q = c;
        if (c == '\0') {
            break;
        }
    }
    int saved = errno;
    free(p);
    errno = saved;
    return rc;
}
