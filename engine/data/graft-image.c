/* numpy-compatible shuffling, TurboJPEG decoding, bilinear resize and the augmentation reference. */
#include "graft-image.h"
#include "graft-dataset.h"
#include "graft-rng.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- MT19937 (numpy's legacy seeding: mt19937_seed == init_genrand) ---- */

void
graft_mt19937_seed (GraftMT19937 *s, guint32 seed)
{
  for (int i = 0; i < 624; i++)
    {
      s->mt[i] = seed;
      seed = 1812433253U * (seed ^ (seed >> 30)) + (guint32) i + 1U;
    }
  s->pos = 624;
}

static void
mt19937_generate (GraftMT19937 *s)
{
  static const guint32 mag[2] = { 0U, 0x9908b0dfU };
  int k;
  for (k = 0; k < 624 - 397; k++)
    {
      guint32 y = (s->mt[k] & 0x80000000U) | (s->mt[k + 1] & 0x7fffffffU);
      s->mt[k] = s->mt[k + 397] ^ (y >> 1) ^ mag[y & 1];
    }
  for (; k < 623; k++)
    {
      guint32 y = (s->mt[k] & 0x80000000U) | (s->mt[k + 1] & 0x7fffffffU);
      s->mt[k] = s->mt[k + 397 - 624] ^ (y >> 1) ^ mag[y & 1];
    }
  guint32 y = (s->mt[623] & 0x80000000U) | (s->mt[0] & 0x7fffffffU);
  s->mt[623] = s->mt[396] ^ (y >> 1) ^ mag[y & 1];
  s->pos = 0;
}

