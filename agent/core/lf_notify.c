/* lf_notify.c - READY=1 and STOPPING=1 for systemd's Type=notify, through libsystemd.
 *
 * Only the two state messages; the service unit (packaging/systemd/) relies on them.
 */
#include "lf_notify.h"

#include <systemd/sd-daemon.h>

void lf_notify_ready(void)
{
    (void)sd_notify(0, "READY=1\nSTATUS=running");
}

void lf_notify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1\nSTATUS=draining in-flight records");
}
