/* Test support: the transition log behind UTCP_FSM_COVERAGE (fsmlog.h). */
#include "fsmlog.h"

#include <stdio.h>
#include <stdlib.h>

void fsmlog_transition(const struct utcp_trace_event *ev)
{
    const char *path = getenv("UTCP_FSM_COVERAGE");
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "%s %s %s\n", utcp_state_name(ev->old_state),
            utcp_state_name(ev->new_state), utcp_cause_name(ev->cause));
    fclose(f);
}
