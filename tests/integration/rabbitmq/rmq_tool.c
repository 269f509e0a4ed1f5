/* rmq_tool.c - command-line front of rmq_client for manual checks and shell tests.
 *
 *   rmq-tool declare URL QUEUE [EXCHANGE KEY]   durable queue (+ topic exchange, binding)
 *   rmq-tool depth URL QUEUE                    print the message count
 *   rmq-tool drain URL QUEUE [IDLE_MS] [--print]
 *        consume and ack until IDLE_MS (default 2000) pass without a message; print
 *        "received=N unique=U duplicates=D not_persistent=P bad_content_type=C no_id=I"
 *   rmq-tool reject URL QUEUE TIMEOUT_MS        reject (requeue=false) one message
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_testlib.h"
#include "rmq_client.h"

static int usage(void)
{
    fprintf(stderr, "usage: rmq-tool declare|depth|drain|reject URL QUEUE ...\n");
    return 64;
}

int main(int argc, char **argv)
{
    struct rmq_client c;
    int rc = 0;

    if (argc < 4) {
        return usage();
    }
    /* the numbers are checked before connecting: drain's IDLE_MS, reject's TIMEOUT_MS */
    long idle = 2000, timeout_ms = 0;
    if (strcmp(argv[1], "drain") == 0 && argc > 4 && argv[4][0] != '-' &&
        !lft_arg_long("rmq-tool", "IDLE_MS", argv[4], 0, INT_MAX, &idle)) {
        return usage();
    }
    if (strcmp(argv[1], "reject") == 0 && argc > 4 &&
        !lft_arg_long("rmq-tool", "TIMEOUT_MS", argv[4], 0, INT_MAX, &timeout_ms)) {
        return usage();
    }
    if (rmq_client_open(&c, argv[2]) != 0) {
        fprintf(stderr, "rmq-tool: %s\n", c.err);
        return 1;
    }
    if (strcmp(argv[1], "declare") == 0) {
        rc = rmq_client_declare(&c, argv[3], argc > 5 ? argv[4] : NULL, argc > 5 ? argv[5] : "");
    } else if (strcmp(argv[1], "depth") == 0) {
        long d = rmq_client_depth(&c, argv[3]);
        rc = d < 0 ? -1 : 0;
        if (d >= 0) {
            printf("%ld\n", d);
        }
    } else if (strcmp(argv[1], "drain") == 0) {
        struct rmq_stats st;
        bool print = strcmp(argv[argc - 1], "--print") == 0;
        rc = rmq_client_drain(&c, argv[3], 0, (int)idle, 3600 * 1000, &st, print);
        printf("received=%zu unique=%zu duplicates=%zu not_persistent=%zu bad_content_type=%zu "
               "no_id=%zu\n",
               st.received, st.unique, st.duplicates, st.not_persistent, st.bad_content_type,
               st.no_message_id);
    } else if (strcmp(argv[1], "reject") == 0 && argc > 4) {
        struct rmq_msg m;
        char id[128];
        rc = rmq_client_get_one(&c, argv[3], (int)timeout_ms, true, &m, id, sizeof(id));
        if (rc == 0) {
            printf("%s death_count=%ld\n", id, m.death_count);
        }
    } else {
        rmq_client_close(&c);
        return usage();
    }
    if (rc != 0) {
        fprintf(stderr, "rmq-tool: %s\n", c.err);
    }
    rmq_client_close(&c);
    return rc == 0 ? 0 : 1;
}
