/* lf_fsutil.h - small file-system helpers shared by the core and the spool. */
#ifndef LF_FSUTIL_H
#define LF_FSUTIL_H

/* mkdir -p with mode 0750: creates path and its missing parents. LF_OK, LF_ENOMEM, or
 * LF_EIO with errno telling why (the component that failed is not reported). */
int lf_mkdir_p(const char *path);

#endif
