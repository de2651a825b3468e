/*
 * Names and messages of the wire layer's rejection reasons, derived from the
 * single UTCP_WIRE_REASONS list in utcp/wire.h (no hand-synced tables); no
 * RFC of its own. Never returns NULL, never allocates.
 */
#include "utcp/wire.h"

static const char *const reason_str[] = {
#define UTCP_X_(name, str) [UTCP_WIRE_##name] = str,
    UTCP_WIRE_REASONS(UTCP_X_)
#undef UTCP_X_
};

static const char *const reason_name[] = {
#define UTCP_X_(name, str) [UTCP_WIRE_##name] = #name,
    UTCP_WIRE_REASONS(UTCP_X_)
#undef UTCP_X_
};

_Static_assert(sizeof reason_str / sizeof reason_str[0] ==
                   UTCP_WIRE_REASON_COUNT,
               "reason_str covers every reason");
_Static_assert(sizeof reason_name / sizeof reason_name[0] ==
                   UTCP_WIRE_REASON_COUNT,
               "reason_name covers every reason");

const char *utcp_wire_reason_str(enum utcp_wire_reason r)
{
    /* The enum may be unsigned or signed: compare as unsigned. */
    if ((unsigned)r >= (unsigned)UTCP_WIRE_REASON_COUNT)
        return "unknown wire reason";
    return reason_str[r];
}

const char *utcp_wire_reason_name(enum utcp_wire_reason r)
{
    if ((unsigned)r >= (unsigned)UTCP_WIRE_REASON_COUNT)
        return "UNKNOWN";
    return reason_name[r];
}
