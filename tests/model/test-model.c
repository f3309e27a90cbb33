/* The reference network's structure (names, shapes, parameter counts) and its checkpoints. */
#include "graft-test.h"
#include "graft-checkpoint.h"

#include <glib/gstdio.h>
#include <string.h>

static GraftModel *
make (int size, int classes, double width)
{
  GraftModelSpec spec = { size, classes, width, 0.5 };
  g_autoptr (GError) error = NULL;
  GraftModel *m = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  return m;
}

static guint64
total (GraftModel *m)
{
  return graft_model_count_params (m, TRUE) + graft_model_count_params (m, FALSE);
}

/* Counts from KERAS-MODEL.md (Keras 2.14's model.summary() of the example). */
static void
test_param_counts (void)
{
  g_autoptr (GraftModel) bin = make (180, 2, 1.0);
  g_assert_cmpuint (total (bin), ==, 2731065);
  g_assert_cmpuint (graft_model_count_params (bin, TRUE), ==, 2722777);
  g_assert_cmpuint (graft_model_count_params (bin, FALSE), ==, 8288);
  g_autoptr (GraftModel) dogs = make (180, 120, 1.0);
  g_assert_cmpuint (total (dogs), ==, 2853040);
  /* Per-layer counts of the table. */
  struct { const char *layer; guint64 n; } rows[] = {
    { "conv2d", 3584 }, { "batch_normalization", 512 }, { "separable_conv2d", 34176 },
    { "batch_normalization_1", 1024 }, { "separable_conv2d_1", 68096 }, { "conv2d_1", 33024 },
    { "separable_conv2d_2", 133888 }, { "separable_conv2d_3", 267264 }, { "conv2d_2", 131584 },
    { "separable_conv2d_4", 378072 }, { "batch_normalization_5", 2912 },
    { "separable_conv2d_5", 537264 }, { "conv2d_3", 373464 }, { "separable_conv2d_6", 753048 },
    { "batch_normalization_7", 4096 }, { "dense", 1025 },
  };
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      int l = graft_model_layer_find (bin, rows[r].layer);
      g_assert_cmpint (l, >=, 0);
      guint64 n = 0;
      for (guint i = 0; i < graft_model_n_params (bin); i++)
        if (graft_model_param (bin, i)->layer == l)
          n += graft_model_param (bin, i)->count;
      if (n != rows[r].n)
        g_error ("%s has %" G_GUINT64_FORMAT " parameters, Keras has %" G_GUINT64_FORMAT,
                 rows[r].layer, n, rows[r].n);
    }
}

static void
test_shapes_and_names (void)
{
  g_autoptr (GraftModel) m = make (180, 2, 1.0);
  struct { const char *layer; int h, w, c; } rows[] = {
    { "conv2d", 90, 90, 128 }, { "max_pooling2d", 45, 45, 256 }, { "add", 45, 45, 256 },
    { "add_1", 23, 23, 512 }, { "add_2", 12, 12, 728 }, { "activation_7", 12, 12, 1024 },
    { "global_average_pooling2d", 1, 1, 1024 }, { "dense", 1, 1, 1 },
  };
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      int l = graft_model_layer_find (m, rows[r].layer), h, w, c;
      g_assert_cmpint (l, >=, 0);
      graft_model_layer_shape (m, l, &h, &w, &c);
      g_assert_cmpint (h, ==, rows[r].h);
      g_assert_cmpint (w, ==, rows[r].w);
      g_assert_cmpint (c, ==, rows[r].c);
    }
  /* Keras creation order of the layers with kernels. */
  const char *kernels[] = { "conv2d", "separable_conv2d", "separable_conv2d_1", "conv2d_1",
                            "separable_conv2d_2", "separable_conv2d_3", "conv2d_2",
                            "separable_conv2d_4", "separable_conv2d_5", "conv2d_3",
                            "separable_conv2d_6", "dense" };
  g_autoptr (GPtrArray) k = graft_model_kernel_layers (m);
  g_assert_cmpuint (k->len, ==, G_N_ELEMENTS (kernels));
  for (guint i = 0; i < k->len; i++)
    g_assert_cmpstr (k->pdata[i], ==, kernels[i]);
  g_assert_nonnull (graft_model_param_find (m, "separable_conv2d_6/depthwise_kernel"));
  const GraftParam *dk = graft_model_param_find (m, "separable_conv2d/depthwise_kernel");
  g_assert_cmpint (dk->ndim, ==, 4);
  g_assert_cmpint (dk->shape[2], ==, 128);
  g_assert_cmpint (dk->shape[3], ==, 1);
  g_autofree char *summary = graft_model_summary (m);
  g_assert_nonnull (strstr (summary, "Total params: 2,731,065"));
  g_assert_nonnull (strstr (summary, "Non-trainable params: 8,288"));
}

