/* http.h - internal types of the HTTP output plugin (Elasticsearch/OpenSearch _bulk, NDJSON,
 * JSON array). Not installed.
 *
 * http.c holds the ABI descriptor, validation and the core-facing callbacks;
 * http_config.c the option table and secrets; http_body.c turns records into request
 * bodies (and gzip), built in http_buf.c buffers; http_bulk.c turns a finished request
 * (status, _bulk items) into per-record acks; http_multi.c drives the curl multi handle
 * (sockets and timers in one epoll fd the core polls).
 * Everything runs on the output's worker thread: no locks.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <logferry/lf_plugin.h>

enum http_format { HTTP_FMT_ELASTICSEARCH = 0, HTTP_FMT_NDJSON = 1, HTTP_FMT_JSON_ARRAY = 2 };
enum http_op_type { HTTP_OP_INDEX = 0, HTTP_OP_CREATE = 1 };
enum http_compression { HTTP_COMP_NONE = 0, HTTP_COMP_GZIP = 1 };

/* Filled by the core from the option table (http_config.c: http_options). */
struct http_config {
    char *url;
    int format;  /* enum http_format */
    char *index; /* template with strftime date parts, elasticsearch only */
    int op_type; /* enum http_op_type */
    struct lf_kvlist headers;
    int compression; /* enum http_compression */
    int64_t compression_level;
    int64_t batch_max_records;
    uint64_t batch_max_bytes;
    int64_t linger_ms;
    int64_t max_in_flight;
    int64_t timeout_ms;
    int64_t connect_timeout_ms;
    char *user;
    char *password;
    char *password_file;
    char *bearer_token;
    char *api_key;
    char *bearer_token_file;
    char *api_key_file;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *key_password;
    bool tls_insecure;
};

extern const struct lf_opt http_options[];
extern const char *const http_formats[];

/* A growable byte buffer. Errors stick: after a failed append, oom is set and the
 * content is undefined until http_buf_reset. */
struct http_buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void http_buf_append(struct http_buf *b, const void *data, size_t n);
void http_buf_reset(struct http_buf *b);
void http_buf_fini(struct http_buf *b);

struct http_header_tpl {
    const char *name; /* borrowed from the config */
    struct lf_template *tpl;
};

/* One request: its records (borrowed from the core until acked), its body, its headers.
 * Lives in st->reqs[], max_in_flight + 1 of them. */
struct http_req {
    CURL *easy;
    struct lf_record **recs;
    size_t n;
    struct http_buf body;    /* uncompressed */
    struct http_buf gz;      /* compressed body when compression: gzip */
    struct http_buf hdr_key; /* rendered templated headers shared by all records */
    struct http_buf resp;    /* response body (bounded) */
    struct curl_slist *slist;
    bool active;    /* added to the multi handle */
    bool sealed;    /* full or lingered: waiting for a free slot */
    int64_t opened; /* monotonic ms of its first record (linger) */
    uint64_t seq;   /* sealing order: dispatched oldest first */
    char errbuf[CURL_ERROR_SIZE];
};

struct http_state {
    struct lf_out_instance *ins;
    const struct http_config *cfg;
    char *url;                 /* final URL (elasticsearch: .../_bulk) */
    char *auth_header;         /* "Authorization: ..." (secret, never logged) or NULL */
    char *basic_password;      /* from password or password_file (secret) */
    struct lf_template *index; /* NULL unless elasticsearch */
    bool index_has_date;
    struct http_header_tpl *headers;
    size_t n_headers;
    bool headers_constant;

    struct http_req *reqs; /* max_in_flight + 1: the extra one is the open batch */
    size_t n_reqs;
    struct http_req *open; /* being filled, or NULL */
    size_t active;         /* requests on the wire */

    CURLM *multi;
    int epfd;              /* the wake fd: curl's sockets + timer_fd */
    int timer_fd;          /* curl's timeout and the linger deadline */
    int64_t curl_deadline; /* monotonic ms, -1 = none */

    char scratch[1024];
    uint64_t requests, delivered, retried, rejected;
    int64_t last_err_log_ms;
    bool ready;
    size_t max_records; /* batch_max_records, halved after a 413 */
    uint64_t next_seq;
};

/* http_req.c: the monotonic clock in milliseconds. */
int64_t http_now_ms(void);

/* http_config.c: loads secrets (files), builds the auth header and the URL. Logs and
 * returns LF_ECONFIG on a problem. The strings are owned by st. */
int http_config_prepare(struct http_state *st);
void http_config_release(struct http_state *st);

/* http_body.c */
/* Compiles index and header templates into st. */
int http_body_init(struct http_state *st);
void http_body_fini(struct http_state *st);
/* Renders the templated headers of rec into key (the batch partition key). */
void http_body_header_key(struct http_state *st, const struct lf_record *rec, struct http_buf *key);
/* Appends rec to req's body in the configured format. */
void http_body_add(struct http_state *st, struct http_req *req, struct lf_record *rec);
/* Closes the body (json_array's ']'), compresses it if configured and builds the
 * request's header list. LF_OK or LF_ENOMEM. */
int http_body_seal(struct http_state *st, struct http_req *req);

/* http_bulk.c: acks every record of a finished request (curl result rc, HTTP status)
 * and frees its slot: connection errors, 429, 5xx are LF_RETRY, other statuses below 200
 * or from 300 LF_REJECTED, 2xx LF_DELIVERED (elasticsearch: per _bulk item). */
void http_response_ack(struct http_state *st, struct http_req *req, CURLcode rc, long status);

/* http_multi.c */
int http_multi_init(struct http_state *st);
void http_multi_fini(struct http_state *st);
/* Puts a sealed request on the wire. LF_OK or LF_EBROKER. */
int http_multi_start(struct http_state *st, struct http_req *req);
/* Serves socket and timer events without blocking, then finished transfers. */
void http_multi_service(struct http_state *st);
/* Re-arms the timer fd to the earlier of curl's deadline and the open batch's linger. */
void http_multi_arm(struct http_state *st);
/* Removes a request from the multi handle (aborting it). */
void http_multi_abort(struct http_state *st, struct http_req *req);

/* http_req.c: acks all of req's records with one outcome and frees the slot. */
void http_req_finish(struct http_state *st, struct http_req *req, enum lf_outcome outcome,
                     const char *reason);
/* Frees the slot after its records were acked one by one. */
void http_req_release(struct http_state *st, struct http_req *req);

#endif
