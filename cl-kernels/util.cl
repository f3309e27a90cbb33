/* Small helpers used by tests and tools. */
__kernel void scale_add (__global float *y, const ulong y_off, __global const float *x,
                         const ulong x_off, const float a, const uint n)
{
  uint i = get_global_id (0);
  if (i < n)
    y[y_off + i] += a * x[x_off + i];
}

/* The device's FMA rate: twelve independent chains of n fused multiply-adds in the device's
 * native float vectors per work-item (enough in flight to cover an FMA's latency on a CPU
 * core), each chain's last value summed into y so none is optimised away. */
#if GRAFT_FLOAT_WIDTH >= 16
typedef float16 peak_vec;
#elif GRAFT_FLOAT_WIDTH >= 8
typedef float8 peak_vec;
#else
typedef float4 peak_vec;
#endif
#define PEAK_CHAINS(X) X (0) X (1) X (2) X (3) X (4) X (5) X (6) X (7) X (8) X (9) X (10) X (11)
__kernel void fma_peak (__global float *y, const int n, const float m, const float a)
{
  const float g = (float) get_global_id (0);
#define PEAK_DECL(i) peak_vec c##i = g + (float) i;
#define PEAK_FMA(i) c##i = fma (c##i, m, a);
#define PEAK_SUM(i) + c##i
  PEAK_CHAINS (PEAK_DECL)
  for (int i = 0; i < n; i++)
    {
      PEAK_CHAINS (PEAK_FMA)
    }
  const peak_vec s = (peak_vec) 0.0f PEAK_CHAINS (PEAK_SUM);
  float t = 0.0f;
  for (int i = 0; i < (int) (sizeof (peak_vec) / sizeof (float)); i++)
    t += ((const float *) &s)[i];
  y[get_global_id (0)] = t;
}
