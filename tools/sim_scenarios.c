/*
 * The built-in scenarios of `utcp sim` (shared/SCENARIOS.md names): each is
 * a script, tools/scenarios/NAME.utcp, embedded in the binary; this table
 * adds the description and the exact RFC 9293 3.3.2 state paths both ends
 * must take. Must never hold run logic: the scripts are the scenarios.
 */
#include <string.h>

#include "sim.h"

#define PATH_A_ACTIVE_CLOSE                                                    \
    "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED"
#define PATH_B_PASSIVE_CLOSE                                                   \
    "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED"

const struct sim_scenario sim_scenarios[] = {
    {"classic",
     "handshake, data both ways, active close, TIME_WAIT expiry (the demo)",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"handshake", "A connects to B listening: SYN, SYN+ACK, ACK",
     {{"CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"active-close",
     "after data both ways A closes first: FIN, ACK, FIN, ACK, 2*MSL",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"half-close",
     "A shuts down its sending side; B sends 1 MiB in CLOSE_WAIT, then "
     "closes",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"three-way-close",
     "B answers A's FIN with one FIN+ACK: FIN_WAIT_2 is skipped",
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"simultaneous-open",
     "both send SYN before receiving the other's: one connection",
     {{"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED"},
      {"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED"}}},
    {"simultaneous-close",
     "both send FIN before receiving the other's: CLOSING on both ends",
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN",
       "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>"
       "CLOSED"}}},
    {"lost-final-ack",
     "A's last ACK is lost: B retransmits its FIN, A re-ACKs and restarts "
     "2*MSL",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"lost-ack-of-fin",
     "B's ACK of A's FIN is lost; B's FIN acks it: FIN_WAIT_1 -> TIME_WAIT, "
     "not CLOSING",
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"time-wait-duplicates",
     "an old duplicate reaches A in TIME_WAIT, then a new incarnation: no "
     "harm",
     {{PATH_A_ACTIVE_CLOSE, "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE,
       "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"old-duplicate-syn",
     "an old SYN reaches B; A answers B's SYN+ACK with RST; B returns to "
     "LISTEN",
     {{NULL}, {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>LISTEN"}}},
    {"syn-retransmit",
     "B never answers: A retransmits its SYN with back-off, then times out",
     {{"CLOSED>SYN_SENT>CLOSED"}, {NULL}}},
    {"refused", "A connects to a port where nothing listens: RST, refused",
      {{"CLOSED>SYN_SENT>CLOSED"}, {NULL}}},
    {"reset",
     "a forged in-window RST gets a challenge ACK; an abortive close resets "
     "B",
     {{"CLOSED>SYN_SENT>ESTABLISHED>CLOSED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED"}}},
    {"half-open",
     "B restarts and forgets the connection; A's next data gets a RST",
     {{"CLOSED>SYN_SENT>ESTABLISHED>CLOSED"},
      {"CLOSED>LISTEN>CLOSED", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED"}}},
    {"close-wait-leak",
     "B's application never closes: CLOSE_WAIT for ever (A half-closed, "
     "FIN_WAIT_2)",
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT"}}},
    {"fin-wait-2-timeout",
     "A closed, B never sends FIN: A leaves FIN_WAIT_2 after 60 s",
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT"}}},
    {"backlog",
     "backlog 1, three clients before accept(): the extra ones wait and get "
     "in",
     {{"CLOSED>SYN_SENT>ESTABLISHED", "CLOSED>SYN_SENT>ESTABLISHED",
       "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED",
       "LISTEN>SYN_RECEIVED>ESTABLISHED", "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"syn-received-close",
     "B closes its connection while in SYN_RECEIVED: B sends FIN",
     {{"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED"},
      {"CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>"
       "CLOSED"}}},
    {"lossy",
     "200 kB over a link with jitter, 2 % loss, duplicates, reordering and "
     "corruption",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"impaired-bulk",
     "4 MB through 5 % loss, 5 % reordering and 20 ms each way (RACK-TLP "
     "keeps the retransmission timer quiet)",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"impaired-bulk-bbr",
     "the same 4 MB with BBR: about 3 s where NewReno takes about 30",
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"port-reuse",
     "A binds the port of its TIME_WAIT connection: refused, then allowed "
     "with REUSEADDR",
     {{PATH_A_ACTIVE_CLOSE, "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE,
       "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
};

const size_t sim_scenario_count = sizeof sim_scenarios / sizeof sim_scenarios[0];

const struct sim_embedded *sim_script(const char *name)
{
    for (size_t i = 0; i < sim_embedded_count; i++)
        if (!strcmp(sim_embedded[i].name, name))
            return &sim_embedded[i];
    return NULL;
}
