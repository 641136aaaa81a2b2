/* A driver plugin built for an ABI this daemon does not speak (v99): m2mhald must refuse it with
 * one log line and go on. Only the leading fields matter; the host reads `abi_version` first. */
#include <stdint.h>

struct plugin_table {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;
    const char *version;
    void *entry_points[5];
};

static const struct plugin_table TABLE = {
    .abi_version = 99,
    .struct_size = sizeof(struct plugin_table),
    .name = "wrongabi",
    .version = "9.9.9",
    .entry_points = {0},
};

const struct plugin_table *m2mhal_plugin_entry(void) { return &TABLE; }
