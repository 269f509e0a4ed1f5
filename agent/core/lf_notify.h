/* lf_notify.h - tells systemd (Type=notify) that the agent is ready or stopping.
 *
 * Each call sends one notify message (sd_notify(3)'s protocol) to $NOTIFY_SOCKET; without it
 * (not started by systemd, or in the tests) it does nothing. Failures are ignored: the
 * agent works the same whether or not a service manager listens. WATCHDOG=1 is not sent.
 */
#ifndef LF_NOTIFY_H
#define LF_NOTIFY_H

/* READY=1: state loaded, outputs and inputs set up. Main thread. */
void lf_notify_ready(void);
/* STOPPING=1: the shutdown drain has begun. Main thread. */
void lf_notify_stopping(void);

#endif
