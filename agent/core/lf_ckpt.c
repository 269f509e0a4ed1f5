/* lf_ckpt.c - atomic text checkpoint file.
 *
 * Format (one entry per line, then a trailer):
 *   logferry-checkpoints 1
 *   <dev> <ino> <fp_len> <fp_hash hex> <offset> <path, %-escaped>
 *   end <entries> <xxh64 hex of every byte before this line>
 */
#include "lf_ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lf_buf.h"
#include "lf_fsutil.h"
#include "lf_vec.h"
#include "logferry/lf_err.h"

#define CKPT_HEADER "logferry-checkpoints 1\n"

static int escape_path(struct lf_buf *b, const char *p)
{
    int rc = LF_OK;
    for (; *p && rc == LF_OK; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '%' || c >= 0x7f) {
            rc = lf_buf_printf(b, "%%%02X", c);
        } else {
            rc = lf_buf_append_char(b, (char)c);
        }
    }
    return rc;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Only the n bytes of the entry are read: an escape needs both its digits before n. */
int lf_ckpt_unescape_path(const char *s, size_t n, char **out)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o) {
        return LF_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            o[k++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(o);
            return LF_ECORRUPT;
        }
        o[k++] = (char)(hi << 4 | lo);
        i += 2;
    }
    o[k] = '\0';
    *out = o;
    return LF_OK;
}

static int parse_line(struct lf_ckpt_store *s, const char *line, size_t len)
{
    struct lf_ckpt_entry e;
    int consumed = 0;
    char copy[256];
    size_t head = len < sizeof(copy) - 1 ? len : sizeof(copy) - 1;
    memcpy(copy, line, head);
    copy[head] = '\0';
    if (sscanf(copy, "%" SCNu64 " %" SCNu64 " %" SCNu32 " %" SCNx64 " %" SCNu64 " %n", &e.id.dev,
               &e.id.ino, &e.id.fp_len, &e.id.fp_hash, &e.offset, &consumed) != 5 ||
        consumed == 0 || (size_t)consumed > len) {
        return LF_ECORRUPT;
    }
    int rc = lf_ckpt_unescape_path(line + consumed, len - (size_t)consumed, &e.path);
    if (rc != LF_OK) {
        return rc;
    }
    rc = lf_vec_reserve(&s->v, &s->cap, s->n + 1);
    if (rc != LF_OK) {
        free(e.path);
        return rc;
    }
    s->v[s->n++] = e;
    return LF_OK;
}

static int parse_content(struct lf_ckpt_store *s, const char *data, size_t len, char *why,
                         size_t cap)
{
    size_t hlen = strlen(CKPT_HEADER);
    if (len < hlen || memcmp(data, CKPT_HEADER, hlen) != 0) {
        snprintf(why, cap, "unknown header");
        return LF_ECORRUPT;
    }
    const char *trailer = NULL;
    for (const char *p = data + len - 1; p > data; p--) {
        if (p[-1] == '\n' && strncmp(p, "end ", 4) == 0) {
            trailer = p;
            break;
        }
    }
    size_t count;
    uint64_t sum;
    if (!trailer || sscanf(trailer, "end %zu %" SCNx64, &count, &sum) != 2 ||
        data[len - 1] != '\n') {
        snprintf(why, cap, "missing or cut trailer line");
        return LF_ECORRUPT;
    }
    if (XXH64(data, (size_t)(trailer - data), 0) != sum) {
        snprintf(why, cap, "checksum mismatch");
        return LF_ECORRUPT;
    }
    const char *p = data + hlen;
    while (p < trailer) {
        const char *nl = memchr(p, '\n', (size_t)(trailer - p));
        int rc = nl ? parse_line(s, p, (size_t)(nl - p)) : LF_ECORRUPT;
        if (rc == LF_ECORRUPT) {
            snprintf(why, cap, "bad entry line");
        }
        if (rc != LF_OK) {
            return rc; /* out of memory is not corruption: never advise deleting the file */
        }
        p = nl + 1;
    }
    if (count != s->n) {
        snprintf(why, cap, "entry count %zu, trailer says %zu", s->n, count);
        return LF_ECORRUPT;
    }
    return LF_OK;
}

