/* http_config.c - the HTTP output's option table, its secrets and its URL.
 *
 * Reads password and token files, builds the Authorization header (basic credentials go
 * to curl, bearer and ApiKey become a header) and the final request URL. Secrets are
 * never logged: errors name the option or the file, never the value.
 * Validation of cross-field rules lives in http.c (http_validate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define HTTP_SECRET_FILE_MAX 65536

const char *const http_formats[] = {"elasticsearch", "ndjson", "json_array", NULL};
static const char *const http_op_types[] = {"index", "create", NULL};
static const char *const http_compressions[] = {"none", "gzip", NULL};

#define OFF(f) offsetof(struct http_config, f)

const struct lf_opt http_options[] = {
    {
        .name = "url",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = OFF(url),
        .desc = "Endpoint, http:// or https://. elasticsearch: the cluster URL; /_bulk is "
                "appended unless the path already has it.",
    },
    {
        .name = "format",
        .type = LF_OPT_ENUM,
        .def = "elasticsearch",
        .choices = http_formats,
        .offset = OFF(format),
        .desc = "elasticsearch (_bulk, Elasticsearch 7/8 and OpenSearch 1/2), ndjson (one "
                "record per line) or json_array.",
    },
    {
        .name = "index",
        .type = LF_OPT_STR,
        .def = "logferry-{{type}}-%Y.%m.%d",
        .offset = OFF(index),
        .desc = "elasticsearch: index template; {{field}} parts, then strftime date parts "
                "taken from the record's @timestamp (UTC).",
    },
    {
        .name = "op_type",
        .type = LF_OPT_ENUM,
        .def = "index",
        .choices = http_op_types,
        .offset = OFF(op_type),
        .desc = "elasticsearch: bulk action; create for data streams (an existing _id then "
                "counts as delivered).",
    },
    {
        .name = "headers",
        .type = LF_OPT_MAP,
        .offset = OFF(headers),
        .desc = "Extra request headers; values are templates ('{{service.name}}'): records "
                "with different values go in different requests.",
    },
    {
        .name = "compression",
        .type = LF_OPT_ENUM,
        .def = "none",
        .choices = http_compressions,
        .offset = OFF(compression),
        .desc = "none or gzip (Content-Encoding: gzip).",
    },
    {
        .name = "compression_level",
        .type = LF_OPT_INT,
        .def = "1",
        .min = 1,
        .max = 9,
        .offset = OFF(compression_level),
        .desc = "gzip level, 1 (fast) to 9 (small).",
    },
    {
        .name = "batch_max_records",
        .type = LF_OPT_INT,
        .def = "1000",
        .min = 1,
        .max = 100000,
        .offset = OFF(batch_max_records),
        .desc = "Records per request at most.",
    },
    {
        .name = "batch_max_bytes",
        .type = LF_OPT_SIZE,
        .def = "5MiB",
        .min = 1024,
        .max = 1073741824,
        .offset = OFF(batch_max_bytes),
        .desc = "Uncompressed body size that closes a request (one record may exceed it).",
    },
    {
        .name = "linger",
        .type = LF_OPT_DURATION,
        .def = "200ms",
        .min = 0,
        .max = 60000,
        .offset = OFF(linger_ms),
        .desc = "How long a request that is not full waits for more records.",
    },
    {
        .name = "max_in_flight",
        .type = LF_OPT_INT,
        .def = "4",
        .min = 1,
        .max = 256,
        .offset = OFF(max_in_flight),
        .desc = "Requests on the wire at once (and connections kept alive to the host).",
    },
    {
        .name = "timeout",
        .type = LF_OPT_DURATION,
        .def = "30s",
        .min = 100,
        .max = 3600000,
        .offset = OFF(timeout_ms),
        .desc = "Limit for a whole request; past it the records are retried.",
    },
    {
        .name = "connect_timeout",
        .type = LF_OPT_DURATION,
        .def = "5s",
        .min = 100,
        .max = 300000,
        .offset = OFF(connect_timeout_ms),
        .desc = "Limit for TCP connect and TLS handshake.",
    },
    {
        .name = "user",
        .type = LF_OPT_STR,
        .offset = OFF(user),
        .desc = "Basic authentication user, with password or password_file.",
    },
    {
        .name = "password",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(password),
        .desc = "Basic authentication password; write '${ENV_VAR}' to take it from the "
                "environment.",
    },
    {
        .name = "password_file",
        .type = LF_OPT_STR,
        .offset = OFF(password_file),
        .desc = "File holding the basic authentication password (trailing newline ignored).",
    },
    {
        .name = "bearer_token",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(bearer_token),
        .desc = "Sends 'Authorization: Bearer TOKEN'.",
    },
    {
        .name = "api_key",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(api_key),
        .desc = "Sends 'Authorization: ApiKey KEY' (Elasticsearch: the encoded id:api_key).",
    },
    {
        .name = "bearer_token_file",
        .type = LF_OPT_STR,
        .offset = OFF(bearer_token_file),
        .desc = "File holding the bearer token (trailing newline ignored), instead of "
                "bearer_token.",
    },
    {
        .name = "api_key_file",
        .type = LF_OPT_STR,
        .offset = OFF(api_key_file),
        .desc = "File holding the API key (trailing newline ignored), instead of api_key.",
    },
    {
        .name = "ca_file",
        .type = LF_OPT_STR,
        .offset = OFF(ca_file),
        .desc = "https: CA bundle (PEM) to verify the server with, instead of the system's.",
    },
    {
        .name = "cert_file",
        .type = LF_OPT_STR,
        .offset = OFF(cert_file),
        .desc = "https: client certificate (PEM), with key_file.",
    },
    {
        .name = "key_file",
        .type = LF_OPT_STR,
        .offset = OFF(key_file),
        .desc = "https: client private key (PEM), with cert_file.",
    },
    {
        .name = "key_password",
        .type = LF_OPT_STR,
        .flags = LF_OPT_SECRET,
        .offset = OFF(key_password),
        .desc = "https: passphrase of key_file.",
    },
    {
        .name = "tls_insecure",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = OFF(tls_insecure),
        .desc = "https: skip certificate and host name verification (warned at every start).",
    },
    {.name = NULL},
};

/* Reads a small secret file into a malloc'd string without its trailing newlines.
 * Logs the path (never the content) on failure. */
