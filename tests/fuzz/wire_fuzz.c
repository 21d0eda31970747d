/*
 * wire_fuzz - libFuzzer target for wire_decode (the bytes a peer sends us)
 *
 * Input layout: the bytes before the first NUL are the command frame, the
 * rest is the body frame (no NUL: the whole input is the command and the body
 * is empty). Any decoded message is re-encoded and decoded again, which must
 * succeed and give the same command.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queues/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t cmdlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *body = nul ? nul + 1 : data + size;
    size_t bodylen = nul ? size - cmdlen - 1 : 0;
    wire_msg_t m, again;
    char err[256];

    wire_msg_init(&m);
    wire_msg_init(&again);
    if (wire_decode(data, cmdlen, body, bodylen, &m, err, sizeof err) == 0) {
        const char *cmd;
        char *out;
        size_t outlen;

        if (wire_encode(&m, &cmd, &out, &outlen) != 0)
            abort();
        if (wire_decode(cmd, strlen(cmd), out, outlen, &again, err, sizeof err) != 0 || again.cmd != m.cmd)
            abort();
        free(out);
    } else if (m.cmd != WIRE_NONE || m.data) {
        abort(); /* a failed decode must leave the message cleared */
    }
    wire_msg_clear(&again);
    wire_msg_clear(&m);
    return 0;
}
