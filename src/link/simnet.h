/*
 * Internal side of the simulated network (public API: utcp/sim.h). Kept
 * separate so a later text scenario runner can reach internals without
 * widening the public API.
 */
#ifndef UTCP_LINK_SIMNET_H
#define UTCP_LINK_SIMNET_H

#include "utcp/sim.h"

#endif
