/* augment.cl against its C reference, and the loader's epochs: every index once, partial batch, seeded orders. */
#include "graft-test.h"
#include "graft-dataset.h"
#include "graft-image.h"
#include "data-test-util.h"

static GraftContext *ctx;
static char *root;

static void
run_kernel (const guint8 *src, const guint32 *keys, int S, int count, gboolean training,
            guint32 seed, guint32 epoch, float *out)
{
  g_autoptr (GError) error = NULL;
  gsize img = (gsize) S * S * 3;
  cl_mem dsrc = graft_context_alloc (ctx, img * count, &error);
  cl_mem dkeys = graft_context_alloc (ctx, sizeof (guint32) * count, &error);
  g_assert_no_error (error);
  g_autoptr (GraftTensor) x = graft_test_upload (ctx, NULL, count + 1, S, S, 3);
  cl_command_queue q = graft_context_queue (ctx);
  g_assert_cmpint (clEnqueueWriteBuffer (q, dsrc, CL_TRUE, 0, img * count, src, 0, NULL, NULL), ==, CL_SUCCESS);
  g_assert_cmpint (clEnqueueWriteBuffer (q, dkeys, CL_TRUE, 0, 4 * count, keys, 0, NULL, NULL), ==, CL_SUCCESS);
  cl_kernel k = graft_context_kernel (ctx, "augment", "augment_u8", &error);
  g_assert_no_error (error);
  cl_uint off = (cl_uint) x->off;
  cl_int s = S, c = count, tr = training;
  cl_uint sd = seed, ep = epoch;
  graft_kernel_args (k, &error, GA (dsrc), GA (x->mem), GA (off), GA (dkeys), GA (s), GA (c), GA (tr),
                     GA (sd), GA (ep), 0);
  g_assert_no_error (error);
  size_t global[3] = { (size_t) S, (size_t) S, (size_t) count };
  graft_launch (ctx, "augment", k, 3, global, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *all = graft_test_download (ctx, x);
  memcpy (out, all, sizeof (float) * img * count);
  clReleaseMemObject (dsrc);
  clReleaseMemObject (dkeys);
}

static void
test_kernel_vs_reference (void)
{
  const int sizes[] = { 1, 2, 13, 32 };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int training = 0; training < 2; training++)
      for (guint32 epoch = 0; epoch < 3; epoch += 2)
        {
          int S = sizes[si], count = 5;
          gsize img = (gsize) S * S * 3;
          g_autofree guint8 *src = data_test_pattern (S, S * count, 3, 10 + si);
          guint32 keys[5] = { 0, 7, 123, 99999, 4 };
          g_autofree float *got = g_new (float, img * count);
          g_autofree float *want = g_new (float, img * count);
          run_kernel (src, keys, S, count, training, 1337, epoch, got);
          for (int n = 0; n < count; n++)
            graft_augment_ref (src + img * n, want + img * n, S, training, 1337, epoch, keys[n]);
          double maxd = graft_test_max_abs_diff (got, want, img * count);
          g_test_message ("S=%d training=%d epoch=%u: max |diff| %.3g", S, training, epoch, maxd);
          g_assert_cmpfloat (maxd, <=, 1e-5);
        }
}

/* Properties of the reference itself: reflect fill keeps a constant image
 * constant, and the flip decision is visible in the output. */
static void
test_reference_semantics (void)
{
  const int S = 24;
  gsize img = (gsize) S * S * 3;
  g_autofree guint8 *flat = g_malloc (img);
  memset (flat, 200, img);
  g_autofree float *out = g_new (float, img);
  for (guint32 key = 0; key < 20; key++)
    {
      graft_augment_ref (flat, out, S, TRUE, 5, 1, key);
      for (gsize k = 0; k < img; k++)
        g_assert_cmpfloat (fabsf (out[k] - 200.0f / 255.0f), <, 1e-5);
    }
  /* Left half dark, right half bright: a flip swaps the halves. */
  g_autofree guint8 *halves = g_malloc (img);
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      for (int c = 0; c < 3; c++)
        halves[(y * S + x) * 3 + c] = x < S / 2 ? 0 : 255;
  int flips = 0;
  for (guint32 key = 0; key < 40; key++)
    {
      gboolean flip;
      float angle;
      graft_augment_params (5, 1, key, &flip, &angle);
      g_assert_cmpfloat (fabsf (angle), <=, 0.1f * 2 * G_PI + 1e-6);
      graft_augment_ref (halves, out, S, TRUE, 5, 1, key);
      /* The centre row's outer pixels barely move under a ±36° rotation. */
      float left = out[((S / 2) * S + 1) * 3], right = out[((S / 2) * S + S - 2) * 3];
      g_assert_true (flip ? left > right : left < right);
      flips += flip;
    }
  g_assert_true (flips > 8 && flips < 32);
}

