/* Batch normalisation shaped for GPUs: the statistics and the backward sums reduce a chunk of
 * rows per work-group in local memory (TC channels × L lanes, channels along dimension 0 so
 * that a row's channels are read together), in a fixed tree order, then bn_stats_finish and
 * bn_grad_finish (batchnorm.cl) merge the chunks in order: two stages, no atomics, the same
 * bits run to run. The per-element passes take one element per work-item. */

/* Stage 1 of the statistics over rows [chunk·part, +chunk): each lane sums x − shift (shift =
 * the chunk's first row, as batchnorm.cl) over rows r ≡ lane (mod L), then the lanes' (count,
 * mean, M2) are merged pairwise (Chan et al.) down a tree. partial holds mean[part][c] then
 * M2[part][c], as bn_stats_partial writes them. red holds 3·TC·L floats.
 * Global size: { ceil(c/TC)·TC, chunks·L }. */
__kernel void gpu_bn_stats_partial (__global const float *x, const ulong x_off,
                                    __global float *partial, const int rows, const int c,
                                    const int chunk, const int chunks, __local float *red)
{
  const int tc = get_local_size (0), lanes = get_local_size (1);
  const int lc = get_local_id (0), lane = get_local_id (1);
  const int ch = get_global_id (0);
  const int part = get_group_id (1);
  const int r0 = part * chunk, r1 = min (rows, r0 + chunk);
  __local float *rc = red, *rm = red + tc * lanes, *rq = red + 2 * tc * lanes;
  float cnt = 0.0f, mean = 0.0f, m2 = 0.0f;
  if (ch < c)
    {
      const float shift = x[x_off + (ulong) r0 * c + ch];
      float s1 = 0.0f, s2 = 0.0f;
      for (int r = r0 + lane; r < r1; r += lanes)
        {
          const float d = x[x_off + (ulong) r * c + ch] - shift;
          s1 += d;
          s2 = fma (d, d, s2);
          cnt += 1.0f;
        }
      if (cnt > 0.0f)
        {
          mean = shift + s1 / cnt;
          m2 = fmax (s2 - s1 * s1 / cnt, 0.0f);
        }
    }
  const int me = lane * tc + lc;
  rc[me] = cnt;
  rm[me] = mean;
  rq[me] = m2;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int stride = lanes / 2; stride > 0; stride /= 2)
    {
      if (lane < stride)
        {
          const int other = (lane + stride) * tc + lc;
          const float na = rc[me], nb = rc[other];
          if (nb > 0.0f)
            {
              const float total = na + nb;
              const float delta = rm[other] - rm[me];
              rm[me] += delta * (nb / total);
              rq[me] += rq[other] + delta * delta * (na * nb / total);
              rc[me] = total;
            }
        }
      barrier (CLK_LOCAL_MEM_FENCE);
    }
  if (lane == 0 && ch < c)
    {
      partial[(ulong) part * c + ch] = rm[lc];
      partial[((ulong) chunks + part) * c + ch] = rq[lc];
    }
}

/* The ReLU gate of the training backward, recomputed from x with exactly the operations of
 * gpu_bn_normalise (so exactly the forward's value). */
#define GPU_BN_GATE(g, pre) ((pre) > 0.0f ? (g) : 0.0f)

/* Stage 1 of the training backward: Σ dy and Σ dy·x̂ over a chunk (dy gated when relu), lanes
 * summed down a tree. partial holds Σdy[part][c] then Σdy·x̂[part][c], as bn_grad_partial.
 * red holds 2·TC·L floats. Global size: { ceil(c/TC)·TC, chunks·L }. */
