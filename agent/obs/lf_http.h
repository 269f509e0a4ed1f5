/* lf_http.h - the metrics and status endpoint (agent.http), served by libmicrohttpd.
 *
 * One libmicrohttpd thread accepts connections and answers GET/HEAD of
 *   /metrics  Prometheus text 0.0.4 (OpenMetrics 1.0 when the Accept header asks for it)
 *   /healthz  200 if the main loop waits for events or has been in its current turn for
 *             at most LF_HTTP_HEALTH_MAX_AGE_MS, else 503
 *   /readyz   200 "ready", or 503 with the reason (lf_render_ready)
 *   /status   JSON; /status?format=text: the table `logferry status` prints
 * Everything it says comes from a copy of the snapshot the main loop publishes in the
 * lf_obs exchange (lf_snapshot.h); this thread never touches pipeline objects.
 */
#ifndef LF_HTTP_H
#define LF_HTTP_H

#include "lf_conf.h"
#include "lf_snapshot.h"
#include "logferry/lf_log.h"

#define LF_HTTP_HEALTH_MAX_AGE_MS 5000 /* /healthz fails when the loop is stuck this long */

struct lf_http;

/* Parses "HOST:PORT" / "[V6]:PORT" into a socket address; refuses (LF_ECONFIG with a
 * message in err) an address that is not loopback unless allow_remote. */
int lf_http_parse_listen(const char *listen, bool allow_remote, void *sa, unsigned *salen,
                         char *err, size_t errlen);

/* Starts the endpoint on conf->listen. obs and log are borrowed and must outlive it.
 * LF_OK, LF_ECONFIG (bad or refused address: logged) or LF_EIO (bind failed: logged). */
int lf_http_start(const struct lf_http_conf *conf, struct lf_obs *obs, const struct lf_log_ctx *log,
                  struct lf_http **out);
/* Stops the thread and closes the socket. NULL-safe. */
void lf_http_stop(struct lf_http *h);

#endif