static char *read_secret_file(struct http_state *st, const char *opt, const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (f == NULL) {
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(st->ins), "%s: cannot open %s", opt, path);
        return NULL;
    }
    buf = malloc(HTTP_SECRET_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, HTTP_SECRET_FILE_MAX, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    if (n == 0) {
        lf_out_log(st->ins, LF_LOG_ERROR, "%s: %s is empty", opt, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Authorization: Bearer / ApiKey from the option or its file; none if neither is set. */
static int build_token_header(struct http_state *st)
{
    const struct http_config *cfg = st->cfg;
    bool bearer = cfg->bearer_token || cfg->bearer_token_file;
    const char *value = bearer ? cfg->bearer_token : cfg->api_key;
    const char *file = bearer ? cfg->bearer_token_file : cfg->api_key_file;
    char *owned = NULL;
    size_t cap;

    if (value == NULL && file != NULL) {
        owned = read_secret_file(st, bearer ? "bearer_token_file" : "api_key_file", file);
        if (owned == NULL) {
            return LF_ECONFIG;
        }
        value = owned;
    }
    if (value == NULL) {
        return LF_OK;
    }
    cap = strlen(value) + 64;
    st->auth_header = malloc(cap);
    if (st->auth_header) {
        snprintf(st->auth_header, cap, "Authorization: %s %s", bearer ? "Bearer" : "ApiKey", value);
    }
    if (owned) {
        explicit_bzero(owned, strlen(owned));
        free(owned);
    }
    return st->auth_header ? LF_OK : LF_ENOMEM;
}

static int build_url(struct http_state *st)
{
    const char *url = st->cfg->url;
    size_t len = strlen(url);
    const char *path = strstr(url, "://");
    bool has_bulk;

    path = path ? strchr(path + 3, '/') : NULL;
    has_bulk = path && strstr(path, "/_bulk") != NULL;
    if (st->cfg->format != HTTP_FMT_ELASTICSEARCH || has_bulk) {
        st->url = strdup(url);
        return st->url ? LF_OK : LF_ENOMEM;
    }
    st->url = malloc(len + sizeof("/_bulk"));
    if (st->url == NULL) {
        return LF_ENOMEM;
    }
    while (len > 0 && url[len - 1] == '/') {
        len--;
    }
    memcpy(st->url, url, len);
    memcpy(st->url + len, "/_bulk", sizeof("/_bulk"));
    return LF_OK;
}

int http_config_prepare(struct http_state *st)
{
    const struct http_config *cfg = st->cfg;
    int rc = build_url(st);

    if (rc != LF_OK) {
        return rc;
    }
    if (cfg->user) {
        if (cfg->password) {
            st->basic_password = strdup(cfg->password);
        } else if (cfg->password_file) {
            st->basic_password = read_secret_file(st, "password_file", cfg->password_file);
        } else {
            st->basic_password = strdup("");
        }
        if (st->basic_password == NULL) {
            return LF_ECONFIG;
        }
    }
    rc = build_token_header(st);
    if (rc != LF_OK) {
        return rc;
    }
    if (cfg->tls_insecure) {
        lf_out_log(st->ins, LF_LOG_WARN,
                   "tls_insecure: true: the server certificate and host name are NOT "
                   "verified; anyone on the path can read and change what is sent");
    }
    return LF_OK;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s)); /* no copy of a secret outlives the state */
        free(s);
    }
}

void http_config_release(struct http_state *st)
{
    free(st->url);
    st->url = NULL;
    free_secret(st->auth_header);
    st->auth_header = NULL;
    free_secret(st->basic_password);
    st->basic_password = NULL;
}
