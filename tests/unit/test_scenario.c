/*
 * The scenario text format (src/link/scenario_parse.c) and runner: good
 * scripts parse into the expected statements; bad ones (unknown action, bad
 * number, missing argument, unterminated string...) fail at the right line
 * and column; no overread at a guard page; failed expectations name a line.
 */
#define _DEFAULT_SOURCE /* mmap, mprotect */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "link/scenario.h"

static int parse(const char *text, struct scn *s, struct scn_error *e)
{
    return utcp__scn_parse(text, strlen(text), s, e);
}

/* Parses text, expecting an error at line:col whose message contains
 * `what`. */
static void expect_error(const char *text, unsigned line, unsigned col,
                         const char *what)
{
    struct scn s;
    struct scn_error e;
    int rc = parse(text, &s, &e);
    if (rc == 0) {
        utcp__scn_free(&s);
        fail_msg("'%s' parsed, expected an error '%s'", text, what);
    }
    if (e.line != line || e.col != col || !strstr(e.msg, what))
        fail_msg("'%s': error %u:%u '%s', expected %u:%u '...%s...'", text,
                 e.line, e.col, e.msg, line, col, what);
}

static void good_script_parses_into_statements(void **state)
{
    (void)state;
    const char *text =
        "# a comment\n"
        "title \"two \\\"quoted\\\" words\"\n"
        "seed 42\n"
        "stack * msl 1s rcvbuf 64KiB\n"
        "link both delay 10ms loss 2.5% burst 1% 30% rate 1.5Mbit queue 8k\n"
        "\n"
        "at 0 B.srv listen 80 backlog 4\n"
        "at 0 A.c connect B 80 from 5000   # trailing comment\n"
        "at +50ms B.s accept srv\n"
        "A.c send 1.5k\n"
        "B.s recv eof\n"
        "at 1s drop A->B fin nth 2 count 3\n"
        "delay B->A ack-only 100ms every\n"
        "wait idle max 10s\n"
        "A.c close => ok\n"
        "expect A.c path closed>syn-sent>ESTABLISHED\n"
        "expect A sent >=3 syn\r\n"
        "expect clean";
    struct scn s;
    struct scn_error e;
    int rc = parse(text, &s, &e);
    if (rc != 0)
        fail_msg("%u:%u: %s", e.line, e.col, e.msg);
    assert_true(s.has_seed);
    assert_int_equal(s.seed, 42);
    assert_string_equal(s.title, "two \"quoted\" words");
    assert_int_equal(s.nsocks, 3); /* B.srv, A.c, B.s */
    assert_int_equal(s.n, 14);
    assert_int_equal(s.st[0].kind, SCN_STACK);
    assert_int_equal(s.st[0].n, 3);
    assert_int_equal(s.st[0].kv[0].v, 1000000);
    assert_int_equal(s.st[0].kv[1].v, 65536);
    assert_int_equal(s.st[1].kind, SCN_LINK);
    assert_int_equal(s.st[1].kv[1].v, 25000);       /* 2.5 % in ppm */
    assert_int_equal(s.st[1].kv[2].v2, 300000);
    assert_int_equal(s.st[1].kv[3].v, 1500000);
    assert_int_equal(s.st[1].kv[4].v, 8000);
    assert_int_equal(s.st[2].kind, SCN_LISTEN);
    assert_int_equal(s.st[2].n2, 4);
    assert_int_equal(s.st[3].kind, SCN_CONNECT);
    assert_int_equal(s.st[3].n, 80);
    assert_int_equal(s.st[3].n2, 5000);
    assert_int_equal(s.st[4].at_mode, SCN_AT_REL);
    assert_int_equal(s.st[4].at, 50000);
    assert_int_equal(s.st[5].n, 1500);
    assert_int_equal(s.st[6].mode, SCN_RECV_EOF);
    assert_int_equal(s.st[7].rule.nth, 2);
    assert_int_equal(s.st[7].rule.count, 3);
    assert_int_equal(s.st[8].rule.nth, 0);
    assert_int_equal(s.st[8].rule.delay_us, 100000);
    assert_int_equal(s.st[9].kind, SCN_WAIT_IDLE);
    assert_int_equal(s.st[10].has_want, 1);
    assert_int_equal(s.st[10].want, 0);
    assert_int_equal(s.st[11].kind, SCN_EXP_PATH);
    assert_int_equal(s.st[12].kind, SCN_EXP_SENT);
    assert_int_equal(s.st[12].mode, SCN_CMP_GE);
    assert_int_equal(s.st[13].kind, SCN_EXP_CLEAN);
    assert_int_equal(s.st[13].line, 18);
    utcp__scn_free(&s);
}

