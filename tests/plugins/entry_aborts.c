/* A plugin written against the public C header whose entry function aborts, as a C plugin does
 * on a failed assertion: loading it kills the process that loads it (SIGABRT). m2mhald must
 * refuse it with one log line naming the signal, and serve with the other plugins. */
#include <stdlib.h>

#include "m2mhal_plugin.h"

const m2mhal_plugin_v1 *m2mhal_plugin_entry(void) { abort(); }
