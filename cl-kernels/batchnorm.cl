/* Batch normalisation over rows = N·H·W per channel (optionally fused with ReLU): training
 * statistics by two-stage reduction, normalisation, and the backward passes.
 *
 * Work-items walk channels fastest so neighbouring items load neighbouring floats; the "4"
 * variants carry four channels each (used when c % 4 == 0). Tensor offsets are in floats.
 * Bodies are macros over the element type T (float or float4) and its load/store. */

#define BN_LD1(p, i) ((p)[i])
#define BN_ST1(v, p, i) ((p)[i] = (v))
#define BN_LD4(p, i) vload4 (0, (p) + (i))
#define BN_ST4(v, p, i) vstore4 ((v), 0, (p) + (i))

/* Stage 1 of the statistics: per chunk of rows and channel, the chunk mean and the sum of
 * squared deviations from it (M2). Sums run over x − (the chunk's first value) so that a
 * large mean does not swamp the variance. partial holds mean[chunk][c] then M2[chunk][c].
 * Global size: { c / V, chunks }. */
#define BN_STATS_PARTIAL(NAME, T, V, LD, ST)                                                \
__kernel void NAME (__global const float *x, const ulong x_off, __global float *partial,   \
                    const int rows, const int c, const int chunk, const int chunks)        \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ch = get_global_id (1);                                                         \
  if (cv >= c || ch >= chunks)                                                              \
    return;                                                                                 \
  const int r0 = ch * chunk, r1 = min (rows, r0 + chunk);                                   \
  const T shift = LD (x, x_off + (ulong) r0 * c + cv);                                      \
  T s1 = (T) 0.0f, s2 = (T) 0.0f;                                                           \
  for (int r = r0; r < r1; r++)                                                             \
    {                                                                                       \
      const T d = LD (x, x_off + (ulong) r * c + cv) - shift;                               \
      s1 += d;                                                                              \
      s2 = fma (d, d, s2);                                                                  \
    }                                                                                       \
  const float cnt = (float) (r1 - r0);                                                      \
  ST (shift + s1 / cnt, partial, (ulong) ch * c + cv);                                      \
  ST (fmax (s2 - s1 * s1 / cnt, (T) 0.0f), partial, ((ulong) chunks + ch) * c + cv);        \
}

BN_STATS_PARTIAL (bn_stats_partial, float, 1, BN_LD1, BN_ST1)
BN_STATS_PARTIAL (bn_stats_partial4, float4, 4, BN_LD4, BN_ST4)

/* Stage 2: merges the chunks of one channel in order (Chan et al.'s pairwise update), saves
 * mean and 1/sqrt(var + eps) and moves the moving statistics towards the batch ones with the
 * unbiased variance (rows/(rows−1), as TensorFlow's fused kernel; 1 row keeps the biased
 * one). Global size: { c }. */
__kernel void bn_stats_finish (__global const float *partial, const int rows, const int c,
                               const int chunk, const int chunks, const float eps,
                               const float momentum,
                               __global float *mean, const ulong mean_off,
                               __global float *invstd, const ulong invstd_off,
                               __global float *mmean, const ulong mmean_off,
                               __global float *mvar, const ulong mvar_off)
{
  const int ch = get_global_id (0);
  if (ch >= c)
    return;
  float m = 0.0f, m2 = 0.0f, count = 0.0f;
  for (int k = 0; k < chunks; k++)
    {
      const float nb = (float) (min (rows, (k + 1) * chunk) - k * chunk);
      const float mb = partial[(ulong) k * c + ch];
      const float m2b = partial[((ulong) chunks + k) * c + ch];
      const float total = count + nb;
      const float delta = mb - m;
      m += delta * (nb / total);
      m2 += m2b + delta * delta * (count * nb / total);
      count = total;
    }
  const float var = m2 / (float) rows;
  const float unbiased = m2 / (float) max (rows - 1, 1);
  mean[mean_off + ch] = m;
  invstd[invstd_off + ch] = 1.0f / sqrt (var + eps);
  mmean[mmean_off + ch] = momentum * mmean[mmean_off + ch] + (1.0f - momentum) * m;
  mvar[mvar_off + ch] = momentum * mvar[mvar_off + ch] + (1.0f - momentum) * unbiased;
}

/* y = (x − mean)·(invstd·γ) + β, then ReLU if asked. With moving = 1 the statistics are the
 * moving mean and variance (inference), else the saved mean and 1/std (training).
 * Global size: { c / V, rows }. */
