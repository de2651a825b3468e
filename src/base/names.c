/*
 * Names and messages derived from the X-macro lists of the public headers
 * (errors, states, causes, timers, drop reasons) and the default allocator.
 * Every table here is generated from one list; nothing is hand-synced.
 */
#include <stdlib.h>

#include "base/base.h"
#include "utcp/errors.h"
#include "utcp/trace.h"

const char *utcp_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define UTCP_X_(name, value, msg)                                              \
    case value:                                                                \
        return msg;
        UTCP_ERRORS(UTCP_X_)
#undef UTCP_X_
    default:
        return "unknown error";
    }
}

const char *utcp_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define UTCP_X_(name, value, msg)                                              \
    case value:                                                                \
        return #name;
        UTCP_ERRORS(UTCP_X_)
#undef UTCP_X_
    default:
        return "EUNKNOWN";
    }
}

#define UTCP_NAME_TABLE_(fn, count, list, macro)                               \
    const char *fn(int v)                                                      \
    {                                                                          \
        static const char *const names[] = {list(macro)};                      \
        return (v >= 0 && v < (int)(count)) ? names[v] : "?";                  \
    }

#define UTCP_STATE_NAME_(name, sync, snd, rcv) #name,
UTCP_NAME_TABLE_(utcp_state_name, UTCP_STATE_COUNT, UTCP_STATES,
                 UTCP_STATE_NAME_)
#define UTCP_PAIR_NAME_(name, text) #name,
#define UTCP_PAIR_TEXT_(name, text) text,
UTCP_NAME_TABLE_(utcp_cause_name, UTCP_CAUSE_COUNT, UTCP_CAUSES,
                 UTCP_PAIR_NAME_)
UTCP_NAME_TABLE_(utcp_cause_text, UTCP_CAUSE_COUNT, UTCP_CAUSES,
                 UTCP_PAIR_TEXT_)
UTCP_NAME_TABLE_(utcp_timer_name, UTCP_TIMER_COUNT, UTCP_TIMER_KINDS,
                 UTCP_PAIR_NAME_)
UTCP_NAME_TABLE_(utcp_drop_name, UTCP_DROP_COUNT, UTCP_DROP_REASONS,
                 UTCP_PAIR_NAME_)
UTCP_NAME_TABLE_(utcp_drop_text, UTCP_DROP_COUNT, UTCP_DROP_REASONS,
                 UTCP_PAIR_TEXT_)

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

const struct utcp_allocator utcp__default_allocator = {default_alloc,
                                                       default_free, NULL};