static void
test_glorot_limits (void)
{
  g_autoptr (GraftModel) m = make (64, 2, 0.25);
  const float *h = graft_model_host_params (m);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      double lo = 1e9, hi = -1e9, mean = 0;
      for (gsize j = 0; j < p->count; j++)
        {
          lo = MIN (lo, h[p->offset + j]);
          hi = MAX (hi, h[p->offset + j]);
          mean += h[p->offset + j];
        }
      mean /= p->count;
      if (p->fan_in > 0)
        {
          double limit = sqrt (6.0 / (p->fan_in + p->fan_out));
          g_assert_cmpfloat (hi, <=, limit);
          g_assert_cmpfloat (lo, >=, -limit);
          if (p->count > 500)
            g_assert_cmpfloat (hi - lo, >, 1.8 * limit);   /* spread over the whole range */
        }
      else if (g_str_equal (p->name, "gamma") || g_str_equal (p->name, "moving_variance"))
        g_assert_cmpfloat (mean, ==, 1.0);
      else
        g_assert_cmpfloat (mean, ==, 0.0);
    }
}

static void
test_invalid_specs (void)
{
  GraftModelSpec bad[] = { { 16, 2, 1, 0.5 }, { 64, 1, 1, 0.5 }, { 64, 2, 0, 0.5 }, { 64, 2, 1, 1.0 } };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftModel) m = graft_model_new (&bad[i], &error);
      g_assert_null (m);
      g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_checkpoint_round_trip (void)
{
  g_autoptr (GraftModel) m = make (48, 3, 0.125);
  graft_model_init_layer (m, -1, 4242);
  g_autofree char *dir = g_dir_make_tmp ("graft-ckpt-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "w.safetensors", NULL);
  const char *names[] = { "cat", "dog", "bird", NULL };
  g_autoptr (GError) error = NULL;
  graft_checkpoint_save (m, path, names, &error);
  g_assert_no_error (error);
  g_auto (GStrv) got_names = NULL;
  g_autoptr (GraftModel) back = graft_checkpoint_load (path, &got_names, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (total (back), ==, total (m));
  g_assert_cmpmem (graft_model_host_params (back), total (m) * 4, graft_model_host_params (m),
                   total (m) * 4);
  g_assert_cmpstrv (got_names, names);

  /* Transfer into a binary model: everything but the dense head loads. */
  g_autoptr (GraftModel) bin = make (48, 2, 0.125);
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (path, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) loaded = g_ptr_array_new ();
  g_autoptr (GString) report = g_string_new (NULL);
  graft_checkpoint_transfer (bin, st, loaded, report);
  g_assert_nonnull (strstr (report->str, "dense"));
  g_assert_false (g_ptr_array_find_with_equal_func (loaded, "dense", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (loaded, "conv2d_3", g_str_equal, NULL));
  const GraftParam *p = graft_model_param_find (bin, "conv2d_3/kernel");
  const GraftParam *q = graft_model_param_find (m, "conv2d_3/kernel");
  g_assert_cmpmem (graft_model_host_params (bin) + p->offset, p->count * 4,
                   graft_model_host_params (m) + q->offset, q->count * 4);

  /* Damaged files are refused with a message naming the file. */
  g_autofree char *data = NULL;
  gsize len;
  g_file_get_contents (path, &data, &len, NULL);
  g_autofree char *cut = g_build_filename (dir, "cut.safetensors", NULL);
  g_file_set_contents (cut, data, len / 2, NULL);
  g_autoptr (GraftModel) none = graft_checkpoint_load (cut, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "cut.safetensors"));
  g_clear_error (&error);
  g_autofree char *junk = g_build_filename (dir, "junk.safetensors", NULL);
  g_file_set_contents (junk, "\xff\xff\xff\xff\xff\xff\xff\x7fnot json", 17, NULL);
  g_assert_null (graft_safetensors_read (junk, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_clear_error (&error);
  /* A file from a different model names the tensor at fault. */
  g_autoptr (GraftModel) wide = make (48, 3, 0.25);
  g_assert_false (graft_checkpoint_load_strict (wide, st, &error));
  g_assert_nonnull (strstr (error->message, "conv2d/kernel"));
  g_unlink (path);
  g_unlink (cut);
  g_unlink (junk);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/param-counts", test_param_counts);
  g_test_add_func ("/model/shapes-and-names", test_shapes_and_names);
  g_test_add_func ("/model/glorot-limits", test_glorot_limits);
  g_test_add_func ("/model/invalid-specs", test_invalid_specs);
  g_test_add_func ("/model/checkpoint-round-trip", test_checkpoint_round_trip);
  return g_test_run ();
}
