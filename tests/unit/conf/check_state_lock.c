/* check_state_lock.c - the state_dir lock (lf_fsutil): created modes, the holder's pid
 * in the message of a second taker, and what is refused in the lock's place. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_fsutil.h"
#include "lf_testlib.h"
#include "logferry/lf_err.h"

static char err[4200], warn[4200];

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(test_lock_taken_once)
{
    char *dir = lft_mkdtemp("lock");
    char state[512], lock[600], want[128];
    snprintf(state, sizeof(state), "%s/a/b/state", dir);
    snprintf(lock, sizeof(lock), "%s/lock", state);
    int fd1, fd2;
    ck_assert_int_eq(lf_state_lock(state, &fd1, err, sizeof(err), warn, sizeof(warn)), LF_OK);
    ck_assert_int_eq(mode_of(state), 0750);
    ck_assert_int_eq(mode_of(lock), 0640);
    ck_assert_str_eq(warn, "");
    char *pid = lft_read_file(lock, NULL);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    ck_assert_str_eq(pid, want);
    free(pid);
    /* flock is per open file: a second open, even in this process, is refused */
    ck_assert_int_eq(lf_state_lock(state, &fd2, err, sizeof(err), warn, sizeof(warn)), LF_EAGAIN);
    ck_assert_int_eq(fd2, -1);
    snprintf(want, sizeof(want), "is in use by another logferry (pid %ld)", (long)getpid());
    ck_assert_msg(strstr(err, want), "%s", err);
    close(fd1);
    ck_assert_int_eq(lf_state_lock(state, &fd2, err, sizeof(err), warn, sizeof(warn)), LF_OK);
    close(fd2);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_lock_refuses_odd_paths)
{
    char *dir = lft_mkdtemp("lock");
    char path[512], lock[600];
    int fd;
    snprintf(path, sizeof(path), "%s/file", dir);
    lft_write_file(path, "x", false);
    ck_assert_int_eq(lf_state_lock(path, &fd, err, sizeof(err), warn, sizeof(warn)), LF_EIO);
    ck_assert_msg(strstr(err, "is not a directory"), "%s", err);

    snprintf(path, sizeof(path), "%s/s1", dir);
    snprintf(lock, sizeof(lock), "%s/lock", path);
    ck_assert_int_eq(mkdir(path, 0750), 0);
    ck_assert_int_eq(mkdir(lock, 0750), 0); /* a directory where the lock goes */
    ck_assert_int_eq(lf_state_lock(path, &fd, err, sizeof(err), warn, sizeof(warn)), LF_EIO);
    ck_assert_msg(strstr(err, "cannot open the lock file"), "%s", err);

    snprintf(path, sizeof(path), "%s/s2", dir);
    snprintf(lock, sizeof(lock), "%s/lock", path);
    ck_assert_int_eq(mkdir(path, 0750), 0);
    ck_assert_int_eq(symlink("/etc/passwd", lock), 0); /* never followed */
    ck_assert_int_eq(lf_state_lock(path, &fd, err, sizeof(err), warn, sizeof(warn)), LF_EIO);
    ck_assert_msg(strstr(err, "cannot open the lock file"), "%s", err);

    snprintf(path, sizeof(path), "%s/s3", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    ck_assert_int_eq(chmod(path, 0777), 0);
    ck_assert_int_eq(lf_state_lock(path, &fd, err, sizeof(err), warn, sizeof(warn)), LF_OK);
    ck_assert_msg(strstr(warn, "is accessible to every user (mode 0777)"), "%s", warn);
    close(fd);
    lft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state-lock");
    TCase *tc = tcase_create("lock");
    tcase_add_test(tc, test_lock_taken_once);
    tcase_add_test(tc, test_lock_refuses_odd_paths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
