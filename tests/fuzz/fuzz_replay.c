/* fuzz_replay.c - a main() for the fuzz targets outside libFuzzer: feeds every file given
 * (or every file of each directory given) to LLVMFuzzerTestOneInput once. Built with the
 * normal compiler, so the unit suite (and its ASan+UBSan run in CI) replays the seed
 * corpora and every input a fuzz run ever crashed on (tests/fuzz/regressions/).
 * Exit status 0 after all inputs (a crash or sanitizer report ends the process), 1 when
 * an argument cannot be read or no input was found.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(1u << 20);
    size_t n = buf ? fread(buf, 1, 1u << 20, f) : 0;
    fclose(f);
    if (!buf) {
        return -1;
    }
    /* an exact-size copy, so ASan sees a read past the input's end */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) {
        free(buf);
        return -1;
    }
    memcpy(in, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 0;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char sub[4096];
        if (names[i]->d_name[0] != '.') {
            snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
            rc |= replay_path(sub, count);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        rc |= replay_path(argv[i], &count);
    }
    fuzz_scratch_remove();
    printf("replayed %u inputs\n", count);
    return rc == 0 && count > 0 ? 0 : 1;
}
