/* lf_cmd_dlq.c - `logferry dlq list | show | replay | purge`: the command line, the stores
 * of <state_dir>/dead-letter/, id selection, list, show and purge. Replay is in
 * lf_cmd_dlq_replay.c, the store itself in lf_cmd_dlq_store.c. */
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_help.h"
#include "lf_agent.h"
#include "lf_buf.h"
#include "lf_cmd.h"
#include "lf_cmd_dlq.h"
#include "lf_conf.h"
#include "logferry/lf_err.h"

#define DLQ_MAX_STORES 64

struct dlq_args {
    const char *sub, *config, *output, *to, *topic;
    int64_t since_ms, older_ms; /* -1: not given */
    bool json, all, dry_run, yes;
    char **ids;
    size_t nids;
};

struct dlq_ctx {
    struct lf_config *cfg;
    struct lf_dlq_store stores[DLQ_MAX_STORES];
    size_t nstores;
    int64_t now_ms;
};

static int dlq_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dlq_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "logferry dlq: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see logferry help dlq)\n");
    va_end(ap);
    return LF_EXIT_USAGE;
}

static int dlq_duration(const char *opt, const char *v, int64_t *ms)
{
    *ms = lf_dlq_parse_duration(v);
    if (*ms < 0) {
        fprintf(stderr, "logferry dlq: %s '%s': not a duration (examples: 30s, 15m, 2h, 7d)\n", opt,
                v);
        return LF_EXIT_USAGE;
    }
    return LF_EXIT_OK;
}

static int dlq_opt(struct dlq_args *a, int opt)
{
    switch (opt) {
    case 'c':
        a->config = optarg;
        return 0;
    case 'o':
        a->output = optarg;
        return 0;
    case 's':
        return dlq_duration("--since", optarg, &a->since_ms);
    case 'O':
        return dlq_duration("--older-than", optarg, &a->older_ms);
    case 'j':
        a->json = true;
        return 0;
    case 'a':
        a->all = true;
        return 0;
    case 't':
        a->to = optarg;
        return 0;
    case 'n':
        a->dry_run = true;
        return 0;
    case 'y':
        a->yes = true;
        return 0;
    case 'T':
        a->topic = optarg;
        return 0;
    case 'h':
        cli_help_command(stdout, "dlq");
        return -1;
    default:
        return LF_EXIT_USAGE;
    }
}

/* Which options each subcommand takes (letters of dlq_opt). */
static int dlq_check_args(const struct dlq_args *a, const char *seen)
{
    static const struct {
        const char *sub, *opts;
        bool ids;
    } subs[] = {{"list", "cosjT", false},
                {"show", "coT", true},
                {"replay", "coatnT", true},
                {"purge", "coaOy", true}};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(a->sub, subs[i].sub) != 0) {
            continue;
        }
        for (const char *p = seen; *p; p++) {
            if (!strchr(subs[i].opts, *p)) {
                static const char letters[] = "cosOjatnyT";
                static const char *const names[] = {"config", "output",    "since", "older-than",
                                                    "json",   "all",       "to",    "dry-run",
                                                    "yes",    "from-topic"};
                const char *l = strchr(letters, *p);
                return dlq_usage("--%s does not apply to 'dlq %s'", l ? names[l - letters] : "?",
                                 a->sub);
            }
        }
        if (!subs[i].ids && a->nids) {
            return dlq_usage("unexpected argument '%s'", a->ids[0]);
        }
        return LF_EXIT_OK;
    }
    return dlq_usage("unknown subcommand '%s' (list, show, replay, purge)", a->sub);
}

static int dlq_parse_args(int argc, char **argv, struct dlq_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"since", required_argument, NULL, 's'},
        {"older-than", required_argument, NULL, 'O'},
        {"json", no_argument, NULL, 'j'},
        {"all", no_argument, NULL, 'a'},
        {"to", required_argument, NULL, 't'},
        {"dry-run", no_argument, NULL, 'n'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {"from-topic", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    char seen[32] = "";
    int opt, rc;
    memset(a, 0, sizeof(*a));
    a->config = CLI_DEFAULT_CONFIG;
    a->since_ms = a->older_ms = -1;
    a->sub = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "c:o:s:O:jatnyhT:", longopts, NULL)) != -1) {
        if ((rc = dlq_opt(a, opt)) != 0) {
            return rc;
        }
        size_t n = strlen(seen);
        if (!strchr(seen, opt) && n + 1 < sizeof(seen)) {
            seen[n] = (char)opt;
            seen[n + 1] = 0;
        }
    }
    a->ids = argv + optind;
    a->nids = (size_t)(argc - optind);
    return dlq_check_args(a, seen);
}