static int read_all(const char *path, struct lf_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? LF_ENOTFOUND : LF_EIO;
    }
    char chunk[65536];
    ssize_t n;
    int rc = LF_OK;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        rc = lf_buf_append(b, chunk, (size_t)n);
        if (rc != LF_OK) {
            break;
        }
    }
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        rc = LF_EIO;
    }
    return rc;
}

/* Loads s->file into s. A missing file is an empty store. Fills err on failure. */
static int load_file(struct lf_ckpt_store *s, char *err, size_t errlen)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    char why[128] = "";
    int rc = read_all(s->file, &b);
    if (rc == LF_EIO) {
        snprintf(why, sizeof(why), "%s", strerror(errno)); /* before anything else runs */
    } else if (rc == LF_OK) {
        rc = parse_content(s, b.data ? b.data : "", b.len, why, sizeof(why));
    }
    lf_buf_fini(&b);
    if (rc == LF_ECORRUPT) {
        snprintf(err, errlen,
                 "checkpoint file %s is corrupt (%s). logferry will not guess offsets. To "
                 "recover, stop the agent and move the file away: files are then read "
                 "again according to each input's start_at (beginning: records are sent "
                 "again, with the same ids)",
                 s->file, why);
    } else if (rc != LF_OK && rc != LF_ENOTFOUND) {
        snprintf(err, errlen, "cannot read checkpoint file %s: %s", s->file,
                 rc == LF_EIO ? why : lf_strerror(rc));
    }
    return rc == LF_ENOTFOUND ? LF_OK : rc;
}

int lf_ckpt_open(const char *state_dir, struct lf_ckpt_store **out, char *err, size_t errlen)
{
    struct lf_ckpt_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "cannot open the checkpoint store: %s", lf_strerror(LF_ENOMEM));
        return LF_ENOMEM;
    }
    if (asprintf(&s->file, "%s/%s", state_dir, LF_CKPT_FILE) < 0) {
        snprintf(err, errlen, "cannot open the checkpoint store: %s", lf_strerror(LF_ENOMEM));
        free(s);
        return LF_ENOMEM;
    }
    int rc = load_file(s, err, errlen);
    if (rc != LF_OK) {
        lf_ckpt_close(s);
        return rc;
    }
    *out = s;
    return LF_OK;
}

void lf_ckpt_close(struct lf_ckpt_store *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
    }
    free(s->v);
    free(s->file);
    free(s);
}

struct lf_ckpt_entry *lf_ckpt_find(struct lf_ckpt_store *s, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].id.dev == dev && s->v[i].id.ino == ino) {
            return &s->v[i];
        }
    }
    return NULL;
}

/* Field by field: struct lf_file_id has tail padding, which memcmp would read (it is not
 * initialised in entries parsed from the file). */
static bool ckpt_same_id(const struct lf_file_id *a, const struct lf_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->fp_hash == b->fp_hash &&
           a->fp_len == b->fp_len;
}

int lf_ckpt_set(struct lf_ckpt_store *s, const struct lf_file_id *id, const char *path,
                uint64_t offset)
{
    struct lf_ckpt_entry *e = lf_ckpt_find(s, id->dev, id->ino);
    if (e) {
        if (e->offset == offset && ckpt_same_id(&e->id, id) && strcmp(e->path, path) == 0) {
            return LF_OK;
        }
        if (strcmp(e->path, path) != 0) {
            char *p = strdup(path);
            if (!p) {
                return LF_ENOMEM;
            }
            free(e->path);
            e->path = p;
        }
        e->id = *id;
        e->offset = offset;
        s->dirty = true;
        return LF_OK;
    }
    int rc = lf_vec_reserve(&s->v, &s->cap, s->n + 1);
    if (rc != LF_OK) {
        return rc;
    }
    char *p = strdup(path);
    if (!p) {
        return LF_ENOMEM;
    }
    s->v[s->n++] = (struct lf_ckpt_entry){.id = *id, .offset = offset, .path = p};
    s->dirty = true;
    return LF_OK;
}

