/* http_harness.h - drives es_server.py and a logferry process for the HTTP output tests.
 *
 * The server listens on 127.0.0.1 on a port the kernel picks (unique per run) and keeps its
 * documents in a journal, so a restart on the same port keeps them. Stats and scripts go
 * over plain HTTP (libcurl). Waits are bounded polls of the server's counters.
 */
#ifndef HTTP_HARNESS_H
#define HTTP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct es_server {
    char dir[256]; /* port file, journal, log */
    int port;
    pid_t pid;
    const char *cert, *key; /* TLS when set (borrowed) */
    const char *auth;       /* required Authorization header value, or NULL (borrowed) */
    const char *client_ca;  /* TLS: require a client certificate signed by it (borrowed) */
    const char *client_key; /* key of client_ca, which the test's own client presents */
};

/* Starts the server (port 0: any). Returns 0 when it listens. */
int es_start(struct es_server *s, const char *dir, int port);
/* SIGKILLs the server and reaps it (documents stay in the journal). */
void es_kill(struct es_server *s);
/* Value of a counter in /_test/stats ("docs", "lines", "requests"...), -1 on error. */
long es_stat(struct es_server *s, const char *name);
/* Whether the raw /_test/stats answer contains needle (e.g. "\"indices\":[\"a\"]"). */
bool es_stats_has(struct es_server *s, const char *needle);
/* POSTs a JSON script to /_test/script. Returns 0 on success. */
int es_script(struct es_server *s, const char *json);
/* Polls es_stat(name) until >= want or timeout_ms; returns the last value. */
long es_wait_stat(struct es_server *s, const char *name, long want, int timeout_ms);
/* "http://127.0.0.1:PORT" or "https://...". */
void es_url(const struct es_server *s, char *buf, size_t cap);

struct lf_agent {
    char dir[256];
    char cfg[300];
    char log[300];
    pid_t pid;
};

/* Makes a work dir with in.log of n lines "line I GET /api/orders/I 200" (every line in
 * bad[] says BAD-MAPPING instead) and a config with one http output; output_extra goes
 * into the output's flow mapping, agent_extra into the agent's, top_extra after all. */
void agent_prepare(struct lf_agent *a, size_t n, const size_t *bad, size_t nbad);
/* Appends n more lines "line I ..." to in.log, I from first. */
void agent_prepare_more(struct lf_agent *a, size_t first, size_t n);
void agent_config(struct lf_agent *a, const char *url, const char *output_extra,
                  const char *agent_extra, const char *top_extra);
void agent_start(struct lf_agent *a);
/* SIGTERM and wait (bounded); returns the exit code. */
int agent_stop(struct lf_agent *a);
/* Polls the agent's log until it contains needle or timeout_ms. */
bool agent_log_wait(struct lf_agent *a, const char *needle, int timeout_ms);
/* Peak resident memory of the agent so far (VmHWM) in KiB; -1 if gone. */
long agent_vm_hwm_kib(const struct lf_agent *a);

#endif