/* ---- the stores ------------------------------------------------------------------ */

static int dlq_load_one(struct dlq_ctx *c, const char *dir, const char *output)
{
    char path[4096];
    if (c->nstores == DLQ_MAX_STORES) {
        fprintf(stderr, "logferry dlq: more than %d stores in %s, the rest are ignored\n",
                DLQ_MAX_STORES, dir);
        return LF_EXIT_OK;
    }
    snprintf(path, sizeof(path), "%s/%s.jsonl", dir, output);
    struct lf_dlq_store *s = &c->stores[c->nstores++];
    int rc = lf_dlq_store_load(path, output, stderr, s);
    if (rc == LF_ENOTFOUND) {
        fprintf(stderr, "logferry dlq: no dead-letter store for output '%s' (%s)\n", output, path);
        return LF_EXIT_NOINPUT;
    }
    if (rc != LF_OK) {
        fprintf(stderr, "logferry dlq: %s: %s\n", path, lf_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    return LF_EXIT_OK;
}

static int dlq_load_topic(struct dlq_ctx *c, const char *output, const char *topic)
{
    int rc = lf_dlq_topic_load(c->cfg, output, topic, &c->stores[c->nstores++]);
    switch (rc) {
    case LF_OK:
        return LF_EXIT_OK;
    case LF_ENOTFOUND:
        return LF_EXIT_NOINPUT;
    case LF_EINVAL:
        return LF_EXIT_USAGE;
    case LF_EBROKER:
        return LF_EXIT_UNAVAILABLE;
    default:
        fprintf(stderr, "logferry dlq: %s\n", lf_strerror(rc));
        return LF_EXIT_FAILURE;
    }
}

/* Every <output>.jsonl of the directory, or only that of `only`. */
static int dlq_load(struct dlq_ctx *c, const char *only)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/dead-letter", c->cfg->agent.state_dir);
    if (only) {
        return dlq_load_one(c, dir, only);
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "logferry dlq: no dead letters (%s does not exist)\n", dir);
        return LF_EXIT_NOINPUT;
    }
    int code = LF_EXIT_OK;
    for (struct dirent *de; code == LF_EXIT_OK && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n > 6 && strcmp(de->d_name + n - 6, ".jsonl") == 0 && de->d_name[0] != '.') {
            char out[256];
            snprintf(out, sizeof(out), "%.*s", (int)(n - 6), de->d_name);
            code = dlq_load_one(c, dir, out);
        }
    }
    closedir(d);
    return code;
}

/* Index of the live entry whose id is id (or a unique prefix of at least 8 characters). */
static bool dlq_find(struct dlq_ctx *c, const char *id, size_t *si, size_t *ei)
{
    size_t n = strlen(id);
    const char *match = NULL;
    bool ambiguous = false;
    for (size_t s = 0; s < c->nstores; s++) {
        for (size_t i = 0; i < c->stores[s].n; i++) {
            const char *e = c->stores[s].v[i].id;
            if (strcmp(e, id) == 0) {
                *si = s;
                *ei = i;
                return true;
            }
            if (n >= 8 && strncmp(e, id, n) == 0) {
                ambiguous |= match && strcmp(match, e) != 0;
                match = e;
                *si = s;
                *ei = i;
            }
        }
    }
    return match && !ambiguous;
}

/* The ids asked for into sel (flags, one per entry of each store). LF_EXIT_DATAERR when
 * one is in no store (all such are reported). */
