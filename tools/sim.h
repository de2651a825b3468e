/*
 * `utcp sim` internals shared by the command (sim.c: arguments, ladder,
 * pcap) and the built-in scenarios (sim_scenarios.c).
 */
#ifndef UTCP_TOOLS_SIM_H
#define UTCP_TOOLS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/sim.h"
#include "utcp/utcp.h"

enum { SIM_A = 0, SIM_B = 1 };

#define SIM_DELAY_US 10000u /* one-way delay of every scenario's link */
#define SIM_MAX_EXPECT 4

/* A running scenario: the network and the first failure seen. */
struct sim_ctx {
    struct utcp_sim *net;
    bool failed;
    char err[512];
};

struct sim_scenario {
    const char *name;
    const char *desc;
    /* Adjusts the network before it is created (may be NULL). */
    void (*setup)(struct utcp_sim_config *cfg);
    /* Drives the stacks; reports failures with sim_fail(). */
    void (*run)(struct sim_ctx *x);
    /* The expected state paths ("CLOSED>SYN_SENT>ESTABLISHED") of each
     * node's connections, in order of their first state change; NULL ends
     * a list. */
    const char *expect[2][SIM_MAX_EXPECT];
};

/* The built-in scenarios. */
extern const struct sim_scenario sim_scenarios[];
extern const size_t sim_scenario_count;

/* Records the first failure (printf-style). */
void sim_fail(struct sim_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
