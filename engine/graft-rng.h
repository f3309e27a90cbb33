/* Counter-based random numbers, bit-identical to cl-kernels/common.cl. */
#pragma once

#include <glib.h>

static inline guint32
graft_hash (guint32 x)
{
  x ^= x >> 16; x *= 0x7feb352dU;
  x ^= x >> 15; x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* Uniform float in [0, 1) from (seed, stream, index). */
static inline float
graft_uniform (guint32 seed, guint32 stream, guint32 index)
{
  guint32 h = graft_hash (seed ^ graft_hash (stream * 0x9e3779b9U ^ graft_hash (index)));
  return (float) (h >> 8) * (1.0f / 16777216.0f);
}
