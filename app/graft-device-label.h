/* Short names for OpenCL devices, for the header bar (the full name goes in a tooltip). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "CPU (PoCL)" for PoCL's CPU device, whose name is its build target
 * ("pthread-skylake-avx512-Intel(R) Xeon(R) …"); otherwise the name without "(R)", "(TM)",
 * "CPU @ 2.10GHz" and repeated spaces, with the type: "NVIDIA GeForce RTX 3080 (GPU)".
 * Names longer than 40 characters end in "…". */
char *graft_device_short_label (const char *name, const char *type, const char *platform);

G_END_DECLS