guint32
graft_mt19937_next (GraftMT19937 *s)
{
  if (s->pos >= 624)
    mt19937_generate (s);
  guint32 y = s->mt[s->pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

guint64
graft_numpy_random_interval (GraftMT19937 *s, guint64 max)
{
  if (max == 0)
    return 0;
  guint64 mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  guint64 value;
  if (max <= 0xffffffffULL)
    {
      while ((value = (graft_mt19937_next (s) & mask)) > max)
        ;
    }
  else
    {
      /* numpy's legacy next_uint64 on MT19937: two 32-bit draws, high first. */
      do
        {
          guint64 hi = graft_mt19937_next (s);
          guint64 lo = graft_mt19937_next (s);
          value = ((hi << 32) | lo) & mask;
        }
      while (value > max);
    }
  return value;
}

void
graft_numpy_shuffle (guint32 seed, guint *v, guint n)
{
  GraftMT19937 s;
  graft_mt19937_seed (&s, seed);
  for (guint i = n > 0 ? n - 1 : 0; i >= 1; i--)
    {
      guint j = (guint) graft_numpy_random_interval (&s, i);
      guint t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
}

/* ---- Reading ---- */

int
graft_image_open_regular (const char *path, char **reason)
{
  /* O_NONBLOCK: opening a named pipe without a writer would wait forever. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      *reason = g_strdup_printf ("cannot be read: %s", g_strerror (errno));
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      *reason = g_strdup_printf ("cannot be read: %s", g_strerror (errno));
      close (fd);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      const char *kind = S_ISFIFO (st.st_mode)                        ? "a named pipe"
                         : S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? "a device"
                         : S_ISSOCK (st.st_mode)                        ? "a socket"
                                                                        : "not a file";
      *reason = g_strdup_printf ("not a regular file (%s)", kind);
      close (fd);
      return -1;
    }
  return fd;
}

gboolean
graft_image_read_file (const char *path, guint8 **data, gsize *len, char **reason)
{
  *data = NULL;
  *len = 0;
  int fd = graft_image_open_regular (path, reason);
  if (fd < 0)
    return FALSE;
  struct stat st;
  if (fstat (fd, &st) != 0 || (guint64) st.st_size > GRAFT_MAX_IMAGE_FILE_BYTES)
    {
      *reason = g_strdup_printf ("file too large (%" G_GUINT64_FORMAT " bytes, limit %u MiB)",
                                 (guint64) st.st_size, (guint) (GRAFT_MAX_IMAGE_FILE_BYTES >> 20));
      close (fd);
      return FALSE;
    }
  /* The size may change while reading: read until the end, within the limit. */
  gsize cap = MAX ((gsize) st.st_size, 1), n = 0;
  guint8 *buf = g_malloc (cap);
  for (;;)
    {
      if (n == cap)
        {
          if (cap >= GRAFT_MAX_IMAGE_FILE_BYTES)
            {
              *reason = g_strdup_printf ("file too large (over %u MiB)",
                                         (guint) (GRAFT_MAX_IMAGE_FILE_BYTES >> 20));
              g_free (buf);
              close (fd);
              return FALSE;
            }
          cap = MIN (cap * 2, GRAFT_MAX_IMAGE_FILE_BYTES);
          buf = g_realloc (buf, cap);
        }
      ssize_t r = read (fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          *reason = g_strdup_printf ("cannot be read: %s", g_strerror (errno));
          g_free (buf);
          close (fd);
          return FALSE;
        }
      if (r == 0)
        break;
      n += (gsize) r;
    }
  close (fd);
  *data = buf;
  *len = n;
  return TRUE;
}

/* ---- Decoding ---- */

static gboolean
has_ext (const char *name, const char *ext)
{
  return name && g_str_has_suffix (name, ext);
}

char *
graft_image_sniff (const guint8 *b, gsize n, const char *name)
{
  g_autofree char *lower = name ? g_ascii_strdown (name, -1) : NULL;
  const char *dot = lower ? strrchr (lower, '.') : NULL;
  const char *ext = dot ? dot : "";
  const char *kind = NULL;
  gboolean own_ext = FALSE;
  if (n == 0)
    return g_strdup ("empty file (0 bytes)");
  if (n >= 8 && memcmp (b, "\x89PNG\r\n\x1a\n", 8) == 0)
    kind = "PNG", own_ext = has_ext (lower, ".png");
  else if (n >= 6 && (memcmp (b, "GIF87a", 6) == 0 || memcmp (b, "GIF89a", 6) == 0))
    kind = "GIF", own_ext = has_ext (lower, ".gif");
  else if (n >= 2 && b[0] == 'B' && b[1] == 'M')
    kind = "BMP", own_ext = has_ext (lower, ".bmp");
  if (kind && own_ext)
    return g_strdup_printf ("%s image: only JPEG is decoded", kind);
  if (kind)
    return g_strdup_printf ("%s data named %s", kind, ext);
  if (n < 3 && n >= 2 && b[0] == 0xFF && b[1] == 0xD8)
    return g_strdup_printf ("truncated JPEG (%" G_GSIZE_FORMAT " bytes)", n);
  if (n < 3 || b[0] != 0xFF || b[1] != 0xD8)
    return g_strdup_printf ("not an image: no JPEG start marker in a file named %s", ext);
  return NULL;
}

/* *@tj_failed: a TurboJPEG call on @tj returned an error (even one that only
 * warned), so the handle may hold state from this file. */
static guint8 *
decode_rgb (tjhandle tj, const guint8 *buf, gsize len, int min_side, int *width, int *height,
            char **reason, gboolean *tj_failed)
{
  int w = 0, h = 0, subsamp = 0, cs = 0;
  *reason = NULL;
  *tj_failed = FALSE;
  if (tj == NULL)
    {
      *reason = g_strdup_printf ("cannot start the JPEG decoder (%s)", tjGetErrorStr2 (NULL));
      return NULL;
    }
  if (len > G_MAXULONG)
    {
      *reason = g_strdup ("corrupt JPEG header (file too large)");
      return NULL;
    }
  if (tjDecompressHeader3 (tj, buf, (unsigned long) len, &w, &h, &subsamp, &cs) != 0)
    {
      *tj_failed = TRUE;
      *reason = g_strdup_printf ("corrupt JPEG header (%s)", tjGetErrorStr2 (tj));
      return NULL;
    }
  if (w <= 0 || h <= 0)
    {
      /* TurboJPEG 2.1 accepts a tables-only stream with no image in it. */
      *reason = g_strdup ("corrupt JPEG header (no image frame)");
      return NULL;
    }
  if ((guint64) w * (guint64) h > GRAFT_MAX_IMAGE_PIXELS)
    {
      *reason = g_strdup_printf ("image too large: header claims %d×%d pixels (limit %u megapixels)",
                                 w, h, (guint) (GRAFT_MAX_IMAGE_PIXELS / 1000000));
      return NULL;
    }
  int sw = w, sh = h;
  tjscalingfactor best = { 1, 1 };
  if (min_side > 0)
    {
      int nf = 0;
      tjscalingfactor *f = tjGetScalingFactors (&nf);
      for (int i = 0; f && i < nf; i++)
        {
          if (f[i].num > f[i].denom)
            continue;
          int fw = TJSCALED (w, f[i]), fh = TJSCALED (h, f[i]);
          if (fw >= min_side && fh >= min_side && (gint64) fw * fh < (gint64) sw * sh)
            sw = fw, sh = fh, best = f[i];
        }
    }
  (void) best;
  gboolean cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  int bpp = cmyk ? 4 : 3;
  guint8 *px = g_try_malloc ((gsize) sw * sh * bpp);
  if (px == NULL)
    {
      *reason = g_strdup_printf ("out of memory for %d×%d pixels", sw, sh);
      return NULL;
    }
  if (tjDecompress2 (tj, buf, (unsigned long) len, px, sw, 0, sh, cmyk ? TJPF_CMYK : TJPF_RGB, 0)
      != 0)
    {
      *tj_failed = TRUE;
      const char *msg = tjGetErrorStr2 (tj);
      /* A warning alone ("Corrupt JPEG data: extraneous bytes") leaves a fully
       * decoded image, as TensorFlow accepts; missing data does not. */
      if (tjGetErrorCode (tj) == TJERR_FATAL)
        *reason = g_strdup_printf ("corrupt JPEG data (%s)", msg);
      else if (strstr (msg, "Premature end") != NULL)
        *reason = g_strdup_printf ("truncated JPEG (%s)", msg);
      if (*reason)
        {
          g_free (px);
          return NULL;
        }
    }
  if (cmyk)
    {
      /* Adobe writes inverted CMYK, so c·k/255 is already the red level. */
      gsize n = (gsize) sw * sh;
      for (gsize i = 0; i < n; i++)
        {
          guint c = px[4 * i], m = px[4 * i + 1], y = px[4 * i + 2], k = px[4 * i + 3];
          px[3 * i] = (guint8) ((c * k + 127) / 255);
          px[3 * i + 1] = (guint8) ((m * k + 127) / 255);
          px[3 * i + 2] = (guint8) ((y * k + 127) / 255);
        }
    }
  *width = sw;
  *height = sh;
  return px;
}

guint8 *
graft_jpeg_decode_rgb (tjhandle tj, const guint8 *buf, gsize len, int min_side, int *width,
                       int *height, char **reason)
{
  gboolean tj_failed;
  return decode_rgb (tj, buf, len, min_side, width, height, reason, &tj_failed);
}

struct _GraftJpegDecoder {
  tjhandle tj;
  guint    resets;
};

GraftJpegDecoder *
graft_jpeg_decoder_new (void)
{
  GraftJpegDecoder *dec = g_new0 (GraftJpegDecoder, 1);
  dec->tj = tjInitDecompress ();   /* NULL is reported by the first decode */
  return dec;
}

void
graft_jpeg_decoder_free (GraftJpegDecoder *dec)
{
  if (dec == NULL)
    return;
  if (dec->tj)
    tjDestroy (dec->tj);
  g_free (dec);
}

guint
graft_jpeg_decoder_n_resets (GraftJpegDecoder *dec)
{
  return dec->resets;
}

guint8 *
graft_jpeg_decoder_decode_rgb (GraftJpegDecoder *dec, const guint8 *buf, gsize len, int min_side,
                               int *width, int *height, char **reason)
{
  gboolean tj_failed = FALSE;
  guint8 *px = decode_rgb (dec->tj, buf, len, min_side, width, height, reason, &tj_failed);
  if (tj_failed || dec->tj == NULL)
    {
      /* TurboJPEG has no way to reset a handle: a new one is the only state
       * known to be clean. */
      if (dec->tj)
        tjDestroy (dec->tj);
      dec->tj = tjInitDecompress ();
      dec->resets++;
    }
  return px;
}

void
graft_resize_bilinear_rgb8 (const guint8 *src, int sw, int sh, guint8 *dst, int dw, int dh)
{
  float sx = (float) sw / (float) dw, sy = (float) sh / (float) dh;
  g_autofree int *x0 = g_new (int, dw);
  g_autofree int *x1 = g_new (int, dw);
  g_autofree float *lx = g_new (float, dw);
  for (int x = 0; x < dw; x++)
    {
      float fx = MAX (sx * ((float) x + 0.5f) - 0.5f, 0.0f);
      int i0 = MIN ((int) fx, sw - 1);
      x0[x] = i0;
      x1[x] = MIN (i0 + 1, sw - 1);
      lx[x] = fx - (float) i0;
    }
  for (int y = 0; y < dh; y++)
    {
      float fy = MAX (sy * ((float) y + 0.5f) - 0.5f, 0.0f);
      int j0 = MIN ((int) fy, sh - 1), j1 = MIN (j0 + 1, sh - 1);
      float ly = fy - (float) j0;
      const guint8 *r0 = src + (gsize) j0 * sw * 3, *r1 = src + (gsize) j1 * sw * 3;
      guint8 *out = dst + (gsize) y * dw * 3;
      for (int x = 0; x < dw; x++)
        for (int c = 0; c < 3; c++)
          {
            float a = (1.0f - lx[x]) * r0[3 * x0[x] + c] + lx[x] * r0[3 * x1[x] + c];
            float b = (1.0f - lx[x]) * r1[3 * x0[x] + c] + lx[x] * r1[3 * x1[x] + c];
            float v = (1.0f - ly) * a + ly * b;
            out[3 * x + c] = (guint8) CLAMP ((int) floorf (v + 0.5f), 0, 255);
          }
    }
}

gboolean
graft_image_load_resized (tjhandle tj, const char *path, int size, gboolean fast, guint8 *dst,
                          char **reason)
{
  (void) tj;
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  return graft_jpeg_decoder_load_resized (dec, path, size, fast, dst, reason);
}

gboolean
graft_jpeg_decoder_load_resized (GraftJpegDecoder *dec, const char *path, int size, gboolean fast,
                                 guint8 *dst, char **reason)
{
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  *reason = NULL;
  if (!graft_image_read_file (path, &data, &len, reason))
    return FALSE;
  g_autofree char *base = g_path_get_basename (path);
  *reason = graft_image_sniff ((const guint8 *) data, len, base);
  if (*reason)
    return FALSE;
  int w = 0, h = 0;
  g_autofree guint8 *px = graft_jpeg_decoder_decode_rgb (dec, (const guint8 *) data, len,
                                                         fast ? size : 0, &w, &h, reason);
  if (px == NULL)
    return FALSE;
  graft_resize_bilinear_rgb8 (px, w, h, dst, size, size);
  return TRUE;
}

/* ---- Augmentation reference (keep in step with cl-kernels/augment.cl) ---- */

void
graft_augment_params (guint32 seed, guint32 epoch, guint32 key, gboolean *flip, float *angle)
{
  *flip = graft_uniform (seed, epoch * 2U, key) < 0.5f;
  float u = graft_uniform (seed, epoch * 2U + 1U, key);
  *angle = (2.0f * u - 1.0f) * (0.1f * 6.28318530717958647692f);
}

/* TensorFlow's ImageProjectiveTransform "reflect" mapping (d c b a | a b c d | d c b a). */
static float
reflect_coord (float c, int len)
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
  return CLAMP (c, 0.0f, n - 1.0f);
}

static float
read_px (const guint8 *img, int S, int x, int y, int c, gboolean flip)
{
  if (x < 0 || x >= S || y < 0 || y >= S)
    return 0.0f;
  if (flip)
    x = S - 1 - x;
  return (float) img[((gsize) y * S + x) * 3 + c];
}

void
graft_augment_ref (const guint8 *src, float *dst, int S, gboolean training, guint32 seed,
                   guint32 epoch, guint32 key)
{
  if (!training)
    {
      for (gsize i = 0; i < (gsize) S * S * 3; i++)
        dst[i] = (float) src[i] / 255.0f;
      return;
    }
  gboolean flip;
  float angle;
  graft_augment_params (seed, epoch, key, &flip, &angle);
  float cs = cosf (angle), sn = sinf (angle), m = (float) (S - 1);
  float xo = (m - (cs * m - sn * m)) / 2.0f;
  float yo = (m - (sn * m + cs * m)) / 2.0f;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      {
        float fx = reflect_coord (cs * (float) x - sn * (float) y + xo, S);
        float fy = reflect_coord (sn * (float) x + cs * (float) y + yo, S);
        float x0 = floorf (fx), y0 = floorf (fy);
        int ix = (int) x0, iy = (int) y0;
        for (int c = 0; c < 3; c++)
          {
            float top = (x0 + 1.0f - fx) * read_px (src, S, ix, iy, c, flip) +
                        (fx - x0) * read_px (src, S, ix + 1, iy, c, flip);
            float bot = (x0 + 1.0f - fx) * read_px (src, S, ix, iy + 1, c, flip) +
                        (fx - x0) * read_px (src, S, ix + 1, iy + 1, c, flip);
            float v = (y0 + 1.0f - fy) * top + (fy - y0) * bot;
            dst[((gsize) y * S + x) * 3 + c] = v / 255.0f;
          }
      }
}
