/* Loads a PyTorch state dict into a Graft model of the same architecture and writes what the
 * PyTorch check compares: inference-mode logits, the loss and every parameter gradient of one
 * training step, and the parameter counts with 1000 classes at 224×224.
 *   graft-import-dump ARCH IMAGE_SIZE CLASSES DIR
 * DIR holds state.safetensors (the state dict) and input.safetensors (x NHWC, labels); the
 * results go to DIR/graft.safetensors. */
#include "graft-test.h"
#include "graft-checkpoint.h"
#include "graft-import-torch.h"

#include <string.h>

int
main (int argc, char **argv)
{
  if (argc != 5)
    {
      g_printerr ("usage: %s ARCH IMAGE_SIZE CLASSES DIR\n", argv[0]);
      return 2;
    }
  const char *arch = argv[1], *dir = argv[4];
  GraftModelSpec spec = { atoi (argv[2]), atoi (argv[3]), 1.0, 0.0, 0.0, arch };
  g_autoptr (GraftContext) ctx = graft_test_context ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  graft_model_init_layer (m, -1, 7);

  g_autofree char *state_path = g_build_filename (dir, "state.safetensors", NULL);
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (state_path, &error);
  g_assert_no_error (error);
  g_assert_true (graft_import_torch_detect (st));
  g_autoptr (GPtrArray) loaded = g_ptr_array_new ();
  g_autoptr (GString) report = g_string_new (NULL);
  g_assert_true (graft_import_torch_transfer (m, st, loaded, report, &error));
  g_assert_no_error (error);
  /* Same class count: every layer with weights comes from the state dict. */
  guint with_params = 0;
  for (guint l = 0; l < graft_model_n_layers (m); l++)
    with_params += graft_model_layer_has_params (m, l);
  if (loaded->len != with_params)
    g_error ("loaded %u of %u layers:\n%s", loaded->len, with_params, report->str);

  g_autofree char *in_path = g_build_filename (dir, "input.safetensors", NULL);
  g_autoptr (GraftSafetensors) in = graft_safetensors_read (in_path, &error);
  g_assert_no_error (error);
  int shape[8];
  g_assert_cmpint (graft_safetensors_shape (in, "x", shape), ==, 4);
  int batch = shape[0], s = spec.image_size, units = graft_model_units (m);
  gsize nx = (gsize) batch * s * s * 3;
  g_autofree float *x = g_new (float, nx);
  g_autofree float *labels = g_new (float, batch);
  g_assert_true (graft_safetensors_copy (in, "x", x, nx, &error));
  g_assert_true (graft_safetensors_copy (in, "labels", labels, batch, &error));

  graft_model_bind (m, ctx, batch, &error);
  g_assert_no_error (error);
  GraftTensor xin = *graft_model_input (m), lin = *graft_model_labels (m);
  xin.ne[0] = batch;
  lin.ne[0] = batch;
  graft_tensor_write (ctx, &xin, x, &error);
  g_assert_no_error (error);
  graft_tensor_write (ctx, &lin, labels, &error);
  g_assert_no_error (error);

  g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
  GPtrArray *keep = g_ptr_array_new_with_free_func (g_free);
  /* Inference mode first, on the state dict's running statistics. */
  graft_model_forward (m, batch, FALSE, 0, 0, &error);
  g_assert_no_error (error);
  float *eval = graft_test_download (ctx, graft_model_logits (m, batch));
  g_ptr_array_add (keep, eval);
  int ls[] = { batch, units };
  graft_safetensors_writer_add (w, "eval_logits", 2, ls, eval);

  /* One training step with lr 0: BN on batch statistics, gradients of the mean loss. */
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, &error);
  graft_tensor_fill (ctx, stats, 0, &error);
  GraftAdamParams zero = { 0.0f, 0.9f, 0.999f, 1e-7f, 1 };
  graft_model_train_step (m, batch, &zero, 0, 1, stats, &error);
  g_assert_no_error (error);
  float stv[2];
  graft_tensor_read (ctx, stats, stv, &error);
  g_assert_no_error (error);
  float *loss = g_new (float, 1);
  *loss = stv[0] / batch;
  g_ptr_array_add (keep, loss);
  int one[] = { 1 };
  graft_safetensors_writer_add (w, "loss", 1, one, loss);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (!p->trainable)
        continue;
      float *g = graft_test_download (ctx, graft_model_param_grad (m, p));
      g_ptr_array_add (keep, g);
      g_autofree char *name = g_strdup_printf ("grad/%s", p->full_name);
      graft_safetensors_writer_add (w, name, p->ndim, p->shape, g);
    }

  /* The parameter counts of the ImageNet network. */
  GraftModelSpec big = { 224, 1000, 1.0, 0.0, 0.0, arch };
  g_autoptr (GraftModel) mb = graft_model_new (&big, &error);
  g_assert_no_error (error);
  g_autofree char *trainable = g_strdup_printf ("%" G_GSIZE_FORMAT,
                                                graft_model_count_params (mb, TRUE));
  graft_safetensors_writer_set_metadata (w, "params_1000", trainable);
  g_autofree char *out = g_build_filename (dir, "graft.safetensors", NULL);
  graft_safetensors_writer_save (w, out, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (keep);
  return 0;
}