static GraftDataset *
make_dataset (guint n, GraftImageCache **cache)
{
  g_autofree char *dir = g_build_filename (root, "ds", NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%02u.jpg", i % 3 ? "b" : "a", i);
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        data_test_write_jpeg (p, 10 + i, 9 + (i * 7) % 5, 300 + i);
    }
  g_autoptr (GError) error = NULL;
  GraftDataset *ds = graft_dataset_scan (dir, GRAFT_FILTER_DECODE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  *cache = graft_image_cache_open (ds, 8, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return ds;
}

/* Runs one epoch; returns the dataset index of every delivered row, found by
 * matching the row against the C reference of each candidate. */
static GArray *
epoch_keys (GraftLoader *l, GraftDataset *ds, GraftImageCache *cache, const guint *idx, guint n,
            int batch, gboolean training, guint32 seed, int epoch, GArray *batch_sizes)
{
  const int S = 8;
  gsize img = (gsize) S * S * 3;
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftTensor) x = graft_test_upload (ctx, NULL, batch, S, S, 3);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, batch, 1, 1, 1);
  g_autofree float *cand = g_new (float, img * n);
  for (guint i = 0; i < n; i++)
    graft_augment_ref (graft_image_cache_pixels (cache, idx[i]), cand + img * i, S, training,
                       seed, (guint32) epoch, idx[i]);
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (guint));
  g_assert_true (graft_loader_start_epoch (l, epoch, &error));
  int got;
  while ((got = graft_loader_next (l, x, y, &error)) > 0)
    {
      g_autofree float *xs = graft_test_download (ctx, x);
      g_autofree float *ys = graft_test_download (ctx, y);
      if (batch_sizes)
        g_array_append_val (batch_sizes, got);
      for (int r = 0; r < got; r++)
        {
          guint found = G_MAXUINT;
          for (guint i = 0; i < n && found == G_MAXUINT; i++)
            if (graft_test_max_abs_diff (xs + img * r, cand + img * i, img) <= 1e-5)
              found = idx[i];
          g_assert_cmpuint (found, !=, G_MAXUINT);
          g_assert_cmpfloat (ys[r], ==, (float) graft_dataset_file_label (ds, found));
          g_array_append_val (keys, found);
        }
    }
  g_assert_no_error (error);
  g_assert_cmpint (got, ==, 0);
  return keys;
}

static void
test_loader_epochs (void)
{
  GraftImageCache *cache = NULL;
  g_autoptr (GraftDataset) ds = make_dataset (11, &cache);
  guint idx[11];
  for (guint i = 0; i < 11; i++)
    idx[i] = 10 - i;   /* any subset order: the loader must only use these */
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftLoader) l = graft_loader_new (ctx, cache, ds, idx, 11, 4, TRUE, 42, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (graft_loader_n_batches (l), ==, 3);
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) e0 = epoch_keys (l, ds, cache, idx, 11, 4, TRUE, 42, 0, sizes);
  g_assert_cmpuint (sizes->len, ==, 3);
  g_assert_cmpint (g_array_index (sizes, int, 2), ==, 3);
  g_autoptr (GArray) e1 = epoch_keys (l, ds, cache, idx, 11, 4, TRUE, 42, 1, NULL);
  for (GArray *e = e0; e; e = e == e0 ? e1 : NULL)
    {
      guint seen[11] = { 0 };
      g_assert_cmpuint (e->len, ==, 11);
      for (guint i = 0; i < e->len; i++)
        seen[g_array_index (e, guint, i)]++;
      for (guint i = 0; i < 11; i++)
        g_assert_cmpuint (seen[i], ==, 1);
    }
  g_assert_true (memcmp (e0->data, e1->data, 11 * sizeof (guint)) != 0);

  /* Same seed, new loader: the same order; an epoch abandoned half-way does not leak. */
  g_autoptr (GraftLoader) l2 = graft_loader_new (ctx, cache, ds, idx, 11, 4, TRUE, 42, &error);
  g_autoptr (GraftTensor) x = graft_test_upload (ctx, NULL, 4, 8, 8, 3);
  g_autoptr (GraftTensor) y = graft_test_upload (ctx, NULL, 4, 1, 1, 1);
  g_assert_true (graft_loader_start_epoch (l2, 5, &error));
  g_assert_cmpint (graft_loader_next (l2, x, y, &error), ==, 4);
  g_autoptr (GArray) again = epoch_keys (l2, ds, cache, idx, 11, 4, TRUE, 42, 0, NULL);
  g_assert_cmpmem (again->data, 11 * sizeof (guint), e0->data, 11 * sizeof (guint));

  /* Validation: in the given order, never augmented, same every epoch. */
  g_autoptr (GraftLoader) v = graft_loader_new (ctx, cache, ds, idx, 11, 5, FALSE, 42, &error);
  for (int epoch = 0; epoch < 2; epoch++)
    {
      g_autoptr (GArray) ve = epoch_keys (v, ds, cache, idx, 11, 5, FALSE, 42, epoch, NULL);
      g_assert_cmpmem (ve->data, 11 * sizeof (guint), idx, sizeof idx);
    }
  graft_image_cache_free (cache);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ctx = graft_test_context ();
  root = data_test_tmpdir ();
  g_setenv ("GRAFT_IMAGE_CACHE", root, TRUE);
  g_test_add_func ("/data/augment/kernel-vs-reference", test_kernel_vs_reference);
  g_test_add_func ("/data/augment/reference-semantics", test_reference_semantics);
  g_test_add_func ("/data/loader/epochs", test_loader_epochs);
  int rc = g_test_run ();
  graft_context_free (ctx);
  data_test_rm_rf (root);
  g_free (root);
  return rc;
}