static void node_statements_parse(void **state)
{
    (void)state;
    const char *text = "A inject syn from 40000 to 80 seq 123456789\n"
                       "A inject rst on A.c seq +1000\n"
                       "B replay data\n"
                       "B stat\n"
                       "B.x accept B.l nowait => EAGAIN\n"
                       "expect A connections >=2\n";
    struct scn s;
    struct scn_error e;
    int rc = parse(text, &s, &e);
    if (rc != 0)
        fail_msg("%u:%u: %s", e.line, e.col, e.msg);
    assert_int_equal(s.st[0].kind, SCN_INJECT);
    assert_int_equal(s.st[0].n, 40000);
    assert_int_equal(s.st[0].n2, 80);
    assert_int_equal(s.st[0].seq, 123456789);
    assert_false(s.st[0].seq_rel);
    assert_int_equal(s.st[1].sock, 0);
    assert_true(s.st[1].seq_rel);
    assert_int_equal(s.st[1].seq, 1000);
    assert_int_equal(s.st[2].kind, SCN_REPLAY);
    assert_int_equal(s.st[2].node, 1);
    assert_int_equal(s.st[3].kind, SCN_STAT);
    assert_int_equal(s.st[4].kind, SCN_ACCEPT);
    assert_true(s.st[4].nowait);
    assert_int_equal(s.st[5].kind, SCN_EXP_CONNECTIONS);
    assert_int_equal(s.st[5].mode, SCN_CMP_GE);
    utcp__scn_free(&s);
}

static void empty_and_comment_only_scripts_parse(void **state)
{
    (void)state;
    struct scn s;
    struct scn_error e;
    assert_int_equal(parse("", &s, &e), 0);
    assert_int_equal(s.n, 0);
    utcp__scn_free(&s);
    assert_int_equal(parse("# nothing\n\n   \t\n", &s, &e), 0);
    utcp__scn_free(&s);
}

static void unknown_action_is_reported(void **state)
{
    (void)state;
    expect_error("frobnicate 3\n", 1, 1, "unknown action 'frobnicate'");
    expect_error("\n\nA.c sendd 5\n", 3, 5, "unknown action 'sendd'");
    expect_error("A explode\n", 1, 3, "unknown action 'explode'");
    expect_error("expect A.c wobbles\n", 1, 12, "unknown expectation");
}

static void bad_numbers_are_reported(void **state)
{
    (void)state;
    expect_error("A.c send 12x\n", 1, 10, "bad size '12x'");
    expect_error("A.c send -1\n", 1, 10, "bad size");
    expect_error("at 10 A.c close\n", 1, 4, "bad duration '10'");
    expect_error("at 5parsecs A.c close\n", 1, 4, "bad duration");
    expect_error("link both loss 101%\n", 1, 16, "above 100%");
    expect_error("link both loss 2\n", 1, 16, "bad percentage");
    expect_error("link both rate 10mbit\n", 1, 16, "bad bit rate '10mbit'");
    expect_error("link both rate 0.1bit\n", 1, 16, "at least 1bit");
    expect_error("B.l listen 0\n", 1, 12, "port 0");
    expect_error("B.l listen 70000\n", 1, 12, "too large");
    expect_error("B.l listen 99999999999999999999999\n", 1, 12, "bad number");
    expect_error("seed 1.5\n", 1, 6, "bad number");
    expect_error("drop A->B syn nth 0\n", 1, 19, "nth counts from 1");
    expect_error("expect A sent lots syn\n", 1, 15, "bad number");
}

static void missing_arguments_are_reported(void **state)
{
    (void)state;
    expect_error("A.c send\n", 1, 9, "missing argument");
    expect_error("A.c connect B\n", 1, 14, "missing argument: the port");
    expect_error("link both\n", 1, 10, "missing argument");
    expect_error("stack A msl\n", 1, 12, "missing argument: a value for 'msl'");
    expect_error("at\n", 1, 3, "missing argument: a time");
    expect_error("at 5ms\n", 1, 7, "missing argument: a statement");
    expect_error("expect\n", 1, 7, "missing argument");
    expect_error("A.c close =>\n", 1, 13, "missing argument: a result");
    expect_error("A note\n", 1, 7, "missing argument: the note");
}

