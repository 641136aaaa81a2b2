/*
 * m2mhal driver plugin ABI, version 1.
 *
 * A plugin is a shared library named libm2mhal_driver_<name>.so placed in one of the daemon's
 * plugin_dirs. It exports one function, m2mhal_plugin_entry, returning a pointer to a static
 * m2mhal_plugin_v1 table. The daemon checks abi_version and struct_size, calls describe(), and
 * refuses the plugin with a log line if anything is wrong.
 *
 * Drivers are sans-IO state machines: the host owns the port, the timers and the threads. It hands
 * each driver instance CBOR-encoded inputs and receives CBOR-encoded effects (see
 * plugin-api/src/messages.rs for the schema; maps use the snake_case field names shown there, and
 * enums are externally tagged: {"rx": h'..'}, "opened", {"timer": 3}, ...).
 *
 * Memory: every buffer a plugin fills is owned by the plugin until the host hands it back through
 * free_buffer. The host never frees plugin memory itself and the plugin never frees host memory.
 *
 * Threads: the host serialises all calls on one instance; different instances may be called from
 * different threads. Entry points must not block, must not perform I/O, and must not unwind or
 * longjmp across this boundary.
 */
#ifndef M2MHAL_PLUGIN_H
#define M2MHAL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define M2MHAL_ABI_VERSION 1u

/* Status codes returned by describe, open and handle. */
#define M2MHAL_STATUS_OK 0    /* out holds CBOR */
#define M2MHAL_STATUS_ERROR 1 /* out holds a UTF-8 error message */
#define M2MHAL_STATUS_PANIC 2 /* out holds a UTF-8 message; the instance is unusable */

/* A byte buffer filled by the plugin (ptr may be NULL when len is 0). */
typedef struct m2mhal_buffer {
    uint8_t *ptr;
    size_t len;
    size_t cap; /* for the plugin's own bookkeeping */
} m2mhal_buffer;

/* The entry table. Later ABI versions only append fields. */
typedef struct m2mhal_plugin_v1 {
    uint32_t abi_version;  /* M2MHAL_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(m2mhal_plugin_v1) */
    const char *name;      /* driver name, NUL-terminated, static ("cellular") */
    const char *version;   /* plugin version, NUL-terminated, static */
    /* Writes the CBOR DriverDescription into *out. */
    int32_t (*describe)(m2mhal_buffer *out);
    /* Creates an instance from a CBOR OpenConfig; on error writes a message into *out. */
    int32_t (*open)(const uint8_t *config, size_t config_len, void **instance,
                    m2mhal_buffer *out);
    /* Handles one CBOR Input; writes a CBOR array of Effects into *out. */
    int32_t (*handle)(void *instance, const uint8_t *input, size_t input_len,
                      m2mhal_buffer *out);
    /* Destroys an instance. */
    void (*close)(void *instance);
    /* Releases a buffer this plugin filled. */
    void (*free_buffer)(m2mhal_buffer *buffer);
} m2mhal_plugin_v1;

/* The one symbol a plugin exports. */
const m2mhal_plugin_v1 *m2mhal_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* M2MHAL_PLUGIN_H */
