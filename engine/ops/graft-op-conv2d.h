/* conv2d tuning knob beyond graft-ops.h, used by tests to exercise batch chunking. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The im2col matrix is built for as many images at a time as fit in this many
 * bytes (at least one image). 0 restores the default (128 MiB). Process-wide. */
void graft_conv2d_set_chunk_bytes (gsize bytes);

G_END_DECLS
