/* Runs the reference network on a random batch and writes weights, inputs, logits, gradients
 * and Adam results as safetensors, for an independent PyTorch oracle to check.
 *   graft-oracle-dump OUTDIR CLASSES IMAGE_SIZE WIDTH BATCH ADAM_STEPS [FROZEN_LAYERS] */
#include "graft-test.h"
#include "graft-checkpoint.h"
#include "graft-rng.h"

#include <string.h>

static void
save_tensors (const char *path, GPtrArray *names, GPtrArray *datas, GArray *shapes)
{
  g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
  for (guint i = 0; i < names->len; i++)
    {
      int *shape = &g_array_index (shapes, int, i * 5);
      graft_safetensors_writer_add (w, names->pdata[i], shape[0], shape + 1, datas->pdata[i]);
    }
  g_autoptr (GError) error = NULL;
  graft_safetensors_writer_save (w, path, &error);
  g_assert_no_error (error);
}

static void
add (GPtrArray *names, GPtrArray *datas, GArray *shapes, const char *name, float *data, int nd,
     int d0, int d1, int d2, int d3)
{
  g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (datas, data);
  int s[5] = { nd, d0, d1, d2, d3 };
  g_array_append_vals (shapes, s, 5);
}

int
main (int argc, char **argv)
{
  if (argc < 7)
    {
      g_printerr ("usage: %s OUTDIR CLASSES IMAGE_SIZE WIDTH BATCH ADAM_STEPS [FROZEN,...]\n", argv[0]);
      return 2;
    }
  const char *out = argv[1];
  GraftModelSpec spec = { atoi (argv[3]), atoi (argv[2]), g_ascii_strtod (argv[4], NULL), 0.0 };
  int batch = atoi (argv[5]), steps = atoi (argv[6]);
  g_auto (GStrv) frozen = argc > 7 ? g_strsplit (argv[7], ",", -1) : NULL;
  g_autoptr (GraftContext) ctx = graft_test_context ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  graft_model_init_layer (m, -1, 7);
  /* Non-trivial BN parameters and statistics, so that every term is exercised. */
  float *host = graft_model_host_params (m);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      for (gsize j = 0; j < p->count; j++)
        {
          float u = graft_uniform (99, i, j);
          if (g_str_equal (p->name, "gamma"))
            host[p->offset + j] = 0.8f + 0.4f * u;
          else if (g_str_equal (p->name, "beta") || g_str_equal (p->name, "bias"))
            host[p->offset + j] = 0.2f * (u - 0.5f);
          else if (g_str_equal (p->name, "moving_mean"))
            host[p->offset + j] = 0.1f * (u - 0.5f);
          else if (g_str_equal (p->name, "moving_variance"))
            host[p->offset + j] = 0.5f + u;
        }
    }
  /* A checkpoint written by another tool replaces the values above. */
  const char *load = g_getenv ("GRAFT_ORACLE_LOAD");
  if (load && *load)
    {
      g_autoptr (GraftSafetensors) st = graft_safetensors_read (load, &error);
      g_assert_no_error (error);
      graft_checkpoint_load_strict (m, st, &error);
      g_assert_no_error (error);
    }
  for (int i = 0; frozen && frozen[i]; i++)
    {
      int l = graft_model_layer_find (m, frozen[i]);
      g_assert_cmpint (l, >=, 0);
      graft_model_set_frozen (m, l, TRUE);
    }
  g_autofree char *wpath = g_build_filename (out, "weights.safetensors", NULL);
  graft_checkpoint_save (m, wpath, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *initial = g_memdup2 (host, sizeof (float) * (graft_model_count_params (m, TRUE) +
                                                                 graft_model_count_params (m, FALSE)));

  int s = spec.image_size, units = graft_model_units (m);
  gsize nx = (gsize) batch * s * s * 3;
  g_autofree float *x = g_new (float, nx);
  g_autofree float *labels = g_new (float, batch);
  for (gsize i = 0; i < nx; i++)
    x[i] = graft_uniform (5, 0, i);
  for (int i = 0; i < batch; i++)
    labels[i] = (float) (graft_hash (i + 11) % spec.classes);

  graft_model_bind (m, ctx, batch, &error);
  g_assert_no_error (error);
  GraftTensor *in = graft_model_input (m), *lab = graft_model_labels (m);
  GraftTensor xin = *in, lin = *lab;
  xin.ne[0] = batch;
  lin.ne[0] = batch;
  graft_tensor_write (ctx, &xin, x, &error);
  graft_tensor_write (ctx, &lin, labels, &error);
  g_assert_no_error (error);

  /* One forward (training mode) + loss + backward. */
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, &error);
  graft_tensor_fill (ctx, stats, 0, &error);
  graft_model_forward (m, batch, TRUE, 0, 1, &error);
  g_assert_no_error (error);
  g_autofree float *logits = graft_test_download (ctx, graft_model_logits (m, batch));
  /* Inference mode: BN on the moving statistics (those the training forward just updated). */
  graft_model_forward (m, batch, FALSE, 0, 0, &error);
  g_assert_no_error (error);
  g_autofree float *eval_logits = graft_test_download (ctx, graft_model_logits (m, batch));
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *datas = g_ptr_array_new_with_free_func (g_free);
  GArray *shapes = g_array_new (FALSE, FALSE, sizeof (int));
  add (names, datas, shapes, "x", g_memdup2 (x, nx * 4), 4, batch, s, s, 3);
  add (names, datas, shapes, "labels", g_memdup2 (labels, batch * 4), 1, batch, 0, 0, 0);
  add (names, datas, shapes, "logits", g_steal_pointer (&logits), 2, batch, units, 0, 0);
  add (names, datas, shapes, "eval_logits", g_steal_pointer (&eval_logits), 2, batch, units, 0, 0);
  save_tensors (g_build_filename (out, "forward.safetensors", NULL), names, datas, shapes);
  g_ptr_array_set_size (names, 0);
  g_ptr_array_set_size (datas, 0);
  g_array_set_size (shapes, 0);

  /* Gradients: a full train step with lr 0 leaves the weights but fills the gradients. */
  memcpy (host, initial, sizeof (float) * (graft_model_count_params (m, TRUE) + graft_model_count_params (m, FALSE)));
  graft_model_upload (m, &error);
  graft_tensor_fill (ctx, stats, 0, &error);
  GraftAdamParams zero = { 0.0f, 0.9f, 0.999f, 1e-7f, 1 };
  graft_model_train_step (m, batch, &zero, 0, 1, stats, &error);
  g_assert_no_error (error);
  float st[2];
  graft_tensor_read (ctx, stats, st, &error);
  float *loss = g_new (float, 1);
  loss[0] = st[0] / batch;
  add (names, datas, shapes, "loss", loss, 1, 1, 0, 0, 0);
  graft_model_download (m, &error);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      g_autofree char *name = g_strdup_printf ("%s/%s", p->trainable ? "grad" : "after_step",
                                               p->full_name);
      float *d = p->trainable ? graft_test_download (ctx, graft_model_param_grad (m, p))
                              : g_memdup2 (host + p->offset, p->count * 4);
      add (names, datas, shapes, name, d, 1, (int) p->count, 0, 0, 0);
    }
  save_tensors (g_build_filename (out, "grads.safetensors", NULL), names, datas, shapes);
  g_ptr_array_set_size (names, 0);
  g_ptr_array_set_size (datas, 0);
  g_array_set_size (shapes, 0);

  /* Adam: restart from the initial weights and take a few real steps on the same batch. */
  {
    gsize nt = graft_model_trainable_floats (m);
    g_autofree float *zeros = g_new0 (float, nt);
    graft_model_write_adam (m, zeros, zeros, &error);
    g_assert_no_error (error);
  }
  memcpy (host, initial, sizeof (float) * (graft_model_count_params (m, TRUE) + graft_model_count_params (m, FALSE)));
  graft_model_upload (m, &error);
  graft_tensor_write (ctx, &xin, x, &error);
  graft_tensor_write (ctx, &lin, labels, &error);
  g_assert_no_error (error);
  for (int t = 1; t <= steps; t++)
    {
      GraftAdamParams adam = { 1e-3f, 0.9f, 0.999f, 1e-7f, t };
      graft_model_train_step (m, batch, &adam, 0, t, stats, &error);
      g_assert_no_error (error);
    }
  graft_model_download (m, &error);
  g_autofree char *apath = g_build_filename (out, "after_adam.safetensors", NULL);
  graft_checkpoint_save (m, apath, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (names);
  g_ptr_array_unref (datas);
  g_array_unref (shapes);
  printf ("wrote %s\n", out);
  return 0;
}