static int dlq_select_ids(struct dlq_ctx *c, char **ids, size_t n, bool *sel[])
{
    int code = LF_EXIT_OK;
    for (size_t k = 0; k < n; k++) {
        size_t s = 0, i = 0;
        if (!dlq_find(c, ids[k], &s, &i)) {
            fprintf(stderr, "logferry dlq: no dead letter with id '%s'\n", ids[k]);
            code = LF_EXIT_DATAERR;
            continue;
        }
        sel[s][i] = true;
    }
    return code;
}

static void dlq_age(char *buf, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s < 120) {
        snprintf(buf, cap, "%llds", (long long)s);
    } else if (s < 7200) {
        snprintf(buf, cap, "%lldm", (long long)s / 60);
    } else if (s < 172800) {
        snprintf(buf, cap, "%lldh", (long long)s / 3600);
    } else {
        snprintf(buf, cap, "%lldd", (long long)s / 86400);
    }
}

static const char *dlq_str(const char *s)
{
    return s ? s : "-";
}

static int64_t dlq_when(const struct lf_dlq_item *e)
{
    return e->time_ms ? e->time_ms : e->last_ms;
}

static void dlq_list_json(const struct dlq_ctx *c, const struct lf_dlq_store *st,
                          const struct lf_dlq_item *e)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    const char *keys[] = {"id", "output", "reason", "error"};
    const char *vals[] = {e->id, e->output ? e->output : st->output, e->reason, e->error};
    lf_buf_append_char(&b, '{');
    for (size_t k = 0; k < 4; k++) {
        lf_buf_printf(&b, "%s\"%s\":\"", k ? "," : "", keys[k]);
        lf_buf_append_json_escaped(&b, vals[k] ? vals[k] : "", vals[k] ? strlen(vals[k]) : 0);
        lf_buf_append_char(&b, '"');
    }
    int64_t when = dlq_when(e);
    lf_buf_printf(&b, ",\"attempts\":%lld,\"age_s\":%lld,\"size\":%zu}\n", (long long)e->attempts,
                  (long long)(when ? (c->now_ms - when) / 1000 : -1), e->rec_len);
    fwrite(b.data, 1, b.len, stdout);
    lf_buf_fini(&b);
}

static int dlq_list(struct dlq_ctx *c, const struct dlq_args *a)
{
    size_t shown = 0;
    if (!a->json) {
        printf("%-32s  %-16s  %-18s  %8s  %6s  %8s\n", "ID", "OUTPUT", "REASON", "ATTEMPTS", "AGE",
               "SIZE");
    }
    for (size_t s = 0; s < c->nstores; s++) {
        const struct lf_dlq_store *st = &c->stores[s];
        for (size_t i = 0; i < st->n; i++) {
            const struct lf_dlq_item *e = &st->v[i];
            int64_t when = dlq_when(e);
            if (a->since_ms >= 0 && (!when || c->now_ms - when > a->since_ms)) {
                continue;
            }
            shown++;
            if (a->json) {
                dlq_list_json(c, st, e);
                continue;
            }
            char age[24] = "-", att[24] = "-";
            if (when) {
                dlq_age(age, sizeof(age), c->now_ms - when);
            }
            if (e->attempts >= 0) {
                snprintf(att, sizeof(att), "%lld", (long long)e->attempts);
            }
            printf("%-32s  %-16s  %-18s  %8s  %6s  %8zu\n", e->id, st->output, dlq_str(e->reason),
                   att, age, e->rec_len);
        }
    }
    if (!a->json) {
        fprintf(stderr, "%zu dead letter%s\n", shown, shown == 1 ? "" : "s");
    }
    return LF_EXIT_OK;
}

static void dlq_print_time(const char *label, int64_t ms, int64_t now_ms)
{
    char buf[64] = "-", age[24];
    if (ms) {
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        dlq_age(age, sizeof(age), now_ms - ms);
        printf("%-14s %s.%03dZ (%s ago)\n", label, buf, (int)(ms % 1000), age);
        return;
    }
    printf("%-14s %s\n", label, buf);
}

