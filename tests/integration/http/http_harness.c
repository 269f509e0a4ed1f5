/* http_harness.c - es_server.py and logferry processes for the HTTP output tests.
 *
 * See http_harness.h. Paths come from the environment set by meson: PYTHON3, ES_SERVER,
 * LOGFERRY, OUT_HTTP_SO. Every wait is a bounded poll with a deadline.
 */
#include "http_harness.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_testlib.h"

#define POLL_US 20000 /* sampling interval of the bounded waits */

int es_start(struct es_server *s, const char *dir, int port)
{
    char portfile[300], journal[300], log[300], portarg[16];
    char *py = getenv("PYTHON3"), *srv = getenv("ES_SERVER");
    char *argv[24];
    int k = 0;

    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(portfile, sizeof(portfile), "%s/es.port", dir);
    snprintf(journal, sizeof(journal), "%s/es.journal", dir);
    snprintf(log, sizeof(log), "%s/es.log", dir);
    snprintf(portarg, sizeof(portarg), "%d", port);
    unlink(portfile);
    argv[k++] = py;
    argv[k++] = srv;
    argv[k++] = "--port";
    argv[k++] = portarg;
    argv[k++] = "--port-file";
    argv[k++] = portfile;
    argv[k++] = "--journal";
    argv[k++] = journal;
    if (s->cert) {
        argv[k++] = "--tls-cert";
        argv[k++] = (char *)s->cert;
        argv[k++] = "--tls-key";
        argv[k++] = (char *)s->key;
    }
    if (s->client_ca) {
        argv[k++] = "--tls-client-ca";
        argv[k++] = (char *)s->client_ca;
    }
    if (s->auth) {
        argv[k++] = "--auth";
        argv[k++] = (char *)s->auth;
    }
    argv[k] = NULL;
    s->pid = lft_spawn(argv, log);
    for (int64_t end = lft_now_ms() + 15000; lft_now_ms() < end;) {
        char *txt = lft_read_file(portfile, NULL);
        if (txt) {
            s->port = (int)strtol(txt, NULL, 10);
            free(txt);
            return s->port > 0 ? 0 : -1;
        }
        usleep(POLL_US);
    }
    return -1;
}

void es_kill(struct es_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        lft_wait_exit(s->pid, 10000);
        s->pid = 0;
    }
}

void es_url(const struct es_server *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s://127.0.0.1:%d", s->cert ? "https" : "http", s->port);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    char *buf = userp;
    size_t have = strlen(buf), n = size * nmemb;

    if (have + n < 4096) {
        memcpy(buf + have, data, n);
        buf[have + n] = '\0';
    }
    return n;
}

/* One request to the server's test API; the answer goes into out (4 KiB). */
static int es_call(struct es_server *s, const char *path, const char *post, char *out)
{
    char url[300];
    CURL *e = curl_easy_init();
    CURLcode rc;

    es_url(s, url, sizeof(url));
    strncat(url, path, sizeof(url) - strlen(url) - 1);
    out[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L); /* the test's own client only */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    if (s->client_ca) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, s->client_ca);
        curl_easy_setopt(e, CURLOPT_SSLKEY, s->client_key);
    }
    if (post) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
    }
    rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? 0 : -1;
}

long es_stat(struct es_server *s, const char *name)
{
    char out[4096], key[64];
    const char *p;

    if (es_call(s, "/_test/stats", NULL, out) != 0) {
        return -1;
    }
    snprintf(key, sizeof(key), "\"%s\":", name);
    p = strstr(out, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

bool es_stats_has(struct es_server *s, const char *needle)
{
    char out[4096];

    return es_call(s, "/_test/stats", NULL, out) == 0 && strstr(out, needle) != NULL;
}

int es_script(struct es_server *s, const char *json)
{
    char out[4096];

    return es_call(s, "/_test/script", json, out) == 0 && strstr(out, "true") ? 0 : -1;
}

long es_wait_stat(struct es_server *s, const char *name, long want, int timeout_ms)
{
    long v = es_stat(s, name);

    for (int64_t end = lft_now_ms() + timeout_ms; v < want && lft_now_ms() < end;) {
        usleep(POLL_US * 5);
        v = es_stat(s, name);
    }
    return v;
}

void agent_prepare(struct lf_agent *a, size_t n, const size_t *bad, size_t nbad)
{
    char path[300];
    FILE *f;
    char *d = lft_mkdtemp("http");

    snprintf(a->dir, sizeof(a->dir), "%s", d);
    free(d);
    snprintf(path, sizeof(path), "%s/in.log", a->dir);
    f = fopen(path, "w");
    for (size_t i = 0, b = 0; i < n; i++) {
        if (b < nbad && bad[b] == i) {
            fprintf(f, "line %zu BAD-MAPPING\n", i);
            b++;
        } else {
            fprintf(f, "line %zu GET /api/orders/%zu 200\n", i, i);
        }
    }
    fclose(f);
    snprintf(a->cfg, sizeof(a->cfg), "%s/cfg.yaml", a->dir);
    snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
}

void agent_prepare_more(struct lf_agent *a, size_t first, size_t n)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/in.log", a->dir);
    f = fopen(path, "a");
    for (size_t i = first; i < first + n; i++) {
        fprintf(f, "line %zu GET /api/orders/%zu 200\n", i, i);
    }
    fclose(f);
}

void agent_config(struct lf_agent *a, const char *url, const char *output_extra,
                  const char *agent_extra, const char *top_extra)
{
    char plugin_dir[512];
    FILE *f = fopen(a->cfg, "w");

    snprintf(plugin_dir, sizeof(plugin_dir), "%s", getenv("OUT_HTTP_SO"));
    *strrchr(plugin_dir, '/') = '\0';
    fprintf(f,
            "agent: { name: it, state_dir: %s/state, shutdown_timeout: 10s, plugin_dir: %s%s }\n"
            "inputs:\n"
            "  - { name: in, paths: [%s/in.log], start_at: beginning }\n"
            "outputs:\n"
            "  - { name: es, plugin: http, url: '%s'%s }\n%s",
            a->dir, plugin_dir, agent_extra ? agent_extra : "", a->dir, url,
            output_extra ? output_extra : "", top_extra ? top_extra : "");
    fclose(f);
}

void agent_start(struct lf_agent *a)
{
    char *argv[] = {getenv("LOGFERRY"), "run", "-c", a->cfg, NULL};

    a->pid = lft_spawn(argv, a->log);
}

int agent_stop(struct lf_agent *a)
{
    kill(a->pid, SIGTERM);
    return lft_wait_exit(a->pid, 30000);
}

bool agent_log_wait(struct lf_agent *a, const char *needle, int timeout_ms)
{
    for (int64_t end = lft_now_ms() + timeout_ms;;) {
        char *txt = lft_read_file(a->log, NULL);
        bool found = txt && strstr(txt, needle);
        free(txt);
        if (found || lft_now_ms() >= end) {
            return found;
        }
        usleep(POLL_US * 5);
    }
}

long agent_vm_hwm_kib(const struct lf_agent *a)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)a->pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}
