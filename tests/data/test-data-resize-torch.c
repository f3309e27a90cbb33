/* Bilinear resize (half-pixel centres, no antialias) against torch.nn.functional.interpolate, and DCT-scaled fast decode. */
#include "graft-test.h"
#include "graft-dataset.h"
#include "graft-image.h"
#include "data-test-util.h"
#include "data-test-python.h"

static const int shapes[][3] = {   /* source w, h, target side */
  { 37, 53, 16 }, { 7, 5, 19 }, { 100, 80, 33 }, { 1, 1, 4 }, { 64, 64, 64 }, { 3, 200, 12 },
  { 181, 97, 180 },
};

static void
test_resize_vs_torch (void)
{
  g_autofree char *dir = data_test_tmpdir ();
  g_autoptr (GString) code = g_string_new (
    "import sys, numpy as np, torch\n"
    "import torch.nn.functional as F\n"
    "d = sys.argv[1]\n");
  g_autofree guint8 **ours = g_new0 (guint8 *, G_N_ELEMENTS (shapes));
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int w = shapes[i][0], h = shapes[i][1], s = shapes[i][2];
      g_autofree guint8 *src = data_test_pattern (w, h, 3, 50 + i);
      /* Sharp random content shows interpolation errors best. */
      GRand *r = g_rand_new_with_seed (i);
      for (int k = 0; k < w * h * 3; k++)
        if (k % 5 == 0)
          src[k] = (guint8) g_rand_int_range (r, 0, 256);
      g_rand_free (r);
      g_autofree char *name = g_strdup_printf ("%u.rgb", i);
      g_autofree char *p = g_build_filename (dir, name, NULL);
      data_test_write (p, src, (gsize) w * h * 3);
      ours[i] = g_malloc ((gsize) s * s * 3);
      graft_resize_bilinear_rgb8 (src, w, h, ours[i], s, s);
      g_string_append_printf (code,
        "x = np.fromfile(d + '/%u.rgb', dtype=np.uint8).reshape(%d, %d, 3)\n"
        "t = torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]\n"
        "y = F.interpolate(t, size=(%d, %d), mode='bilinear', align_corners=False, antialias=False)\n"
        "y[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32).tofile(d + '/%u.out')\n",
        i, h, w, s, s, i);
    }
  g_autofree char *script = g_build_filename (dir, "oracle.py", NULL);
  data_test_write (script, code->str, code->len);
  char *argv[] = { (char *) "/usr/bin/python3", script, dir, NULL };
  g_autofree char *err = NULL;
  int status;
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("torch oracle failed: %s", err);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int s = shapes[i][2];
      g_autofree char *name = g_strdup_printf ("%u.out", i);
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (p, &data, &len, NULL));
      g_assert_cmpuint (len, ==, (gsize) s * s * 3 * sizeof (float));
      const float *want = (const float *) data;
      double maxd = 0, mean = 0;
      for (int k = 0; k < s * s * 3; k++)
        {
          double d = fabs ((double) ours[i][k] - want[k]);
          maxd = MAX (maxd, d);
          mean += d;
        }
      g_test_message ("%dx%d -> %d: max |diff| %.3f, mean %.3f levels", shapes[i][0], shapes[i][1], s,
                      maxd, mean / (s * s * 3));
      /* Rounding to uint8 is the only difference allowed. */
      g_assert_cmpfloat (maxd, <=, 0.5 + 1e-3);
      g_free (ours[i]);
    }
  data_test_rm_rf (dir);
}

/* DCT-scaled decode stays close to the full decode and keeps the target size. */
static void
test_fast_decode (void)
{
  g_autofree char *dir = data_test_tmpdir ();
  g_autofree char *p = g_build_filename (dir, "big.jpg", NULL);
  data_test_write_jpeg (p, 400, 300, 3);
  tjhandle tj = tjInitDecompress ();
  guint8 full[32 * 32 * 3], fast[32 * 32 * 3];
  char *reason = NULL;
  g_assert_true (graft_image_load_resized (tj, p, 32, FALSE, full, &reason));
  g_assert_true (graft_image_load_resized (tj, p, 32, TRUE, fast, &reason));
  double mean = 0;
  for (gsize k = 0; k < sizeof full; k++)
    mean += ABS ((int) full[k] - (int) fast[k]);
  mean /= sizeof full;
  g_test_message ("fast vs full decode at 32 px: mean |diff| %.2f levels", mean);
  g_assert_cmpfloat (mean, <, 12.0);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (p, &data, &len, NULL));
  int w, h;
  g_autofree guint8 *px = graft_jpeg_decode_rgb (tj, (guint8 *) data, len, 32, &w, &h, &reason);
  g_assert_nonnull (px);
  /* 1/8 scale gives 50×38: the smallest scale with both sides ≥ 32. */
  g_assert_cmpint (w, ==, 50);
  g_assert_cmpint (h, ==, 38);
  tjDestroy (tj);
  data_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  data_test_require_python ("numpy, torch");
  g_test_add_func ("/data/resize/torch", test_resize_vs_torch);
  g_test_add_func ("/data/resize/fast-decode", test_fast_decode);
  return g_test_run ();
}
