/* fuzz_util.c - scratch directory and file helpers of the fuzz targets (fuzz_util.h). */
#include "fuzz_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[PATH_MAX];

const char *fuzz_scratch_dir(void)
{
    if (fuzz_dir[0]) {
        return fuzz_dir;
    }
    const char *base = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/lf-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
        perror("mkdtemp");
        abort();
    }
    return fuzz_dir;
}

void fuzz_write_file(const char *dir, const char *name, const uint8_t *data, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w <= 0) {
            perror(path);
            abort();
        }
        data += w;
        n -= (size_t)w;
    }
    close(fd);
}

static void fuzz_clear_at(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && depth > 0) {
            fuzz_clear_at(path, depth - 1);
            rmdir(path);
        }
    }
    closedir(d);
}

void fuzz_clear_dir(const char *dir)
{
    fuzz_clear_at(dir, 1);
}

void fuzz_scratch_remove(void)
{
    if (fuzz_dir[0]) {
        fuzz_clear_at(fuzz_dir, 2);
        rmdir(fuzz_dir);
        fuzz_dir[0] = '\0';
    }
}