static void dlq_show_one(const struct dlq_ctx *c, const struct lf_dlq_store *st,
                         const struct lf_dlq_item *e)
{
    printf("%-14s %s\n%-14s %s\n%-14s %s\n", "id:", e->id, "output:", st->output,
           "reason:", dlq_str(e->reason));
    printf("%-14s %s\n", "error:", dlq_str(e->error));
    if (e->code != -1) {
        printf("%-14s %lld\n", "code:", (long long)e->code);
    }
    if (e->attempts >= 0) {
        printf("%-14s %lld\n", "attempts:", (long long)e->attempts);
    }
    printf("%-14s %s\n", "destination:", dlq_str(e->destination));
    dlq_print_time("dead-lettered:", e->time_ms, c->now_ms);
    dlq_print_time("first failure:", e->first_ms, c->now_ms);
    dlq_print_time("last failure:", e->last_ms, c->now_ms);
    printf("%-14s %s:%zu\n%-14s %zu bytes\n", "stored at:", st->path, e->lineno,
           "size:", e->rec_len);
    printf("record:\n%.*s\n", (int)e->rec_len, e->rec);
}

static int dlq_show(struct dlq_ctx *c, const struct dlq_args *a)
{
    if (a->nids != 1) {
        return dlq_usage("show takes exactly one ID");
    }
    size_t s = 0, i = 0;
    if (!dlq_find(c, a->ids[0], &s, &i)) {
        fprintf(stderr, "logferry dlq: no dead letter with id '%s' (or the prefix is ambiguous)\n",
                a->ids[0]);
        return LF_EXIT_DATAERR;
    }
    dlq_show_one(c, &c->stores[s], &c->stores[s].v[i]);
    return LF_EXIT_OK;
}

/* sel[s][i]: the entries the ids, --older-than or --all pick. *count gets how many. */
static int dlq_select(struct dlq_ctx *c, const struct dlq_args *a, bool *sel[], size_t *count)
{
    int code = dlq_select_ids(c, a->ids, a->nids, sel);
    *count = 0;
    for (size_t s = 0; s < c->nstores; s++) {
        for (size_t i = 0; i < c->stores[s].n; i++) {
            int64_t when = dlq_when(&c->stores[s].v[i]);
            bool old = a->older_ms >= 0 && when && c->now_ms - when >= a->older_ms;
            sel[s][i] |= a->all || old;
            *count += sel[s][i];
        }
    }
    return code;
}

static bool dlq_confirm(size_t n)
{
    char line[16];
    fprintf(stderr, "Delete %zu dead letter%s for good? [y/N] ", n, n == 1 ? "" : "s");
    fflush(stderr);
    return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

/* Journals the selected ids of one store and compacts it. */
static int dlq_purge_store(struct lf_dlq_store *st, const bool *sel, size_t *removed)
{
    const char **ids = calloc(st->n + 1, sizeof(*ids));
    size_t n = 0;
    if (!ids) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (sel[i]) {
            ids[n++] = st->v[i].id;
        }
    }
    int rc = n ? lf_dlq_store_lock_journal(st) : LF_OK;
    rc = rc == LF_OK && n ? lf_dlq_store_mark_done(st, ids, n) : rc;
    rc = rc == LF_OK && n ? lf_dlq_store_compact(st) : rc;
    *removed += rc == LF_OK ? n : 0;
    free(ids);
    return rc;
}

static int dlq_purge(struct dlq_ctx *c, const struct dlq_args *a, bool *sel[], size_t count)
{
    if (count == 0) {
        fprintf(stderr, "logferry dlq purge: nothing selected\n");
        return LF_EXIT_OK;
    }
    if (!a->yes && !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "logferry dlq purge: would delete %zu dead letters; stdin is not a "
                "terminal, so pass --yes to confirm\n",
                count);
        return LF_EXIT_USAGE;
    }
    if (!a->yes && !dlq_confirm(count)) {
        fprintf(stderr, "logferry dlq purge: nothing deleted\n");
        return LF_EXIT_OK;
    }
    size_t removed = 0;
    int code = LF_EXIT_OK;
    for (size_t s = 0; s < c->nstores; s++) {
        int rc = dlq_purge_store(&c->stores[s], sel[s], &removed);
        if (rc != LF_OK) {
            fprintf(stderr, "logferry dlq purge: %s: %s\n", c->stores[s].path,
                    rc == LF_EAGAIN ? "a replay or purge of this store is running"
                                    : lf_strerror(rc));
            code = rc == LF_EAGAIN ? LF_EXIT_TEMPFAIL : LF_EXIT_FAILURE;
        }
    }
    printf("purged %zu dead letter%s\n", removed, removed == 1 ? "" : "s");
    return code;
}

