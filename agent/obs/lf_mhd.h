/* lf_mhd.h - libmicrohttpd, loaded only when the endpoint is configured.
 *
 * Debian's libmicrohttpd links GnuTLS and its dependencies (ten libraries): linked into
 * the agent they cost every process about 2 MiB of resident memory, endpoint or not. So
 * the endpoint loads the library with dlopen when agent.http.listen is set, and calls it
 * through this table. The prototypes come from <microhttpd.h> (libmicrohttpd-dev), so a
 * mismatch is a compile error. The library stays loaded until the process exits (its
 * threads are stopped by MHD_stop_daemon; nothing is gained by unloading it).
 */
#ifndef LF_MHD_H
#define LF_MHD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

struct lf_mhd {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_get_version) *get_version;
};

/* The library file names tried, in order (Debian 12: libmicrohttpd12). */
#define LF_MHD_LIBRARY "libmicrohttpd.so.12"

/* Loads the library and fills m. LF_OK, or LF_ENOTFOUND with a one-line message in err
 * (the library or one of its symbols is missing: which, and the package to install). */
int lf_mhd_load(struct lf_mhd *m, char *err, size_t errlen);

#endif
