/* lf_snapshot.c - the snapshot of counters and its exchange between the main thread and
 * the HTTP thread (see lf_snapshot.h). */
#include "lf_snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lf_clock.h"
#include "lf_tracker.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"

void lf_snapshot_init(struct lf_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    lf_buf_init(&s->strings, 0);
    lf_snapshot_reset(s);
}

void lf_snapshot_fini(struct lf_snapshot *s)
{
    free(s->inputs);
    free(s->files);
    free(s->outputs);
    lf_buf_fini(&s->strings);
    memset(s, 0, sizeof(*s));
}

void lf_snapshot_reset(struct lf_snapshot *s)
{
    s->ninputs = s->nfiles = s->noutputs = 0;
    lf_buf_reset(&s->strings);
    /* offset 0 is always the empty string */
    if (lf_buf_append_char(&s->strings, '\0') != LF_OK) {
        s->strings.len = 0;
    }
}

const char *lf_snapshot_str(const struct lf_snapshot *s, size_t off)
{
    return s->strings.data && off < s->strings.len ? s->strings.data + off : "";
}

size_t lf_snapshot_intern(struct lf_snapshot *s, const char *str)
{
    size_t off = s->strings.len;
    if (!str || !*str || lf_buf_append(&s->strings, str, strlen(str) + 1) != LF_OK) {
        return 0;
    }
    return off;
}

/* Copies n elements of src into *dst (capacity *cap). */
static int copy_array(void *dstp, size_t *cap, const void *src, size_t n, size_t elem)
{
    if (n == 0) {
        return LF_OK;
    }
    if (lf_vec_reserve_bytes(dstp, cap, n, elem) != LF_OK) {
        return LF_ENOMEM;
    }
    memcpy(*(void **)dstp, src, n * elem);
    return LF_OK;
}

int lf_snapshot_copy(struct lf_snapshot *dst, const struct lf_snapshot *src)
{
    struct lf_snapshot keep = *dst; /* dst's allocations */
    *dst = *src;
    dst->inputs = keep.inputs;
    dst->cap_inputs = keep.cap_inputs;
    dst->files = keep.files;
    dst->cap_files = keep.cap_files;
    dst->outputs = keep.outputs;
    dst->cap_outputs = keep.cap_outputs;
    dst->strings = keep.strings;
    lf_buf_reset(&dst->strings);
    int rc =
        copy_array(&dst->inputs, &dst->cap_inputs, src->inputs, src->ninputs, sizeof(*src->inputs));
    if (rc == LF_OK) {
        rc = copy_array(&dst->files, &dst->cap_files, src->files, src->nfiles, sizeof(*src->files));
    }
    if (rc == LF_OK) {
        rc = copy_array(&dst->outputs, &dst->cap_outputs, src->outputs, src->noutputs,
                        sizeof(*src->outputs));
    }
    if (rc == LF_OK && src->strings.len) {
        rc = lf_buf_append(&dst->strings, src->strings.data, src->strings.len);
    }
    if (rc != LF_OK) {
        lf_snapshot_reset(dst);
        dst->seq = 0;
    }
    return rc;
}

struct lf_snap_input *lf_snapshot_add_input(struct lf_snapshot *s, const char *name)
{
    if (lf_vec_reserve(&s->inputs, &s->cap_inputs, s->ninputs + 1) != LF_OK) {
        return NULL;
    }
    struct lf_snap_input *in = &s->inputs[s->ninputs++];
    *in = (struct lf_snap_input){.name = lf_snapshot_intern(s, name)};
    return in;
}

struct lf_snap_file *lf_snapshot_add_file(struct lf_snapshot *s, size_t input, const char *path)
{
    if (lf_vec_reserve(&s->files, &s->cap_files, s->nfiles + 1) != LF_OK) {
        return NULL;
    }
    struct lf_snap_file *f = &s->files[s->nfiles++];
    *f = (struct lf_snap_file){.input = input, .path = lf_snapshot_intern(s, path)};
    return f;
}

struct lf_snap_output *lf_snapshot_add_output(struct lf_snapshot *s, const char *name,
                                              const char *plugin)
{
    if (lf_vec_reserve(&s->outputs, &s->cap_outputs, s->noutputs + 1) != LF_OK) {
        return NULL;
    }
    struct lf_snap_output *o = &s->outputs[s->noutputs++];
    *o = (struct lf_snap_output){.name = lf_snapshot_intern(s, name)};
    o->plugin = lf_snapshot_intern(s, plugin);
    return o;
}

int lf_snapshot_add_outpath(struct lf_snapshot *s, const struct lf_outpath *op)
{
    struct lf_snap_output *o =
        lf_snapshot_add_output(s, lf_outpath_name(op), lf_outpath_plugin(op));
    if (!o) {
        return LF_ENOMEM;
    }
    lf_outpath_get_stats(op, &o->st);
    o->last_error = lf_snapshot_intern(s, lf_outpath_last_error(op, &o->last_error_ms));
    return LF_OK;
}

