/*
 * The TUN driver's checks that need no privilege (utcp/tun.h): address
 * parsing for the tools' options, and the clear errors for bad device names
 * and missing devices, each with a message naming the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "utcp/errors.h"
#include "utcp/tun.h"

static void parse_ipv4_accepts_addresses_and_prefixes(void **state)
{
    (void)state;
    uint32_t a = 0;
    uint8_t p = 0;
    assert_int_equal(utcp_parse_ipv4("198.18.0.2", &a, &p), 0);
    assert_int_equal(a, 0xC6120002u);
    assert_int_equal(p, 32);
    assert_int_equal(utcp_parse_ipv4("198.18.0.1/24", &a, &p), 0);
    assert_int_equal(a, 0xC6120001u);
    assert_int_equal(p, 24);
    assert_int_equal(utcp_parse_ipv4("0.0.0.0/0", &a, &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(utcp_parse_ipv4("255.255.255.255", &a, NULL), 0);
    assert_int_equal(a, 0xFFFFFFFFu);
}

static void parse_ipv4_rejects_garbage(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",         "1.2.3",      "1.2.3.4.5",   "256.1.1.1",   "1.2.3.4/33",
        "1.2.3.4/", "a.b.c.d",    "1.2.3.4 ",    " 1.2.3.4",    "1..2.3",
        "1.2.3.-4", "1.2.3.0004", "1.2.3.4/024", "example.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t a;
        uint8_t p;
        if (utcp_parse_ipv4(bad[i], &a, &p) != UTCP_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    }
    uint32_t a;
    /* a prefix without a place to put it */
    assert_int_equal(utcp_parse_ipv4("1.2.3.4/8", &a, NULL), UTCP_EINVAL);
    assert_int_equal(utcp_parse_ipv4(NULL, &a, NULL), UTCP_EINVAL);
}

static void open_rejects_bad_names_with_a_message(void **state)
{
    (void)state;
    struct utcp_tun *t = (struct utcp_tun *)1;
    char msg[256] = "";
    struct utcp_tun_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "a-name-far-too-long-for-linux";
    assert_int_equal(utcp_tun_open(&cfg, &t, msg, sizeof msg), UTCP_EINVAL);
    assert_null(t);
    assert_non_null(strstr(msg, "bad device name"));
    cfg.name = "a/b";
    assert_int_equal(utcp_tun_open(&cfg, &t, msg, sizeof msg), UTCP_EINVAL);
}

static void open_must_exist_reports_a_missing_device(void **state)
{
    (void)state;
    struct utcp_tun *t = NULL;
    char msg[256] = "";
    struct utcp_tun_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "utcpnosuch9";
    cfg.must_exist = true;
    assert_int_equal(utcp_tun_open(&cfg, &t, msg, sizeof msg), UTCP_ENOENT);
    assert_null(t);
    assert_non_null(strstr(msg, "no device 'utcpnosuch9'"));
    /* NULL message buffers are allowed */
    assert_int_equal(utcp_tun_open(&cfg, &t, NULL, 0), UTCP_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_ipv4_accepts_addresses_and_prefixes),
        cmocka_unit_test(parse_ipv4_rejects_garbage),
        cmocka_unit_test(open_rejects_bad_names_with_a_message),
        cmocka_unit_test(open_must_exist_reports_a_missing_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