static void bad_words_are_reported(void **state)
{
    (void)state;
    expect_error("title \"never ends\n", 1, 7, "unterminated string");
    expect_error("C.x close\n", 1, 1, "unknown action");
    expect_error("link sideways delay 1ms\n", 1, 6, "unknown direction");
    expect_error("link both speed 9\n", 1, 11, "unknown setting 'speed'");
    expect_error("drop A->B flag\n", 1, 11, "unknown segment kind");
    expect_error("expect A.c state DANCING\n", 1, 18, "unknown state");
    expect_error("expect A.c path CLOSED>>LISTEN\n", 1, 24, "empty state");
    expect_error("expect A.c path CLOSED>NOPE\n", 1, 24, "unknown state 'NOPE'");
    expect_error("A.c connect B 80 => EWHAT\n", 1, 21, "unknown error name");
    expect_error("A.c set frobs 1\n", 1, 9, "unknown option 'frobs'");
    expect_error("A.c close now\n", 1, 11, "unexpected 'now'");
    expect_error("A.c@ close\n", 1, 4, "bad character in a socket name");
    expect_error("A.b$d close\n", 1, 4, "bad character in a socket name");
    expect_error("expect A timer-set sometimes 1\n", 1, 20, "unknown timer");
    expect_error("A.c connect A 80\n", 1, 13, "cannot connect to itself");
    expect_error("title untitled\n", 1, 7, "must be a \"string\"");
    expect_error("A inject syn\n", 1, 13, "missing argument: 'on SOCKET'");
    expect_error("A inject syn from 1 to 2 seq +5\n", 1, 32, "needs 'on SOCKET'");
    expect_error("A inject urg from 1 to 2\n", 1, 10, "unknown segment kind");
    expect_error("A inject rst on B.s\n", 1, 17, "on the injecting node");
    expect_error("B replay syn\n", 1, 10, "only 'data'");
}

static void ordering_rules_are_enforced(void **state)
{
    (void)state;
    expect_error("at 10ms A.c close\nat 5ms A.c close\n", 2, 4,
                 "time goes backwards");
    expect_error("A.c close\nseed 3\n", 2, 1, "before the first action");
    expect_error("A.c close\nstack A msl 1s\n", 2, 1,
                 "before the first action");
    expect_error("at 1s seed 3\n", 1, 1, "take no time");
    /* After `wait idle` the time is unknown: absolute times are allowed. */
    struct scn s;
    struct scn_error e;
    assert_int_equal(parse("at 10ms A.c close\nwait idle\nat 5ms A.d close\n",
                           &s, &e),
                     0);
    utcp__scn_free(&s);
}

static void control_bytes_and_long_lines_are_rejected(void **state)
{
    (void)state;
    struct scn s;
    struct scn_error e;
    const char nul[] = "A.c close\0 extra\n";
    assert_int_equal(utcp__scn_parse(nul, sizeof nul - 1, &s, &e), -1);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.col, 10);
    char big[5000];
    memset(big, 'x', sizeof big);
    assert_int_equal(utcp__scn_parse(big, sizeof big, &s, &e), -1);
    assert_non_null(strstr(e.msg, "longer than"));
    char many[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(many, "x ");
    expect_error(many, 1, 129, "more than 64 words");
}

/* The text ends exactly where a PROT_NONE page begins: any read past the
 * end faults. Every prefix of a script is parsed that way. */
static void input_ending_at_a_guard_page_is_not_overread(void **state)
{
    (void)state;
    long pg = sysconf(_SC_PAGESIZE);
    assert_true(pg > 0);
    size_t page = (size_t)pg;
    uint8_t *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    assert_int_equal(mprotect(mem + page, page, PROT_NONE), 0);
    const char *text = "title \"t\"\nlink both delay 10ms loss 1.5%\n"
                       "at 0 B.l listen 80\nat +1.5s A.c connect B 80 => ok\n"
                       "expect A.c path CLOSED>SYN_SENT\nexpect A sent >=1 syn";
    size_t len = strlen(text);
    for (size_t k = 0; k <= len; k++) {
        char *at = (char *)mem + page - k;
        memcpy(at, text, k);
        struct scn s;
        struct scn_error e;
        if (utcp__scn_parse(at, k, &s, &e) == 0)
            utcp__scn_free(&s);
    }
    munmap(mem, 2 * page);
}

