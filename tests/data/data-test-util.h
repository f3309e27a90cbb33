/* Helpers for the data-pipeline tests: temporary folders and generated JPEG files. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <turbojpeg.h>

static inline void
data_test_rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)) != NULL)
        {
          char *p = g_build_filename (path, name, NULL);
          data_test_rm_rf (p);
          g_free (p);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_remove (path);
}

static inline char *
data_test_tmpdir (void)
{
  GError *error = NULL;
  char *d = g_dir_make_tmp ("graft-data-test-XXXXXX", &error);
  g_assert_no_error (error);
  return d;
}

/* Deterministic smooth-ish test pattern: gradients plus a little noise. */
static inline guint8 *
data_test_pattern (int w, int h, int channels, guint32 seed)
{
  guint8 *px = g_malloc ((gsize) w * h * channels);
  GRand *r = g_rand_new_with_seed (seed);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        {
          int v = (x * 255 / MAX (w - 1, 1) * (c + 1) + y * 255 / MAX (h - 1, 1) * (3 - c)) / 4 +
                  g_rand_int_range (r, -20, 21);
          px[((gsize) y * w + x) * channels + c] = (guint8) CLAMP (v, 0, 255);
        }
  g_rand_free (r);
  return px;
}

/* JPEG bytes of @px (format @pf) with TurboJPEG; free with tjFree(). */
static inline unsigned char *
data_test_jpeg (const guint8 *px, int w, int h, int pf, int subsamp, int flags, unsigned long *len)
{
  tjhandle tj = tjInitCompress ();
  unsigned char *buf = NULL;
  *len = 0;
  int rc = tjCompress2 (tj, px, w, 0, h, pf, &buf, len, subsamp, 92, flags);
  if (rc != 0)
    g_error ("tjCompress2: %s", tjGetErrorStr2 (tj));
  tjDestroy (tj);
  return buf;
}

static inline void
data_test_write (const char *path, const void *data, gsize len)
{
  GError *error = NULL;
  char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0755);
  g_free (dir);
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

/* Writes an RGB JPEG of a test pattern. */
static inline void
data_test_write_jpeg (const char *path, int w, int h, guint32 seed)
{
  guint8 *px = data_test_pattern (w, h, 3, seed);
  unsigned long len;
  unsigned char *j = data_test_jpeg (px, w, h, TJPF_RGB, TJSAMP_444, 0, &len);
  data_test_write (path, j, len);
  tjFree (j);
  g_free (px);
}

/* Two classes told apart by colour (flips and rotations keep colour), "blue" and "red": each
 * image reddish or bluish with texture noise, 40–48 px a side, so that no two are alike. */
static inline void
data_test_colour_dataset (const char *dir, int per_class, guint32 seed)
{
  const char *classes[] = { "blue", "red" };
  GRand *r = g_rand_new_with_seed (seed);
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < per_class; i++)
      {
        int w = 40 + g_rand_int_range (r, 0, 9), h = 40 + g_rand_int_range (r, 0, 9);
        guint8 *px = g_malloc ((gsize) w * h * 3);
        for (int p = 0; p < w * h; p++)
          {
            int base = g_rand_int_range (r, 40, 200);
            int strong = CLAMP (base + 50, 0, 255), weak = CLAMP (base - 50, 0, 255);
            px[p * 3 + 0] = c == 1 ? strong : weak;
            px[p * 3 + 1] = (guint8) base;
            px[p * 3 + 2] = c == 1 ? weak : strong;
          }
        unsigned long len;
        unsigned char *j = data_test_jpeg (px, w, h, TJPF_RGB, TJSAMP_444, 0, &len);
        char *name = g_strdup_printf ("%s/%s/img%03d.jpg", dir, classes[c], i);
        data_test_write (name, j, len);
        g_free (name);
        tjFree (j);
        g_free (px);
      }
  g_rand_free (r);
}
