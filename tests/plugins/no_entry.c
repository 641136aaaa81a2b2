/* A shared object named like a plugin that does not export m2mhal_plugin_entry. */
int m2mhal_something_else(void) { return 42; }