/* Size of a followed file: through its fd, or by path while it is closed (0 if gone). */
static uint64_t file_size(const struct lf_tail_file *f)
{
    struct stat st;
    int rc = f->fd >= 0 ? fstat(f->fd, &st) : stat(f->path, &st);
    if (rc != 0 || (f->fd < 0 && (uint64_t)st.st_ino != f->id.ino)) {
        return f->read_offset;
    }
    return (uint64_t)st.st_size;
}

int lf_snapshot_add_tail(struct lf_snapshot *s, const struct lf_tail *t, const struct lf_router *rt,
                         const struct lf_tracker *tr)
{
    size_t idx = s->ninputs;
    struct lf_snap_input *in = lf_snapshot_add_input(s, t->conf->name);
    if (!in) {
        return LF_ENOMEM;
    }
    in->tail = t->stats;
    lf_router_get_input_stats(rt, (size_t)t->index, &in->router);
    in->files = t->nfiles;
    in->open_files = t->nopen;
    for (size_t i = 0; i < t->nfiles; i++) {
        const struct lf_tail_file *tf = t->files[i];
        struct lf_snap_file *f = lf_snapshot_add_file(s, idx, tf->path);
        if (!f) {
            return LF_ENOMEM;
        }
        f->dev = tf->id.dev;
        f->ino = tf->id.ino;
        f->size = file_size(tf);
        f->read_offset = tf->read_offset;
        f->committed = tf->key ? lf_tracker_committed(tr, tf->key) : tf->read_offset;
        int64_t oldest = tf->key ? lf_tracker_oldest_read_ms(tr, tf->key) : 0;
        f->unacked_age_ms = oldest > 0 && s->mono_ms > oldest ? (uint64_t)(s->mono_ms - oldest) : 0;
        f->open = tf->fd >= 0;
    }
    return LF_OK;
}

/* ---- exchange ---------------------------------------------------------------------- */

int lf_obs_init(struct lf_obs *o)
{
    memset(o, 0, sizeof(*o));
    o->turn_since = -1;
    o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (o->wake_fd < 0) {
        return LF_EIO;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&o->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        close(o->wake_fd);
        return LF_ENOMEM;
    }
    pthread_mutex_init(&o->mu, NULL);
    lf_snapshot_init(&o->pub);
    lf_snapshot_init(&o->build);
    o->wanted = true; /* the first tick publishes */
    return LF_OK;
}

void lf_obs_fini(struct lf_obs *o)
{
    lf_snapshot_fini(&o->pub);
    lf_snapshot_fini(&o->build);
    pthread_cond_destroy(&o->cond);
    pthread_mutex_destroy(&o->mu);
    close(o->wake_fd);
}

int lf_obs_wake_fd(const struct lf_obs *o)
{
    return o->wake_fd;
}

bool lf_obs_tick(struct lf_obs *o, int64_t now_mono)
{
    uint64_t v;
    ssize_t r = read(o->wake_fd, &v, sizeof(v)); /* EAGAIN: nobody asked since */
    (void)r;
    (void)now_mono;
    pthread_mutex_lock(&o->mu);
    bool wanted = o->wanted;
    pthread_mutex_unlock(&o->mu);
    return wanted;
}

void lf_obs_loop_state(struct lf_obs *o, bool waiting, int64_t now_mono)
{
    __atomic_store_n(&o->turn_since, waiting ? 0 : now_mono, __ATOMIC_RELAXED);
}

void lf_obs_publish(struct lf_obs *o)
{
    pthread_mutex_lock(&o->mu);
    o->build.seq = o->pub.seq + 1;
    struct lf_snapshot old = o->pub;
    o->pub = o->build;
    o->build = old; /* reused as scratch by the next build */
    o->wanted = false;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->mu);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int lf_obs_copy(struct lf_obs *o, struct lf_snapshot *dst, int64_t max_age_ms, int wait_ms,
                int64_t *last_turn_mono)
{
    struct timespec deadline;
    deadline_after(&deadline, wait_ms);
    pthread_mutex_lock(&o->mu);
    if (o->pub.seq == 0 || lf_mono_ms() - o->pub.mono_ms > max_age_ms) {
        uint64_t seq = o->pub.seq;
        uint64_t one = 1;
        o->wanted = true;
        ssize_t w = write(o->wake_fd, &one, sizeof(one)); /* EAGAIN: already asked */
        (void)w;
        while (o->pub.seq == seq) {
            int rc = pthread_cond_timedwait(&o->cond, &o->mu, &deadline);
            if (rc == ETIMEDOUT) {
                break;
            }
        }
    }
    int rc = lf_snapshot_copy(dst, &o->pub);
    pthread_mutex_unlock(&o->mu);
    *last_turn_mono = lf_obs_heartbeat(o);
    return rc;
}

int64_t lf_obs_heartbeat(struct lf_obs *o)
{
    int64_t t = __atomic_load_n(&o->turn_since, __ATOMIC_RELAXED);
    return t < 0 ? 0 : t == 0 ? lf_mono_ms() : t;
}