__kernel void gpu_bn_grad_partial (__global const float *x, const ulong x_off,
                                   __global const float *gamma, const ulong gamma_off,
                                   __global const float *beta, const ulong beta_off,
                                   __global const float *dy, const ulong dy_off,
                                   __global const float *mean, const ulong mean_off,
                                   __global const float *invstd, const ulong invstd_off,
                                   __global float *partial, const int rows, const int c,
                                   const int chunk, const int chunks, const int relu,
                                   __local float *red)
{
  const int tc = get_local_size (0), lanes = get_local_size (1);
  const int lc = get_local_id (0), lane = get_local_id (1);
  const int ch = get_global_id (0);
  const int part = get_group_id (1);
  const int r0 = part * chunk, r1 = min (rows, r0 + chunk);
  __local float *rg = red, *rx = red + tc * lanes;
  float sg = 0.0f, sgx = 0.0f;
  if (ch < c)
    {
      const float m = mean[mean_off + ch], inv = invstd[invstd_off + ch];
      const float scale = inv * gamma[gamma_off + ch], b = beta[beta_off + ch];
      for (int r = r0 + lane; r < r1; r += lanes)
        {
          const ulong i = (ulong) r * c + ch;
          const float xv = x[x_off + i];
          float g = dy[dy_off + i];
          if (relu)
            g = GPU_BN_GATE (g, fma (xv - m, scale, b));
          sg += g;
          sgx = fma (g, (xv - m) * inv, sgx);
        }
    }
  const int me = lane * tc + lc;
  rg[me] = sg;
  rx[me] = sgx;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int stride = lanes / 2; stride > 0; stride /= 2)
    {
      if (lane < stride)
        {
          rg[me] += rg[(lane + stride) * tc + lc];
          rx[me] += rx[(lane + stride) * tc + lc];
        }
      barrier (CLK_LOCAL_MEM_FENCE);
    }
  if (lane == 0 && ch < c)
    {
      partial[(ulong) part * c + ch] = rg[lc];
      partial[((ulong) chunks + part) * c + ch] = rx[lc];
    }
}

/* y = (x − mean)·(invstd·γ) + β, ReLU if asked; with moving = 1 the statistics are the
 * moving mean and variance. One element per work-item. Global size: { rows·c }. */
__kernel void gpu_bn_normalise (__global const float *x, const ulong x_off,
                                __global const float *gamma, const ulong gamma_off,
                                __global const float *beta, const ulong beta_off,
                                __global const float *mean, const ulong mean_off,
                                __global const float *stat, const ulong stat_off,
                                __global float *y, const ulong y_off,
                                const ulong count, const int c, const int moving,
                                const float eps, const int relu)
{
  const ulong i = get_global_id (0);
  if (i >= count)
    return;
  const int ch = (int) (i % (ulong) c);
  const float s = stat[stat_off + ch];
  const float inv = moving ? rsqrt (s + eps) : s;
  float v = fma (x[x_off + i] - mean[mean_off + ch], inv * gamma[gamma_off + ch],
                 beta[beta_off + ch]);
  if (relu)
    v = fmax (v, 0.0f);
  y[y_off + i] = v;
}

/* dx = invstd·γ·(dy − Σdy/rows − x̂·Σdy·x̂/rows), dy gated when relu. sums as bn_grad_finish
 * leaves them. Global size: { rows·c }. */
__kernel void gpu_bn_backward_data (__global const float *x, const ulong x_off,
                                    __global const float *beta, const ulong beta_off,
                                    __global const float *dy, const ulong dy_off,
                                    __global const float *gamma, const ulong gamma_off,
                                    __global const float *mean, const ulong mean_off,
                                    __global const float *invstd, const ulong invstd_off,
                                    __global const float *sums, __global float *dx,
                                    const ulong dx_off, const ulong count, const int rows,
                                    const int c, const int relu)
{
  const ulong i = get_global_id (0);
  if (i >= count)
    return;
  const int ch = (int) (i % (ulong) c);
  const float inv_rows = 1.0f / (float) rows;
  const float inv = invstd[invstd_off + ch], m = mean[mean_off + ch];
  const float ga = gamma[gamma_off + ch];
  const float xv = x[x_off + i];
  float g = dy[dy_off + i];
  if (relu)
    g = GPU_BN_GATE (g, fma (xv - m, inv * ga, beta[beta_off + ch]));
  const float xh = (xv - m) * inv;
  dx[dx_off + i] = inv * ga * (g - sums[ch] * inv_rows - xh * (sums[c + ch] * inv_rows));
}

/* Inference backward: dx = dy·γ/sqrt(moving_var + eps), gated by y > 0 when relu.
 * Global size: { rows·c }. */
__kernel void gpu_bn_backward_infer (__global const float *y, const ulong y_off,
                                     __global const float *dy, const ulong dy_off,
                                     __global const float *gamma, const ulong gamma_off,
                                     __global const float *mvar, const ulong mvar_off,
                                     __global float *dx, const ulong dx_off,
                                     const ulong count, const int c, const float eps,
                                     const int relu)
{
  const ulong i = get_global_id (0);
  if (i >= count)
    return;
  const int ch = (int) (i % (ulong) c);
  float g = dy[dy_off + i];
  if (relu)
    g = y[y_off + i] > 0.0f ? g : 0.0f;
  dx[dx_off + i] = g * gamma[gamma_off + ch] * rsqrt (mvar[mvar_off + ch] + eps);
}
