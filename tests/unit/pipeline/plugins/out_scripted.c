/* out_scripted.c - test plugin whose outcomes follow the record's text, so pipeline tests
 * can drive every outcome path with the real core around it:
 *   a message containing "reject" is LF_REJECTED;
 *   "retry" is LF_RETRY on its first submission (attempts 0), then delivered;
 *   "always" is LF_RETRY every time;
 *   anything else is delivered.
 * Delivered records are appended, one payload a line, to <state_dir>/scripted.out, so a
 * test can count what arrived. Acks are sent from submit (the worker thread).
 * With the option remote_dead_letters: true it offers a remote dead-letter destination:
 * a dead letter containing "dltfail" is refused there (LF_ETOOBIG when it also contains
 * "toolarge"), the others are stored as "<reason> <attempts> <payload>" lines in
 * <state_dir>/scripted.dlt.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logferry/lf_plugin.h"

struct scripted_conf {
    bool remote_dead_letters;
};

struct scripted {
    struct lf_out_instance *ins;
    FILE *out, *dlt;
};

static const struct lf_opt opts[] = {
    {.name = "remote_dead_letters",
     .type = LF_OPT_BOOL,
     .def = "false",
     .offset = offsetof(struct scripted_conf, remote_dead_letters),
     .desc = "offer a remote dead-letter destination"},
    {.name = NULL},
};

static int p_init(struct lf_out_instance *ins, const void *c, void **s)
{
    char path[4096];
    struct scripted *st = calloc(1, sizeof(*st));
    if (!st) {
        return LF_ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/scripted.out", lf_out_state_dir(ins));
    st->ins = ins;
    st->out = fopen(path, "a");
    snprintf(path, sizeof(path), "%s/scripted.dlt", lf_out_state_dir(ins));
    st->dlt = fopen(path, "a");
    if (!st->out || !st->dlt) {
        if (st->out) {
            fclose(st->out);
        }
        free(st);
        return LF_EIO;
    }
    lf_out_set_dead_letter(ins, ((const struct scripted_conf *)c)->remote_dead_letters);
    *s = st;
    return LF_OK;
}

static enum lf_outcome outcome_of(const struct lf_record *r)
{
    if (strstr(r->payload, "reject")) {
        return LF_REJECTED;
    }
    if (strstr(r->payload, "always") || (strstr(r->payload, "retry") && r->attempts == 0)) {
        return LF_RETRY;
    }
    return LF_DELIVERED;
}

static int p_submit(void *s, struct lf_record *const *r, size_t n, size_t *acc)
{
    struct scripted *st = s;
    for (size_t i = 0; i < n; i++) {
        enum lf_outcome o = outcome_of(r[i]);
        if (o == LF_DELIVERED) {
            fprintf(st->out, "%s\n", r[i]->payload);
            fflush(st->out);
        }
        lf_out_ack(st->ins, r[i], o, o == LF_REJECTED ? "scripted rejection" : NULL);
    }
    *acc = n;
    return LF_OK;
}

static int p_dead_letter(void *s, struct lf_record *const *r, size_t n, size_t *acc)
{
    struct scripted *st = s;
    for (size_t i = 0; i < n; i++) {
        const struct lf_dead_letter *dl = r[i]->dead_letter;
        if (!dl) {
            lf_out_ack(st->ins, r[i], LF_REJECTED, "not a dead letter");
        } else if (strstr(r[i]->payload, "dltfail")) {
            struct lf_out_error e = {
                .err = strstr(r[i]->payload, "toolarge") ? LF_ETOOBIG : LF_OK,
                .code = 7,
                .reason = "scripted dead-letter failure",
            };
            lf_out_ack_error(st->ins, r[i], LF_REJECTED, &e);
        } else {
            fprintf(st->dlt, "%s %u %s\n", dl->reason, (unsigned)dl->attempts, r[i]->payload);
            fflush(st->dlt);
            lf_out_ack(st->ins, r[i], LF_DELIVERED, NULL);
        }
    }
    *acc = n;
    return LF_OK;
}

static int p_flush(void *s, int t)
{
    return LF_OK;
}

static void p_destroy(void *s)
{
    struct scripted *st = s;
    if (st) {
        fclose(st->out);
        fclose(st->dlt);
        free(st);
    }
}

static const struct lf_output_plugin desc = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "scripted",
    .description = "test plugin: outcomes follow the record's text",
    .options = opts,
    .config_size = sizeof(struct scripted_conf),
    .init = p_init,
    .submit = p_submit,
    .flush = p_flush,
    .destroy = p_destroy,
    .dead_letter = p_dead_letter,
};

LF_EXPORT const struct lf_output_plugin *lf_output_plugin_entry(void);
const struct lf_output_plugin *lf_output_plugin_entry(void)
{
    return &desc;
}
