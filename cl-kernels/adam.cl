/* Adam update (Keras form) over a flat view of parameters; lr_t comes from the host. */

__kernel void adam_update (__global float *p, const ulong p_off,
                           __global const float *g, const ulong g_off,
                           __global float *m, const ulong m_off,
                           __global float *v, const ulong v_off,
                           const float lr_t, const float beta1, const float beta2,
                           const float eps, const uint n)
{
  uint i = get_global_id (0);
  if (i >= n)
    return;
  float gi = g[g_off + i];
  float mi = beta1 * m[m_off + i] + (1.0f - beta1) * gi;
  float vi = beta2 * v[v_off + i] + (1.0f - beta2) * gi * gi;
  m[m_off + i] = mi;
  v[v_off + i] = vi;
  p[p_off + i] -= lr_t * mi / (sqrt (vi) + eps);
}
