/* uint8 image batches → float [0, 1], with Keras' RandomFlip("horizontal") + RandomRotation(0.1, fill_mode="reflect") for training.
 * Keep in step with graft_augment_ref() in engine/data/graft-image.c. */

/* TensorFlow's ImageProjectiveTransform "reflect" mapping (d c b a | a b c d | d c b a). */
inline float augment_reflect (float c, int len)
{
  float n = (float) len;
  if (c < 0.0f)
    {
      if (len <= 1)
        c = 0.0f;
      else
        {
          float sz2 = 2.0f * n;
          if (c < -sz2)
            c = sz2 * (float) (int) (-c / sz2) + c;
          c = (c < -n) ? c + sz2 : -c - 1.0f;
        }
    }
  else if (c > n - 1.0f)
    {
      if (len <= 1)
        c = 0.0f;
      else
        {
          float sz2 = 2.0f * n;
          c -= sz2 * (float) (int) (c / sz2);
          if (c >= n)
            c = sz2 - c - 1.0f;
        }
    }
  return clamp (c, 0.0f, n - 1.0f);
}

inline float augment_read (__global const uchar *img, int S, int x, int y, int c, int flip)
{
  if (x < 0 || x >= S || y < 0 || y >= S)
    return 0.0f;
  if (flip)
    x = S - 1 - x;
  return (float) img[(y * S + x) * 3 + c];
}

/* One work item per output pixel (x, y, image n); @keys[n] is the dataset
 * index that keys the image's random draws. */
__kernel void augment_u8 (__global const uchar *src, __global float *dst, uint dst_off,
                          __global const uint *keys, int S, int count, int training,
                          uint seed, uint epoch)
{
  int x = get_global_id (0), y = get_global_id (1), n = get_global_id (2);
  if (x >= S || y >= S || n >= count)
    return;
  __global const uchar *img = src + (size_t) n * S * S * 3;
  __global float *out = dst + dst_off + ((size_t) (n * S + y) * S + x) * 3;
  if (!training)
    {
      for (int c = 0; c < 3; c++)
        out[c] = (float) img[(y * S + x) * 3 + c] / 255.0f;
      return;
    }
  uint key = keys[n];
  int flip = graft_uniform (seed, epoch * 2u, key) < 0.5f;
  float u = graft_uniform (seed, epoch * 2u + 1u, key);
  float angle = (2.0f * u - 1.0f) * (0.1f * 6.28318530717958647692f);
  float cs = cos (angle), sn = sin (angle), m = (float) (S - 1);
  float xo = (m - (cs * m - sn * m)) / 2.0f;
  float yo = (m - (sn * m + cs * m)) / 2.0f;
  float fx = augment_reflect (cs * (float) x - sn * (float) y + xo, S);
  float fy = augment_reflect (sn * (float) x + cs * (float) y + yo, S);
  float x0 = floor (fx), y0 = floor (fy);
  int ix = (int) x0, iy = (int) y0;
  for (int c = 0; c < 3; c++)
    {
      float top = (x0 + 1.0f - fx) * augment_read (img, S, ix, iy, c, flip) +
                  (fx - x0) * augment_read (img, S, ix + 1, iy, c, flip);
      float bot = (x0 + 1.0f - fx) * augment_read (img, S, ix, iy + 1, c, flip) +
                  (fx - x0) * augment_read (img, S, ix + 1, iy + 1, c, flip);
      out[c] = ((y0 + 1.0f - fy) * top + (fy - y0) * bot) / 255.0f;
    }
}
