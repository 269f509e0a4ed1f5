/* lf_curl.h - libcurl, loaded only when alerts are configured.
 *
 * Debian's libcurl4 links about twenty libraries (GnuTLS, nettle, p11-kit, Kerberos,
 * LDAP, libssh2, nghttp2...): linked into the agent they cost every process about 3 MiB
 * of resident memory, alerts or not. So the alert thread loads the library with dlopen
 * when alerts.url is set, and calls it through this table, like the HTTP endpoint does
 * libmicrohttpd (lf_mhd.h). The prototypes come from <curl/curl.h> (libcurl4-openssl-dev),
 * so a mismatch is a compile error. The library stays loaded until the process exits.
 * The HTTP output plugin links libcurl itself (it is a separate shared object).
 */
#ifndef LF_CURL_H
#define LF_CURL_H

#include <stddef.h>

#include <curl/curl.h>

struct lf_curl {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
};

/* The library's file name (Debian 12: libcurl4, OpenSSL flavour). */
#define LF_CURL_LIBRARY "libcurl.so.4"

/* Loads the library and fills c. LF_OK, or LF_ENOTFOUND with a one-line message in err
 * (the library or one of its symbols is missing: which, and the package to install). */
int lf_curl_load(struct lf_curl *c, char *err, size_t errlen);

#endif