static int render_entry(struct lf_buf *b, const struct lf_ckpt_entry *e)
{
    int rc = lf_buf_printf(b, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %016" PRIx64 " %" PRIu64 " ",
                           e->id.dev, e->id.ino, e->id.fp_len, e->id.fp_hash, e->offset);
    if (rc == LF_OK) {
        rc = escape_path(b, e->path);
    }
    if (rc == LF_OK) {
        rc = lf_buf_append_char(b, '\n');
    }
    return rc;
}

/* Any failed append fails the whole rendering: a file with a valid checksum but missing
 * bytes would replace good offsets with wrong ones. */
static int render(struct lf_ckpt_store *s, struct lf_buf *b)
{
    int rc = lf_buf_append_str(b, CKPT_HEADER);
    for (size_t i = 0; i < s->n && rc == LF_OK; i++) {
        rc = render_entry(b, &s->v[i]);
    }
    if (rc != LF_OK) {
        return rc;
    }
    uint64_t sum = XXH64(b->data, b->len, 0);
    return lf_buf_printf(b, "end %zu %016" PRIx64 "\n", s->n, sum);
}

static int write_temp(struct lf_ckpt_store *s, char *tmp, size_t cap)
{
    struct lf_buf b;
    lf_buf_init(&b, 0);
    int rc = render(s, &b);
    if (rc != LF_OK) {
        lf_buf_fini(&b);
        return rc;
    }
    if ((size_t)snprintf(tmp, cap, "%s.tmp", s->file) >= cap) {
        lf_buf_fini(&b);
        return LF_ETOOBIG; /* a cut name would write (and rename) some other file */
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, LF_STATE_FILE_MODE);
    if (fd < 0) {
        lf_buf_fini(&b);
        return errno == ENOSPC ? LF_ENOSPC : LF_EIO;
    }
    rc = lf_buf_write_fd(&b, fd);
    if (rc == LF_OK && fsync(fd) != 0) {
        rc = LF_EIO;
    }
    if (close(fd) != 0 && rc == LF_OK) {
        rc = LF_EIO; /* a deferred write error (NFS) shows only here */
    }
    lf_buf_fini(&b);
    if (rc != LF_OK) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

int lf_ckpt_write_temp_only(struct lf_ckpt_store *s)
{
    char tmp[4096];
    return write_temp(s, tmp, sizeof(tmp));
}

static int fsync_dir_of(const char *file)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s", file) >= sizeof(dir)) {
        return LF_ETOOBIG;
    }
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return LF_EIO;
    }
    int rc = fsync(fd) == 0 ? LF_OK : LF_EIO;
    close(fd);
    return rc;
}

int lf_ckpt_save(struct lf_ckpt_store *s)
{
    if (!s->dirty) {
        return LF_OK;
    }
    char tmp[4096];
    int rc = write_temp(s, tmp, sizeof(tmp));
    if (rc != LF_OK) {
        return rc;
    }
    if (rename(tmp, s->file) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return LF_EIO;
    }
    rc = fsync_dir_of(s->file);
    if (rc == LF_OK) {
        s->dirty = false;
    }
    return rc;
}

int lf_ckpt_remove(struct lf_ckpt_store *s, uint64_t dev, uint64_t ino)
{
    struct lf_ckpt_entry *e = lf_ckpt_find(s, dev, ino);
    if (!e) {
        return LF_OK;
    }
    free(e->path);
    *e = s->v[--s->n];
    s->dirty = true;
    return LF_OK;
}