static void failed_expectation_names_its_line(void **state)
{
    (void)state;
    const char *text = "link both delay 10ms\n"
                       "at 0 B.l listen 80\n"
                       "at 0 A.c connect B 80\n"
                       "at 100ms expect A.c state TIME_WAIT\n"
                       "at 100ms A.c send 10\n"
                       "at 200ms expect B.l state LISTEN\n";
    struct scn s;
    struct scn_error e;
    assert_int_equal(parse(text, &s, &e), 0);
    struct scn_result r;
    assert_int_equal(utcp__scn_run(&s, NULL, &r), 1);
    assert_int_equal(r.nfail, 1);
    assert_int_equal(r.fail[0].line, 4);
    assert_non_null(strstr(r.fail[0].msg, "ESTABLISHED"));
    utcp_sim_destroy(r.net);
    utcp__scn_free(&s);
}

static void unexpected_error_and_blocked_call_fail(void **state)
{
    (void)state;
    const char *text = "link both delay 10ms\n"
                       "at 0 A.c connect B 81\n"   /* refused, not expected */
                       "at 0 B.l listen 80\n"
                       "at 0 B.s accept l\n";      /* nobody ever comes */
    struct scn s;
    struct scn_error e;
    assert_int_equal(parse(text, &s, &e), 0);
    struct scn_result r;
    assert_int_equal(utcp__scn_run(&s, NULL, &r), 1);
    assert_int_equal(r.nfail, 2);
    assert_int_equal(r.fail[0].line, 2);
    assert_non_null(strstr(r.fail[0].msg, "ECONNREFUSED"));
    assert_int_equal(r.fail[1].line, 4);
    assert_non_null(strstr(r.fail[1].msg, "still waiting"));
    utcp_sim_destroy(r.net);
    utcp__scn_free(&s);
}

static void data_is_delivered_byte_exact(void **state)
{
    (void)state;
    const char *text = "link both delay 5ms loss 3% reorder 5% dup 2% "
                       "corrupt 1%\nstack * msl 1s rcvbuf 8192\n"
                       "at 0 B.l listen 80\nB.s accept l\nB.s recv auto\n"
                       "A.c connect B 80\nA.c send 100k\nA.c close\n"
                       "B.s recv eof\nB.s close\nwait idle\nB.l close\n"
                       "wait idle\nexpect B.s received 100k eof\n"
                       "expect clean\n";
    struct scn s;
    struct scn_error e;
    assert_int_equal(parse(text, &s, &e), 0);
    struct scn_result r;
    int rc = utcp__scn_run(&s, NULL, &r);
    if (rc != 0)
        fail_msg("line %u: %s", r.fail[0].line, r.fail[0].msg);
    assert_int_equal(r.bytes_delivered, 100000);
    utcp_sim_destroy(r.net);
    utcp__scn_free(&s);
}

static void stream_pattern_depends_on_key_and_offset(void **state)
{
    (void)state;
    uint32_t k1 = utcp__scn_stream_key(1, 2, 3, 4), k2 = utcp__scn_stream_key(3, 4, 1, 2);
    assert_int_not_equal(k1, k2);
    int same = 0;
    for (uint64_t i = 0; i < 4096; i++)
        same += utcp__scn_pattern_byte(k1, i) == utcp__scn_pattern_byte(k2, i);
    assert_true(same < 64); /* about 1/256 of them by chance */
    same = 0;
    for (uint64_t i = 0; i < 4096; i++)
        same += utcp__scn_pattern_byte(k1, i) == utcp__scn_pattern_byte(k1, i + 1);
    assert_true(same < 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_script_parses_into_statements),
        cmocka_unit_test(node_statements_parse),
        cmocka_unit_test(empty_and_comment_only_scripts_parse),
        cmocka_unit_test(unknown_action_is_reported),
        cmocka_unit_test(bad_numbers_are_reported),
        cmocka_unit_test(missing_arguments_are_reported),
        cmocka_unit_test(bad_words_are_reported),
        cmocka_unit_test(ordering_rules_are_enforced),
        cmocka_unit_test(control_bytes_and_long_lines_are_rejected),
        cmocka_unit_test(input_ending_at_a_guard_page_is_not_overread),
        cmocka_unit_test(failed_expectation_names_its_line),
        cmocka_unit_test(unexpected_error_and_blocked_call_fail),
        cmocka_unit_test(data_is_delivered_byte_exact),
        cmocka_unit_test(stream_pattern_depends_on_key_and_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