/* --from-topic replays to --output O, else to the first kafka output. */
static const char *dlq_kafka_output(const struct lf_config *cfg, const char *output)
{
    for (size_t i = 0; !output && i < cfg->outputs.n; i++) {
        if (strcmp(lf_conf_output(cfg, i)->plugin, "kafka") == 0) {
            return lf_conf_output(cfg, i)->name;
        }
    }
    return output;
}

static int dlq_replay_all(struct dlq_ctx *c, const struct dlq_args *a, bool *sel[], size_t count)
{
    if (count == 0) {
        fprintf(stderr, "logferry dlq replay: nothing selected\n");
        return LF_EXIT_OK;
    }
    int code = LF_EXIT_OK;
    const char *to = a->to ? a->to : a->topic ? dlq_kafka_output(c->cfg, a->output) : NULL;
    for (size_t s = 0; s < c->nstores; s++) {
        int cs = lf_dlq_replay(c->cfg, &c->stores[s], sel[s], to, a->dry_run);
        code = code == LF_EXIT_OK ? cs : code;
    }
    return code;
}

/* replay and purge: selection, then the action. */
static int dlq_act(struct dlq_ctx *c, const struct dlq_args *a)
{
    bool replay = strcmp(a->sub, "replay") == 0;
    if (!a->nids && !a->all && (replay || a->older_ms < 0)) {
        return dlq_usage("%s", replay ? "replay needs IDs or --all"
                                      : "purge needs IDs, --older-than DURATION or --all");
    }
    bool *sel[DLQ_MAX_STORES] = {0};
    int code = LF_EXIT_OK;
    size_t count = 0;
    for (size_t s = 0; s < c->nstores && code == LF_EXIT_OK; s++) {
        sel[s] = calloc(c->stores[s].n + 1, sizeof(bool));
        code = sel[s] ? LF_EXIT_OK : LF_EXIT_FAILURE;
    }
    code = code == LF_EXIT_OK ? dlq_select(c, a, sel, &count) : code;
    if (code == LF_EXIT_OK) {
        code = replay ? dlq_replay_all(c, a, sel, count) : dlq_purge(c, a, sel, count);
    }
    for (size_t s = 0; s < c->nstores; s++) {
        free(sel[s]);
    }
    return code;
}

static int dlq_run(const struct dlq_args *a)
{
    struct lf_diag d;
    struct dlq_ctx c = {0};
    lf_diag_init(&d, a->config);
    int rc = lf_conf_load(a->config, NULL, &d, &c.cfg);
    lf_diag_print(&d, stderr);
    lf_diag_fini(&d);
    if (rc != LF_OK) {
        return LF_EXIT_CONFIG;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int code = a->topic ? dlq_load_topic(&c, a->output, a->topic) : dlq_load(&c, a->output);
    if (code == LF_EXIT_NOINPUT && !a->output && !a->topic && strcmp(a->sub, "list") == 0) {
        code = LF_EXIT_OK; /* nothing was ever dead-lettered: an empty list */
    } else if (code == LF_EXIT_OK && strcmp(a->sub, "list") == 0) {
        code = dlq_list(&c, a);
    } else if (code == LF_EXIT_OK && strcmp(a->sub, "show") == 0) {
        code = dlq_show(&c, a);
    } else if (code == LF_EXIT_OK) {
        code = dlq_act(&c, a);
    }
    for (size_t s = 0; s < c.nstores; s++) {
        lf_dlq_store_fini(&c.stores[s]);
    }
    lf_conf_free(c.cfg);
    return code;
}

int lf_cmd_dlq(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        cli_help_command(help ? stdout : stderr, "dlq");
        return help ? LF_EXIT_OK : LF_EXIT_USAGE;
    }
    struct dlq_args a;
    int rc = dlq_parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? LF_EXIT_OK : rc;
    }
    return dlq_run(&a);
}
