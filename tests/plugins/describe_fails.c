/* A plugin written against the public C header whose describe() fails the way a Rust plugin's
 * caught panic is reported (M2MHAL_STATUS_PANIC with a message): m2mhald must refuse it with one
 * log line naming the message, and go on. */
#include <stdlib.h>
#include <string.h>

#include "m2mhal_plugin.h"

static const char MESSAGE[] = "sensor table missing";

static int32_t describe(m2mhal_buffer *out) {
    size_t len = sizeof(MESSAGE) - 1;
    out->ptr = malloc(len);
    if (out->ptr == NULL) {
        return M2MHAL_STATUS_ERROR;
    }
    memcpy(out->ptr, MESSAGE, len);
    out->len = len;
    out->cap = len;
    return M2MHAL_STATUS_PANIC;
}

static int32_t open_instance(const uint8_t *config, size_t config_len, void **instance,
                             m2mhal_buffer *out) {
    (void)config;
    (void)config_len;
    (void)instance;
    (void)out;
    return M2MHAL_STATUS_ERROR;
}

static int32_t handle(void *instance, const uint8_t *input, size_t input_len, m2mhal_buffer *out) {
    (void)instance;
    (void)input;
    (void)input_len;
    (void)out;
    return M2MHAL_STATUS_ERROR;
}

static void close_instance(void *instance) { (void)instance; }

static void free_buffer(m2mhal_buffer *buffer) {
    free(buffer->ptr);
    buffer->ptr = NULL;
    buffer->len = 0;
    buffer->cap = 0;
}

static const m2mhal_plugin_v1 TABLE = {
    .abi_version = M2MHAL_ABI_VERSION,
    .struct_size = sizeof(m2mhal_plugin_v1),
    .name = "describefails",
    .version = "1.0.0",
    .describe = describe,
    .open = open_instance,
    .handle = handle,
    .close = close_instance,
    .free_buffer = free_buffer,
};

const m2mhal_plugin_v1 *m2mhal_plugin_entry(void) { return &TABLE; }
