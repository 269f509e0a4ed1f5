/* lf_notify.h - tells systemd (Type=notify) how the agent is doing: READY=1, STATUS=,
 * RELOADING=1, STOPPING=1 and the watchdog's WATCHDOG=1.
 *
 * Each call sends one notify message (sd_notify(3)'s protocol) to $NOTIFY_SOCKET; without it
 * (not started by systemd, or in the tests) it does nothing. Failures are ignored: the
 * agent works the same whether or not a service manager listens. Main thread only.
 */
#ifndef LF_NOTIFY_H
#define LF_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* READY=1 with STATUS=status: state loaded, outputs and inputs set up (also sent when a
 * reload is done). status: borrowed for the call. */
void lf_notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC now): a reload begins. */
void lf_notify_reloading(void);
/* STOPPING=1: the shutdown drain has begun. */
void lf_notify_stopping(void);
/* STATUS=status alone (the periodic counts line). */
void lf_notify_status(const char *status);
/* True when $NOTIFY_SOCKET names a socket: status lines are worth building. */
bool lf_notify_enabled(void);

/* The service manager's watchdog ($WATCHDOG_USEC, for this process when $WATCHDOG_PID is
 * unset or names it). WATCHDOG=1 is sent every half interval, from the main loop only:
 * a loop that stops turning stops petting and systemd restarts the agent. */
struct lf_watchdog {
    int64_t half_ms; /* 0: no watchdog */
    int64_t next_ms;
};

/* Reads the environment. now_ms: monotonic. */
void lf_watchdog_init(struct lf_watchdog *wd, int64_t now_ms);
/* Sends WATCHDOG=1 if half the interval passed since the last one. */
void lf_watchdog_pet(struct lf_watchdog *wd, int64_t now_ms);

#endif
