/* lf_out_builtin.c - the built-in outputs: stdout and file (JSON lines).
 *
 * Both write each batch with writev and report every record delivered once write(2)
 * returned for all its bytes (file: and fsync'ed, with `fsync: true`). A failed write
 * reports the unwritten records retriable. They need no plugin file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lf_plugin_loader.h"
#include "logferry/lf_plugin.h"

struct file_out_conf {
    char *path;
    bool fsync;
};

struct simple_out {
    struct lf_out_instance *ins;
    int fd;
    bool own_fd;
    bool fsync;
};

static const struct lf_opt stdout_options[] = {
    {.name = NULL},
};

static const struct lf_opt file_options[] = {
    {
        .name = "path",
        .type = LF_OPT_STR,
        .flags = LF_OPT_REQUIRED,
        .offset = offsetof(struct file_out_conf, path),
        .desc = "File that receives one JSON record per line (appended; created with mode 0640 "
                "if missing).",
    },
    {
        .name = "fsync",
        .type = LF_OPT_BOOL,
        .def = "false",
        .offset = offsetof(struct file_out_conf, fsync),
        .desc = "fsync after each batch before records count as delivered.",
    },
    {.name = NULL},
};

static int stdout_init(struct lf_out_instance *ins, const void *config, void **state)
{
    struct simple_out *s = calloc(1, sizeof(*s));
    if (!s) {
        return LF_ENOMEM;
    }
    s->ins = ins;
    s->fd = STDOUT_FILENO;
    *state = s;
    return LF_OK;
}

static int file_init(struct lf_out_instance *ins, const void *config, void **state)
{
    const struct file_out_conf *c = config;
    struct simple_out *s = calloc(1, sizeof(*s));
    if (!s) {
        return LF_ENOMEM;
    }
    s->ins = ins;
    s->fsync = c->fsync;
    s->fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->fd < 0) {
        lf_log_errno(LF_LOG_ERROR, lf_out_log_ctx(ins), "cannot open %s", c->path);
        free(s);
        return LF_EIO;
    }
    s->own_fd = true;
    *state = s;
    return LF_OK;
}

/* Writes iov fully; returns how many whole records (iov pairs) made it. */
static size_t write_all(int fd, struct iovec *iov, size_t niov)
{
    size_t done = 0;
    while (done < niov) {
        ssize_t w = writev(fd, iov + done, (int)(niov - done > 1024 ? 1024 : niov - done));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            break;
        }
        size_t left = (size_t)w;
        while (done < niov && left >= iov[done].iov_len) {
            left -= iov[done].iov_len;
            done++;
        }
        if (done < niov && left) {
            iov[done].iov_base = (char *)iov[done].iov_base + left;
            iov[done].iov_len -= left;
        }
    }
    return done / 2;
}

static int simple_submit(void *state, struct lf_record *const *recs, size_t n, size_t *accepted)
{
    struct simple_out *s = state;
    struct iovec iov[512];
    size_t take = n < 256 ? n : 256;
    for (size_t i = 0; i < take; i++) {
        iov[2 * i] =
            (struct iovec){.iov_base = (void *)recs[i]->payload, .iov_len = recs[i]->payload_len};
        iov[2 * i + 1] = (struct iovec){.iov_base = "\n", .iov_len = 1};
    }
    size_t ok = write_all(s->fd, iov, 2 * take);
    int err = errno;
    if (ok == take && s->fsync && fsync(s->fd) != 0) {
        err = errno;
        ok = 0;
    }
    for (size_t i = 0; i < take; i++) {
        if (i < ok) {
            lf_out_ack(s->ins, recs[i], LF_DELIVERED, NULL);
        } else {
            lf_out_ack(s->ins, recs[i], LF_RETRY, strerror(err));
        }
    }
    *accepted = take;
    return LF_OK;
}

static int simple_flush(void *state, int timeout_ms)
{
    return LF_OK; /* every accepted record was acked inside submit */
}

static void simple_destroy(void *state)
{
    struct simple_out *s = state;
    if (s && s->own_fd) {
        close(s->fd);
    }
    free(s);
}

const struct lf_output_plugin lf_out_stdout_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "stdout",
    .description = "Built-in: writes one JSON record per line to standard output.",
    .options = stdout_options,
    .config_size = 0,
    .init = stdout_init,
    .submit = simple_submit,
    .flush = simple_flush,
    .destroy = simple_destroy,
};

const struct lf_output_plugin lf_out_file_plugin = {
    .abi_version = LF_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct lf_output_plugin),
    .name = "file",
    .description = "Built-in: appends one JSON record per line to a file.",
    .options = file_options,
    .config_size = sizeof(struct file_out_conf),
    .init = file_init,
    .submit = simple_submit,
    .flush = simple_flush,
    .destroy = simple_destroy,
};