#define BN_NORMALISE(NAME, T, V, LD, ST)                                                    \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *gamma, const ulong gamma_off,                    \
                    __global const float *beta, const ulong beta_off,                      \
                    __global const float *mean, const ulong mean_off,                      \
                    __global const float *stat, const ulong stat_off,                      \
                    __global float *y, const ulong y_off,                                  \
                    const int rows, const int c, const int moving, const float eps,        \
                    const int relu)                                                        \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int r = get_global_id (1);                                                          \
  if (cv >= c || r >= rows)                                                                 \
    return;                                                                                 \
  const T s = LD (stat, stat_off + cv);                                                     \
  const T inv = moving ? rsqrt (s + eps) : s;                                               \
  const T scale = inv * LD (gamma, gamma_off + cv);                                         \
  const ulong i = (ulong) r * c + cv;                                                       \
  T v = fma (LD (x, x_off + i) - LD (mean, mean_off + cv), scale, LD (beta, beta_off + cv)); \
  if (relu)                                                                                 \
    v = fmax (v, (T) 0.0f);                                                                 \
  if (relu == 2)                                                                            \
    v = fmin (v, (T) 6.0f);                                                                 \
  ST (v, y, y_off + i);                                                                     \
}

BN_NORMALISE (bn_normalise, float, 1, BN_LD1, BN_ST1)
BN_NORMALISE (bn_normalise4, float4, 4, BN_LD4, BN_ST4)

/* The activation's gradient gate: dy where y > 0 (relu 1) or 0 < y < 6 (relu 2, ReLU6),
 * else 0. */
#define BN_GATE(T, dy, y, relu)                                                             \
  select ((T) 0.0f, (dy), isgreater ((y), (T) 0.0f) &                                       \
                          ((relu) == 2 ? isless ((y), (T) 6.0f) : isgreater ((y), (T) 0.0f)))

/* The ReLU gate of the training backward: the forward's pre-activation x̂·γ + β, recomputed
 * from x with the same operations as bn_normalise (so exactly the same value) instead of
 * reading the output y: one tensor less to read in each backward stage. */
#define BN_TRAIN_GATE(T, LD, g, xv, m, inv, gamma, gamma_off, beta, beta_off, cv, relu)       \
  BN_GATE (T, g, fma ((xv) - (m), (inv) * LD (gamma, gamma_off + cv), LD (beta, beta_off + cv)), \
           relu)

/* Stage 1 of the training backward: per chunk and channel, Σ dy and Σ dy·x̂ (dy gated by
 * x̂·γ + β > 0 when relu). partial holds Σdy[chunk][c] then Σdy·x̂[chunk][c].
 * Global size: { c / V, chunks }. */
#define BN_GRAD_PARTIAL(NAME, T, V, LD, ST)                                                 \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *gamma, const ulong gamma_off,                    \
                    __global const float *beta, const ulong beta_off,                      \
                    __global const float *dy, const ulong dy_off,                          \
                    __global const float *mean, const ulong mean_off,                      \
                    __global const float *invstd, const ulong invstd_off,                  \
                    __global float *partial, const int rows, const int c, const int chunk, \
                    const int chunks, const int relu)                                      \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int ch = get_global_id (1);                                                         \
  if (cv >= c || ch >= chunks)                                                              \
    return;                                                                                 \
  const int r0 = ch * chunk, r1 = min (rows, r0 + chunk);                                   \
  const T m = LD (mean, mean_off + cv), inv = LD (invstd, invstd_off + cv);                 \
  T sg = (T) 0.0f, sgx = (T) 0.0f;                                                          \
  for (int r = r0; r < r1; r++)                                                             \
    {                                                                                       \
      const ulong i = (ulong) r * c + cv;                                                   \
      const T xv = LD (x, x_off + i);                                                       \
      T g = LD (dy, dy_off + i);                                                            \
      if (relu)                                                                             \
        g = BN_TRAIN_GATE (T, LD, g, xv, m, inv, gamma, gamma_off, beta, beta_off, cv, relu);         \
      sg += g;                                                                              \
      sgx = fma (g, (xv - m) * inv, sgx);                                                   \
    }                                                                                       \
  ST (sg, partial, (ulong) ch * c + cv);                                                    \
  ST (sgx, partial, ((ulong) chunks + ch) * c + cv);                                        \
}

BN_GRAD_PARTIAL (bn_grad_partial, float, 1, BN_LD1, BN_ST1)
BN_GRAD_PARTIAL (bn_grad_partial4, float4, 4, BN_LD4, BN_ST4)

/* Stage 2: sums the chunks in order into sums[0..c) = dβ and sums[c..2c) = dγ, and copies them
 * to the caller's gradients when wanted. Global size: { c }. */
