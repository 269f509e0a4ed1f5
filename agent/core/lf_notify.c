/* lf_notify.c - READY=1 and STOPPING=1 for systemd's Type=notify, by the documented
 * notify socket protocol (sd_notify(3), "NOTES"): one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a leading '@' is the abstract namespace).
 *
 * Written here rather than linking libsystemd: that library brings seven more shared
 * libraries into every agent process (liblzma, libzstd, liblz4, libgcrypt...), about
 * 1.5 MiB of resident memory, for two fixed messages. Only the two state messages; the
 * service unit (packaging/systemd/) relies on them.
 */
#include "lf_notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Sends msg to $NOTIFY_SOCKET; nothing without it. Errors are ignored (see lf_notify.h). */
static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = path ? strlen(path) : 0;
    if (len == 0 || len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    close(fd);
}

void lf_notify_ready(void)
{
    notify("READY=1\nSTATUS=running");
}

void lf_notify_stopping(void)
{
    notify("STOPPING=1\nSTATUS=draining in-flight records");
}
