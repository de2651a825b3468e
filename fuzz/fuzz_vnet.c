/*
 * libFuzzer target for the virtio-net header parser (src/link/vnet.c): the
 * input is one frame as a TUN device in offload mode hands it up (a 10-byte
 * header, then the packet). A header that parses must describe the packet:
 * a partial checksum position inside it, CSUM_OK only for the TCP checksum
 * of an IPv4 TCP packet; completing the checksum stays inside the buffer;
 * the packet then goes through a stack with the parser's flags. Must never
 * read or write outside the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/vnet.h"
#include "utcp/utcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void discard(void *ctx, const uint8_t *pkt, size_t len,
                    const struct utcp_output_meta *meta)
{
    (void)ctx;
    uint8_t h[UTCP_VNET_HDR_LEN];
    /* whatever the stack sends, its metadata builds a header */
    CHECK(utcp_vnet_build(h, pkt, len, meta));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct utcp_stack *st;
    if (!st) {
        struct utcp_config cfg;
        utcp_config_init(&cfg);
        cfg.addr = 0xC6120002u; /* 198.18.0.2 */
        cfg.output_ex = discard;
        cfg.offload = UTCP_OFFLOAD_TX_CSUM;
        cfg.tso_max = 65000;
        cfg.seed = 1;
        CHECK(utcp_stack_create(&cfg, &st) == 0);
    }
    size_t blen = size < UTCP_VNET_HDR_LEN ? size : UTCP_VNET_HDR_LEN;
    size_t len = size - blen;
    uint8_t *pkt = malloc(len ? len : 1);
    CHECK(pkt != NULL);
    memcpy(pkt, data + blen, len);
    struct utcp_vnet_rx rx;
    enum utcp_vnet_reason r = utcp_vnet_parse(data, blen, pkt, len, &rx);
    CHECK((int)r >= 0 && r < UTCP_VNET_REASON_COUNT);
    CHECK(strcmp(utcp_vnet_reason_text((int)r), "?") != 0);
    if (r == UTCP_VNET_OK) {
        if (rx.csum_partial) {
            CHECK((size_t)rx.h.csum_start + rx.h.csum_offset + 2u <= len);
            utcp_vnet_csum_complete(pkt, len, rx.h.csum_start,
                                    rx.h.csum_offset);
        }
        if (rx.input_flags && rx.csum_partial) {
            CHECK(len >= 40 && (pkt[0] >> 4) == 4 && pkt[9] == 6);
            CHECK(rx.h.csum_start == (pkt[0] & 0x0f) * 4u);
            CHECK(rx.h.csum_offset == 16);
        }
        CHECK(rx.h.hdr_len <= len);
        utcp_input_ex(st, 1, pkt, len, rx.input_flags);
    }
    free(pkt);
    return 0;
}