__kernel void bn_grad_finish (__global const float *partial, __global float *sums,
                              const int c, const int chunks,
                              __global float *dbeta, const ulong dbeta_off,
                              __global float *dgamma, const ulong dgamma_off, const int want)
{
  const int ch = get_global_id (0);
  if (ch >= c)
    return;
  float sg = 0.0f, sgx = 0.0f;
  for (int k = 0; k < chunks; k++)
    {
      sg += partial[(ulong) k * c + ch];
      sgx += partial[((ulong) chunks + k) * c + ch];
    }
  sums[ch] = sg;
  sums[c + ch] = sgx;
  if (want & 1)
    dbeta[dbeta_off + ch] = sg;
  if (want & 2)
    dgamma[dgamma_off + ch] = sgx;
}

/* dx = invstd·γ·(dy − Σdy/rows − x̂·Σdy·x̂/rows), dy gated when relu.
 * Global size: { c / V, rows }. */
#define BN_BACKWARD_DATA(NAME, T, V, LD, ST)                                                \
__kernel void NAME (__global const float *x, const ulong x_off,                            \
                    __global const float *beta, const ulong beta_off,                      \
                    __global const float *dy, const ulong dy_off,                          \
                    __global const float *gamma, const ulong gamma_off,                    \
                    __global const float *mean, const ulong mean_off,                      \
                    __global const float *invstd, const ulong invstd_off,                  \
                    __global const float *sums, __global float *dx, const ulong dx_off,    \
                    const int rows, const int c, const int relu)                           \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int r = get_global_id (1);                                                          \
  if (cv >= c || r >= rows)                                                                 \
    return;                                                                                 \
  const float inv_rows = 1.0f / (float) rows;                                               \
  const T inv = LD (invstd, invstd_off + cv);                                               \
  const T mg = LD (sums, cv) * inv_rows, mgx = LD (sums, c + cv) * inv_rows;               \
  const ulong i = (ulong) r * c + cv;                                                       \
  const T xv = LD (x, x_off + i), m = LD (mean, mean_off + cv);                             \
  T g = LD (dy, dy_off + i);                                                                \
  if (relu)                                                                                 \
    g = BN_TRAIN_GATE (T, LD, g, xv, m, inv, gamma, gamma_off, beta, beta_off, cv, relu);             \
  const T xh = (xv - m) * inv;                                                              \
  ST (inv * LD (gamma, gamma_off + cv) * (g - mg - xh * mgx), dx, dx_off + i);              \
}

BN_BACKWARD_DATA (bn_backward_data, float, 1, BN_LD1, BN_ST1)
BN_BACKWARD_DATA (bn_backward_data4, float4, 4, BN_LD4, BN_ST4)

/* Inference backward: dx = dy·γ/sqrt(moving_var + eps), gated when relu.
 * Global size: { c / V, rows }. */
#define BN_BACKWARD_INFER(NAME, T, V, LD, ST)                                               \
__kernel void NAME (__global const float *y, const ulong y_off,                            \
                    __global const float *dy, const ulong dy_off,                          \
                    __global const float *gamma, const ulong gamma_off,                    \
                    __global const float *mvar, const ulong mvar_off,                      \
                    __global float *dx, const ulong dx_off,                                \
                    const int rows, const int c, const float eps, const int relu)          \
{                                                                                           \
  const int cv = get_global_id (0) * V;                                                     \
  const int r = get_global_id (1);                                                          \
  if (cv >= c || r >= rows)                                                                 \
    return;                                                                                 \
  const ulong i = (ulong) r * c + cv;                                                       \
  T g = LD (dy, dy_off + i);                                                                \
  if (relu)                                                                                 \
    g = BN_GATE (T, g, LD (y, y_off + i), relu);                                                  \
  ST (g * LD (gamma, gamma_off + cv) * rsqrt (LD (mvar, mvar_off + cv) + eps), dx, dx_off + i); \
}

BN_BACKWARD_INFER (bn_backward_infer, float, 1, BN_LD1, BN_ST1)
BN_BACKWARD_INFER (bn_backward_infer4, float4, 4, BN_LD4, BN_ST4)

/* Inference-mode BN folded into the layer before it: scale = γ·rsqrt(var + eps) (as
 * bn_normalise computes it), shift = (bias − mean)·scale + β. Global size: { c }. */
__kernel void bn_fold (__global const float *gamma, const ulong gamma_off,
                       __global const float *beta, const ulong beta_off,
                       __global const float *mmean, const ulong mmean_off,
                       __global const float *mvar, const ulong mvar_off,
                       __global const float *bias, const ulong bias_off, const int has_bias,
                       __global float *scale, const ulong scale_off,
                       __global float *shift, const ulong shift_off,
                       const int c, const float eps)
{
  const int ch = get_global_id (0);
  if (ch >= c)
    return;
  const float sc = rsqrt (mvar[mvar_off + ch] + eps) * gamma[gamma_off + ch];
  const float b = has_bias ? bias[bias_off + ch] : 0.0f;
  scale[scale_off + ch] = sc;
  shift[shift_off + ch] = fma (b - mmean[mmean_off + ch], sc, beta[beta_off + ch]);
}
