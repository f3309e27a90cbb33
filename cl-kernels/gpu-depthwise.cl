/* Depthwise 3×3 stride-1 "same" convolution shaped for GPUs: one output per work-item, the
 * work-group's input tile (its outputs plus a one-pixel halo) staged in local memory, and
 * channels along dimension 0 so that neighbouring work-items read neighbouring floats of NHWC
 * (coalesced). Tile sizes are the launch's local sizes, chosen per device. */

/* y(n,oy,ox,c) = Σ x(n, oy−1+ky, ox−1+kx, c)·w(ky,kx,c); the input gradient (flip = 1) is the
 * same sum over dy with the taps reversed, w(2−ky, 2−kx, c). The group's outputs are
 * TC channels × TW columns × TH rows; tile holds (TH+2)·(TW+2)·TC floats, zero outside the
 * image. Global size: { ceil(c/TC)·TC, ceil(w/TW)·TW, n·tiles_y·TH } with tiles_y = ceil(h/TH). */
__kernel void gpu_depthwise3_conv (__global const float *x, const ulong x_off,
                                   __global const float *wt, const ulong w_off,
                                   __global float *y, const ulong y_off,
                                   const int n, const int h, const int w, const int c,
                                   const int flip, const int tiles_y, __local float *tile)
{
  const int tc = get_local_size (0), tw = get_local_size (1), th = get_local_size (2);
  const int lc = get_local_id (0), lx = get_local_id (1), ly = get_local_id (2);
  const int ch = get_global_id (0);
  const int ox0 = get_group_id (1) * tw;
  const int img = get_group_id (2) / tiles_y;
  const int oy0 = (get_group_id (2) % tiles_y) * th;
  const int pw = tw + 2, ph = th + 2;
  /* Every work-item of the group stages a share of the tile, channel-fastest. */
  for (int p = lx + tw * ly; p < pw * ph; p += tw * th)
    {
      const int iy = oy0 - 1 + p / pw, ix = ox0 - 1 + p % pw;
      float v = 0.0f;
      if (ch < c && img < n && iy >= 0 && iy < h && ix >= 0 && ix < w)
        v = x[x_off + (((ulong) img * h + iy) * w + ix) * c + ch];
      tile[p * tc + lc] = v;
    }
  barrier (CLK_LOCAL_MEM_FENCE);
  const int ox = ox0 + lx, oy = oy0 + ly;
  if (ch >= c || img >= n || ox >= w || oy >= h)
    return;
  float acc = 0.0f;
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      {
        const int t = flip ? 8 - (ky * 3 + kx) : ky * 3 + kx;
        acc = fma (tile[((ly + ky) * pw + lx + kx) * tc + lc], wt[w_off + (ulong) t * c + ch], acc);
      }
  y[y_off + (((ulong) img * h + oy) * w + ox) * c + ch] = acc;
}

/* Filter gradient, stage 1: group (channel block, chunk of pixels) with TC channels × L lanes;
 * lane l takes the chunk's pixels l, l+L, ... and keeps the nine taps in registers, then the
 * lanes are summed tap by tap in local memory in a fixed tree order, so the result does not
 * depend on scheduling. partial[chunk][tap][c]; depthwise_wgrad_sum (depthwise.cl) adds the
 * chunks in order. L is a power of two; red holds TC·L floats.
 * Global size: { ceil(c/TC)·TC, chunks·L }. */
__kernel void gpu_depthwise3_wgrad (__global const float *x, const ulong x_off,
                                    __global const float *dy, const ulong dy_off,
                                    __global float *partial,
                                    const int n, const int h, const int w, const int c,
                                    const int chunk, __local float *red)
{
  const int tc = get_local_size (0), lanes = get_local_size (1);
  const int lc = get_local_id (0), lane = get_local_id (1);
  const int ch = get_global_id (0);
  const int part = get_group_id (1);
  const long pixels = (long) n * h * w;
  const long p0 = (long) part * chunk, p1 = min (pixels, p0 + chunk);
  float g[9];
  for (int t = 0; t < 9; t++)
    g[t] = 0.0f;
  if (ch < c)
    for (long p = p0 + lane; p < p1; p += lanes)
      {
        const int ox = (int) (p % w), oy = (int) ((p / w) % h);
        const long img = p / ((long) w * h);
        const float gy = dy[dy_off + (ulong) p * c + ch];
        for (int ky = 0; ky < 3; ky++)
          {
            const int iy = oy - 1 + ky;
            if (iy < 0 || iy >= h)
              continue;
            for (int kx = 0; kx < 3; kx++)
              {
                const int ix = ox - 1 + kx;
                if (ix < 0 || ix >= w)
                  continue;
                g[ky * 3 + kx] = fma (gy, x[x_off + (((ulong) img * h + iy) * w + ix) * c + ch],
                                      g[ky * 3 + kx]);
              }
          }
      }
  for (int t = 0; t < 9; t++)
    {
      red[lane * tc + lc] = g[t];
      barrier (CLK_LOCAL_MEM_FENCE);
      for (int stride = lanes / 2; stride > 0; stride /= 2)
        {
          if (lane < stride)
            red[lane * tc + lc] += red[(lane + stride) * tc + lc];
          barrier (CLK_LOCAL_MEM_FENCE);
        }
      if (lane == 0 && ch < c)
        partial[((ulong) part * 9 + t) * c + ch] = red[lc];
      barrier (CLK_LOCAL_MEM_FENCE);
    }
}
