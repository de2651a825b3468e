/*
 * `utcp http`'s request targets (tools/http_util.c): strict %-decoding,
 * ".." refused before and after decoding (also at a guard page), files only
 * under the root (symlinks checked), no blocking on a FIFO; MIME, dates.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_util.h"

static int decode(const char *t, char *out, size_t outlen)
{
    return utcp_http_decode_target(t, strlen(t), out, outlen);
}

static void decode_plain_and_escaped_paths(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(decode("/", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(decode("/a%20b?x=1", out, sizeof out), 0);
    assert_string_equal(out, "/a b");
    assert_int_equal(decode("/a#frag", out, sizeof out), 0);
    assert_string_equal(out, "/a");
    assert_int_equal(decode("/%41%6a%4A", out, sizeof out), 0);
    assert_string_equal(out, "/AjJ");
    assert_int_equal(decode("/...", out, sizeof out), 0);
    assert_string_equal(out, "/...");
    assert_int_equal(decode("/a..b/.x/./c", out, sizeof out), 0);
    assert_string_equal(out, "/a..b/.x/./c");
    assert_int_equal(decode("/a?../../etc", out, sizeof out), 0);
    assert_string_equal(out, "/a"); /* the query is not the path */
}

static void decode_refuses_malformed_targets(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(decode("", out, sizeof out), 400);
    assert_int_equal(decode("a/b", out, sizeof out), 400);
    assert_int_equal(decode("*", out, sizeof out), 400);
    assert_int_equal(decode("http://h/a", out, sizeof out), 400);
    assert_int_equal(decode("/%", out, sizeof out), 400);
    assert_int_equal(decode("/%2", out, sizeof out), 400);
    assert_int_equal(decode("/%zz", out, sizeof out), 400);
    assert_int_equal(decode("/%2g", out, sizeof out), 400);
    assert_int_equal(decode("/%00", out, sizeof out), 400);
    assert_int_equal(decode("/a%00.txt", out, sizeof out), 400);
    const char nul[] = "/a\0b";
    assert_int_equal(utcp_http_decode_target(nul, 4, out, sizeof out), 400);
}

static void decode_refuses_dotdot_plain_and_encoded(void **state)
{
    (void)state;
    char out[256];
    const char *bad[] = {"/..",        "/../etc/passwd",
                         "/a/../../b", "/a/..",
                         "/%2e%2e/x",  "/%2E%2E/x",
                         "/.%2e/x",    "/%2e./x",
                         "/a/..%2fb",  "/..%2f..%2fetc/passwd",
                         "//../x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = decode(bad[i], out, sizeof out);
        if (rc != 400)
            fail_msg("'%s' gave %d, want 400", bad[i], rc);
    }
}

static void decode_too_long_is_414(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(decode("/abcdef", out, sizeof out), 0); /* 7 + NUL */
    assert_int_equal(decode("/abcdefg", out, sizeof out), 414);
    assert_int_equal(decode("/a", out, 0), 400);
}

/* A target whose last byte is the last byte before a PROT_NONE page. */
static void decode_at_guard_page(void **state)
{
    (void)state;
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    const char *cases[] = {"/a", "/%4", "/%", "/%41", "/..", "/x?q"};
    int want[] = {0, 400, 400, 0, 400, 0};
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        char *t = (char *)m + pg - n;
        memcpy(t, cases[i], n); /* no NUL: the page ends there */
        int rc = utcp_http_decode_target(t, n, out, sizeof out);
        if (rc != want[i])
            fail_msg("'%s' gave %d, want %d", cases[i], rc, want[i]);
    }
    munmap(m, (size_t)pg * 2);
}

/* ---- opening files under a root ---- */

struct tree {
    char base[PATH_MAX], root[PATH_MAX];
};

static void put(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof p);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof *t);
    snprintf(t->base, sizeof t->base, "/tmp/utcp-http-util-XXXXXX");
    assert_non_null(mkdtemp(t->base));
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/www", t->base);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_non_null(realpath(p, t->root));
    put(t->root, "a.txt", "hello");
    put(t->base, "secret.txt", "secret");
    snprintf(p, sizeof p, "%s/sub", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    put(p, "index.html", "<p>");
    snprintf(p, sizeof p, "%s/empty", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/out.txt", t->root);
    char target[PATH_MAX + 64];
    snprintf(target, sizeof target, "%s/secret.txt", t->base);
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/in.txt", t->root);
    assert_int_equal(symlink("a.txt", p), 0);
    snprintf(p, sizeof p, "%s/fifo", t->root);
    assert_int_equal(mkfifo(p, 0644), 0);
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->base);
    if (system(cmd) != 0)
        return -1;
    free(t);
    return 0;
}

static int open_status(struct tree *t, const char *path, bool index,
                       uint64_t *size)
{
    int fd = -1;
    uint64_t sz = 0;
    char resolved[PATH_MAX];
    int st = utcp_http_open(t->root, path, index, &fd, &sz, resolved);
    if (st == 200) {
        assert_true(fd >= 0);
        close(fd);
    }
    if (size)
        *size = sz;
    return st;
}

static void open_serves_files_and_refuses_the_rest(void **state)
{
    struct tree *t = *state;
    uint64_t size = 0;
    assert_int_equal(open_status(t, "/a.txt", false, &size), 200);
    assert_int_equal(size, 5);
    assert_int_equal(open_status(t, "//a.txt", false, NULL), 200);
    assert_int_equal(open_status(t, "/in.txt", false, NULL), 200);
    assert_int_equal(open_status(t, "/missing", false, NULL), 404);
    assert_int_equal(open_status(t, "/a.txt/x", false, NULL), 404);
    assert_int_equal(open_status(t, "/out.txt", false, NULL), 403);
    assert_int_equal(open_status(t, "/fifo", false, NULL), 403);
    assert_int_equal(open_status(t, "/", false, NULL), 403);
    assert_int_equal(open_status(t, "/sub", false, NULL), 403);
    assert_int_equal(open_status(t, "/sub/", true, &size), 200);
    assert_int_equal(size, 3);
    assert_int_equal(open_status(t, "/empty/", true, NULL), 404);
}

static void mime_reason_and_dates(void **state)
{
    (void)state;
    assert_string_equal(utcp_http_mime("/x/a.HTML"),
                        "text/html; charset=utf-8");
    assert_string_equal(utcp_http_mime("a.tar.gz"), "application/gzip");
    assert_string_equal(utcp_http_mime("/d.d/noext"),
                        "application/octet-stream");
    assert_string_equal(utcp_http_mime("a."), "application/octet-stream");
    assert_string_equal(utcp_http_mime("png"), "application/octet-stream");
    assert_string_equal(utcp_http_reason(404), "Not Found");
    assert_string_equal(utcp_http_reason(431),
                        "Request Header Fields Too Large");
    assert_string_equal(utcp_http_reason(299), "Unknown");
    char b[40];
    utcp_http_date(0, b, sizeof b);
    assert_string_equal(b, "Thu, 01 Jan 1970 00:00:00 GMT");
    utcp_http_logtime(1795271400, b, sizeof b);
    assert_string_equal(b, "21/Nov/2026:14:30:00 +0000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_plain_and_escaped_paths),
        cmocka_unit_test(decode_refuses_malformed_targets),
        cmocka_unit_test(decode_refuses_dotdot_plain_and_encoded),
        cmocka_unit_test(decode_too_long_is_414),
        cmocka_unit_test(decode_at_guard_page),
        cmocka_unit_test_setup_teardown(open_serves_files_and_refuses_the_rest,
                                        tree_setup, tree_teardown),
        cmocka_unit_test(mime_reason_and_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
