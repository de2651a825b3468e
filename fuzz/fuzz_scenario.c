/*
 * libFuzzer target for the scenario text format (src/link/scenario_parse.c):
 * any bytes either parse into statements whose lines, sockets and values
 * stay in range, or fail at a line and column inside the input. Must never
 * crash, leak or overread the input (given without a terminator).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static unsigned count_lines(const uint8_t *data, size_t size)
{
    unsigned n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

static void check_stmt(const struct scn *s, const struct scn_stmt *st,
                       unsigned lines)
{
    CHECK(st->line >= 1 && st->line <= lines);
    CHECK(st->col >= 1);
    CHECK(st->sock == -1 || (size_t)st->sock < s->nsocks);
    CHECK(st->sock2 == -1 || (size_t)st->sock2 < s->nsocks ||
          st->kind == SCN_EXP_TIMER_SET || st->kind == SCN_EXP_TIMER_FIRED);
    CHECK(st->node < SCN_NODES);
    CHECK(st->nkv <= SCN_MAX_KV);
    CHECK(st->dirs >= 0 && st->dirs <= 3);
    if (st->kind == SCN_EXP_PATH || st->kind == SCN_NOTE)
        CHECK(st->text != NULL && strlen(st->text) < 4096);
    if (st->kind == SCN_RULE)
        CHECK(st->rule.action == UTCP_FILTER_ACT_DROP ||
              st->rule.action == UTCP_FILTER_ACT_DELAY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, exactly size bytes: ASan reports any overread. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct scn s;
    struct scn_error err;
    unsigned lines = count_lines(data, size);
    if (utcp__scn_parse(text, size, &s, &err) == 0) {
        CHECK(s.n <= s.cap);
        CHECK(s.nsocks <= SCN_MAX_SOCKS);
        for (size_t i = 0; i < s.n; i++)
            check_stmt(&s, &s.st[i], lines);
        for (size_t i = 0; i < s.nsocks; i++)
            CHECK(s.socks[i].name[0] != '\0' && s.socks[i].node < SCN_NODES);
        utcp__scn_free(&s);
    } else {
        CHECK(err.line >= 1 && err.line <= lines);
        CHECK(err.col >= 1);
        CHECK(err.msg[0] != '\0');
        CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
    }
    free(text);
    return 0;
}
