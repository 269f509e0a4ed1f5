/* lf_notify.c - the service manager notifications (see lf_notify.h), by the documented
 * notify socket protocol (sd_notify(3), "NOTES"): one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a leading '@' is the abstract namespace).
 *
 * Written here rather than linking libsystemd: that library brings seven more shared
 * libraries into every agent process (liblzma, libzstd, liblz4, libgcrypt...), about
 * 1.5 MiB of resident memory, for a handful of fixed messages. The service unit
 * (packaging/systemd/) relies on them.
 */
#include "lf_notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fills sa from $NOTIFY_SOCKET; returns the address length, 0 without a usable one. */
static socklen_t notify_addr(struct sockaddr_un *sa)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len = path ? strlen(path) : 0;
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (len == 0 || len >= sizeof(sa->sun_path) || (path[0] != '/' && path[0] != '@')) {
        return 0;
    }
    memcpy(sa->sun_path, path, len);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0';
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

bool lf_notify_enabled(void)
{
    struct sockaddr_un sa;
    return notify_addr(&sa) != 0;
}

/* Sends msg to $NOTIFY_SOCKET; nothing without it. Errors are ignored (see lf_notify.h). */
static void notify(const char *msg)
{
    struct sockaddr_un sa;
    socklen_t salen = notify_addr(&sa);
    if (salen == 0) {
        return;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    close(fd);
}

void lf_notify_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
    notify(msg);
}

void lf_notify_reloading(void)
{
    struct timespec ts;
    char msg[128];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    notify(msg);
}

void lf_notify_stopping(void)
{
    notify("STOPPING=1\nSTATUS=draining in-flight records");
}

void lf_notify_status(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "STATUS=%s", status);
    notify(msg);
}

/* ---- watchdog ----------------------------------------------------------------------- */

void lf_watchdog_init(struct lf_watchdog *wd, int64_t now_ms)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    char *end = NULL;
    *wd = (struct lf_watchdog){0};
    if (pid && *pid && strtoll(pid, &end, 10) != (long long)getpid()) {
        return; /* meant for another process (our parent, a wrapper) */
    }
    long long us = usec ? strtoll(usec, &end, 10) : 0;
    if (!usec || *end != '\0' || us <= 0) {
        return;
    }
    wd->half_ms = us / 2000 > 0 ? us / 2000 : 1;
    wd->next_ms = now_ms; /* pet at the first turn */
}

void lf_watchdog_pet(struct lf_watchdog *wd, int64_t now_ms)
{
    if (wd->half_ms == 0 || now_ms < wd->next_ms) {
        return;
    }
    wd->next_ms = now_ms + wd->half_ms;
    notify("WATCHDOG=1");
}
