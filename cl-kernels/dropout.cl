/* Inverted dropout with a counter-based mask, so backward regenerates it instead of storing it. */

/* y = x·scale where graft_uniform(seed, stream, i) >= rate, else 0. The same
 * kernel applies the mask to dy in the backward pass. In place allowed. */
__kernel void dropout_apply (__global const float *x, const ulong x_off,
                             __global float *y, const ulong y_off,
                             const float rate, const float scale,
                             const uint seed, const uint stream, const uint n)
{
  uint i = get_global_id (0);
  if (i >= n)
    return;
  float u = graft_uniform (seed, stream, i);
  y[y_off + i] = u >= rate ? x[x_off + i] * scale : 0.0f;
}
