/* What every fuzz target shares: the libFuzzer entry points, and GLib warnings made fatal. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A CRITICAL or WARNING from GLib or json-glib means a reader used a value
 * without checking it: count it as a crash, as the test suite does. */
static inline void
graft_fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_FATAL_MASK);
}
