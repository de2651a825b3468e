/* Test support: with UTCP_FSM_COVERAGE=path, every state change a test
 * causes is appended to path as "FROM TO CAUSE", so a script can check that
 * the tests take every row of the transition table (test_fsm_coverage.sh). */
#ifndef UTCP_FSMLOG_H
#define UTCP_FSMLOG_H

#include "utcp/trace.h"

void fsmlog_transition(const struct utcp_trace_event *ev);

#endif
