/* A toy architecture built through the builder API (conv → BN → ReLU → conv → BN → add-skip →
 * ReLU → max-pool → separable conv → GAP → dropout → dense): its structure, that it trains,
 * that every parameter gradient matches central finite differences of the loss, and that
 * checkpoints of one architecture are refused by a model of another. */
#include "graft-test.h"
#include "graft-arch.h"
#include "graft-checkpoint.h"
#include "graft-rng.h"

#include <glib/gstdio.h>
#include <string.h>

#define TOY_ARCH "toy-residual"
#define BATCH    6

static GraftModel *
toy_new (int classes, double dropout)
{
  GraftModelSpec spec = { 12, classes, 1.0, dropout, 0.9, TOY_ARCH };
  spec.image_size = 12;
  g_autoptr (GraftModelBuilder) b = graft_model_builder_new (&spec);
  int x = graft_model_builder_add_input (b, NULL);
  x = graft_model_builder_add_conv2d (b, x, 4, 3, 1);
  x = graft_model_builder_add_batchnorm (b, x);
  int a = graft_model_builder_add_relu (b, x);
  x = graft_model_builder_add_conv2d (b, a, 4, 3, 1);
  x = graft_model_builder_add_batchnorm (b, x);
  x = graft_model_builder_add_add (b, a, x);
  x = graft_model_builder_add_relu (b, x);
  x = graft_model_builder_add_maxpool (b, x, 3, 2);
  /* The generic add, by kind name. */
  GraftLayerConfig sep = { .filters = 5, .kernel = 3 };
  x = graft_model_builder_add (b, "SeparableConv2D", "mixer", &sep, &x, 1);
  x = graft_model_builder_add_gap (b, x);
  x = graft_model_builder_add_dropout (b, x, dropout);
  graft_model_builder_add_dense (b, x, graft_model_builder_units (b));
  g_autoptr (GError) error = NULL;
  GraftModel *m = graft_model_builder_finish (b, &error);
  g_assert_no_error (error);
  return m;
}

static void
test_structure (void)
{
  g_autoptr (GraftModel) m = toy_new (3, 0.0);
  g_assert_cmpstr (graft_model_spec (m)->architecture, ==, TOY_ARCH);
  g_assert_cmpint (graft_model_units (m), ==, 3);
  int l = graft_model_layer_find (m, "add"), in[GRAFT_LAYER_MAX_INPUTS], h, w, c;
  g_assert_cmpint (l, >=, 0);
  g_assert_cmpint (graft_model_layer_inputs (m, l, in), ==, 2);
  g_assert_cmpstr (graft_model_layer_name (m, in[0]), ==, "activation");
  g_assert_cmpstr (graft_model_layer_name (m, in[1]), ==, "batch_normalization_1");
  g_assert_true (graft_model_layer_kind (m, l) == graft_layer_class_find ("Add"));
  graft_model_layer_shape (m, graft_model_layer_find (m, "max_pooling2d"), &h, &w, &c);
  g_assert_cmpint (h, ==, 6);
  g_assert_cmpint (c, ==, 4);
  /* conv 3·3·3·4+4, BN 4·4 ×2, conv 3·3·4·4+4, separable 3·3·4 + 4·5 + 5, dense 5·3+3. */
  gsize total = graft_model_count_params (m, TRUE) + graft_model_count_params (m, FALSE);
  g_assert_cmpuint (total, ==, (112 + 16 + 148 + 16 + 36 + 20 + 5 + 18));
  g_assert_cmpuint (graft_model_count_params (m, FALSE), ==, 16);
  g_autoptr (GPtrArray) k = graft_model_kernel_layers (m);
  g_assert_cmpuint (k->len, ==, 4);
  g_assert_cmpstr (k->pdata[2], ==, "mixer");
  const GraftParam *pw = graft_model_param_find (m, "mixer/pointwise_kernel");
  g_assert_nonnull (pw);
  g_assert_cmpint (pw->role, ==, GRAFT_PARAM_POINTWISE_KERNEL);
  g_autofree char *summary = graft_model_summary (m);
  g_assert_nonnull (strstr (summary, "\"" TOY_ARCH "\""));
  g_assert_nonnull (strstr (summary, "activation, batch_normalization_1"));
  g_assert_nonnull (strstr (summary, "(None, 5)"));
}

/* Builder errors name the layer and the setting, and come out of _finish. */
static void
test_builder_errors (void)
{
  GraftModelSpec spec = { 32, 2, 1.0, 0.5, 0, "toy" };
  struct {
    const char *kind;
    GraftLayerConfig cfg;
    const char *want;
  } bad[] = {
    { "Conv2D", { .filters = 0 }, "filters" },
    { "Dense", { .filters = 3 }, "flat input" },
    { "NoSuchKind", { 0 }, "NoSuchKind" },
    { "Dropout", { .rate = 1.5 }, "dropout" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GraftModelBuilder) b = graft_model_builder_new (&spec);
      int x = graft_model_builder_add_input (b, NULL);
      x = graft_model_builder_add (b, bad[i].kind, NULL, &bad[i].cfg, &x, 1);
      g_assert_cmpint (x, ==, -1);
      x = graft_model_builder_add_gap (b, x);   /* ignored after the first error */
      g_autoptr (GError) error = NULL;
      g_assert_null (graft_model_builder_finish (b, &error));
      g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, bad[i].want));
    }
  /* Two inputs of different shapes. */
  g_autoptr (GraftModelBuilder) b = graft_model_builder_new (&spec);
  int x = graft_model_builder_add_input (b, NULL);
  int y = graft_model_builder_add_conv2d (b, x, 8, 3, 2);
  graft_model_builder_add_add (b, x, y);
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_model_builder_finish (b, &error));
  g_assert_nonnull (strstr (error->message, "conv2d is 16×16×8"));
  /* A head that does not give one value per class. */
  g_autoptr (GraftModelBuilder) h = graft_model_builder_new (&spec);
  x = graft_model_builder_add_input (h, NULL);
  x = graft_model_builder_add_gap (h, x);
  graft_model_builder_add_dense (h, x, 5);
  g_clear_error (&error);
  g_assert_null (graft_model_builder_finish (h, &error));
  g_assert_nonnull (strstr (error->message, "classes 2"));
}

static void
set_batch (GraftContext *ctx, GraftModel *m, guint32 seed)
{
  int s = graft_model_spec (m)->image_size;
  gsize nx = (gsize) BATCH * s * s * 3;
  g_autofree float *x = g_new (float, nx);
  float labels[BATCH];
  for (gsize i = 0; i < nx; i++)
    x[i] = graft_uniform (seed, 0, i);
  for (int i = 0; i < BATCH; i++)
    labels[i] = (float) (graft_hash (seed + i) % graft_model_spec (m)->classes);
  GraftTensor xin = *graft_model_input (m), lin = *graft_model_labels (m);
  xin.ne[0] = lin.ne[0] = BATCH;
  g_autoptr (GError) error = NULL;
  graft_tensor_write (ctx, &xin, x, &error);
  graft_tensor_write (ctx, &lin, labels, &error);
  g_assert_no_error (error);
}

/* Mean loss of a training-mode forward pass with the host parameters as they are. */
static double
loss_at (GraftContext *ctx, GraftModel *m, GraftTensor *stats)
{
  g_autoptr (GError) error = NULL;
  float s[2];
  graft_model_upload (m, &error);
  graft_tensor_fill (ctx, stats, 0, &error);
  graft_model_forward (m, BATCH, TRUE, 3, 1, &error);
  graft_model_eval_loss (m, BATCH, stats, &error);
  graft_tensor_read (ctx, stats, s, &error);
  g_assert_no_error (error);
  return s[0] / BATCH;
}

static void
check_gradients (int classes, double dropout)
{
  g_autoptr (GraftContext) ctx = graft_test_context ();
  g_autoptr (GraftModel) m = toy_new (classes, dropout);
  g_autoptr (GError) error = NULL;
  float *host = graft_model_host_params (m);
  /* Non-trivial BN parameters, so that every term of its backward is exercised. */
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      for (gsize j = 0; j < p->count; j++)
        {
          float u = graft_uniform (99, i, j);
          if (p->role == GRAFT_PARAM_GAMMA)
            host[p->offset + j] = 0.8f + 0.4f * u;
          else if (p->role == GRAFT_PARAM_BETA || p->role == GRAFT_PARAM_BIAS)
            host[p->offset + j] = 0.2f * (u - 0.5f);
        }
    }
  graft_model_bind (m, ctx, BATCH, &error);
  g_assert_no_error (error);
  set_batch (ctx, m, 5);
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, &error);
  g_assert_no_error (error);

  /* The gradients: a train step with lr 0 leaves the weights and fills the gradients. */
  GraftAdamParams zero = { 0.0f, 0.9f, 0.999f, 1e-7f, 1 };
  graft_tensor_fill (ctx, stats, 0, &error);
  graft_model_train_step (m, BATCH, &zero, 3, 1, stats, &error);
  g_assert_no_error (error);
  guint checked = 0, nonzero = 0;
  /* Small steps: ReLU and max-pool kinks make larger ones disagree by more than rounding. */
  const double h = 1e-3;
  double err2 = 0, ref2 = 0;
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (!p->trainable)
        continue;
      g_autofree float *grad = graft_test_download (ctx, graft_model_param_grad (m, p));
      for (gsize j = 0; j < p->count; j += MAX (1, p->count / 5))
        {
          float keep = host[p->offset + j];
          host[p->offset + j] = keep + h;
          double up = loss_at (ctx, m, stats);
          host[p->offset + j] = keep - h;
          double down = loss_at (ctx, m, stats);
          host[p->offset + j] = keep;
          double fd = (up - down) / (2 * h), g = grad[j];
          if (fabs (fd - g) > 1.5e-3 + 3e-2 * fabs (fd))
            g_error ("%s[%zu]: gradient %.6f, finite differences %.6f", p->full_name, j, g, fd);
          checked++;
          nonzero += fabs (g) > 1e-4;
          err2 += (fd - g) * (fd - g);
          ref2 += fd * fd;
        }
    }
  g_test_message ("%u gradients checked, %u non-zero, relative L2 error %.2e", checked, nonzero,
                  sqrt (err2 / ref2));
  g_assert_cmpfloat (sqrt (err2 / ref2), <, 5e-3);
  g_assert_cmpuint (nonzero, >, checked / 2);
  graft_model_upload (m, &error);
  g_assert_no_error (error);
}

static void
test_gradients_softmax (void)
{
  check_gradients (3, 0.0);
}

static void
test_gradients_sigmoid_dropout (void)
{
  check_gradients (2, 0.3);
}

/* A few Adam steps on one batch bring its loss down. */
static void
test_trains (void)
{
  g_autoptr (GraftContext) ctx = graft_test_context ();
  g_autoptr (GraftModel) m = toy_new (3, 0.0);
  g_autoptr (GError) error = NULL;
  graft_model_bind (m, ctx, BATCH, &error);
  g_assert_no_error (error);
  set_batch (ctx, m, 8);
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, &error);
  double first = loss_at (ctx, m, stats), last = first;
  for (int t = 1; t <= 40; t++)
    {
      GraftAdamParams adam = { 1e-2f, 0.9f, 0.999f, 1e-7f, t };
      float s[2];
      graft_tensor_fill (ctx, stats, 0, &error);
      graft_model_train_step (m, BATCH, &adam, 3, t, stats, &error);
      graft_tensor_read (ctx, stats, s, &error);
      g_assert_no_error (error);
      last = s[0] / BATCH;
    }
  g_test_message ("loss %.4f → %.4f", first, last);
  g_assert_cmpfloat (last, <, 0.5 * first);
}

static void
test_checkpoint_of_another_architecture (void)
{
  g_autoptr (GraftModel) toy = toy_new (3, 0.0);
  g_autofree char *dir = g_dir_make_tmp ("graft-graph-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "toy.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (graft_checkpoint_save (toy, path, NULL, &error));
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (graft_safetensors_metadata (st, "architecture"), ==, TOY_ARCH);

  /* Into a model of another architecture: refused, naming the file and both. */
  GraftModelSpec spec = { 32, 3, 0.125, 0.5 };
  g_autoptr (GraftModel) keras = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (graft_model_spec (keras)->architecture, ==, GRAFT_ARCH_DEFAULT);
  g_assert_false (graft_checkpoint_load_strict (keras, st, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "toy.safetensors"));
  g_assert_nonnull (strstr (error->message, TOY_ARCH));
  g_assert_nonnull (strstr (error->message, "keras-cnn"));
  g_clear_error (&error);
  g_assert_false (graft_checkpoint_check_architecture (keras, st, &error));
  g_clear_error (&error);
  /* Built from its own metadata: an architecture the registry does not know. */
  g_assert_null (graft_checkpoint_load (path, NULL, &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "toy.safetensors"));
  g_assert_nonnull (strstr (error->message, TOY_ARCH));
  g_clear_error (&error);
  /* Its own architecture loads. */
  g_autoptr (GraftModel) again = toy_new (3, 0.0);
  g_assert_true (graft_checkpoint_load_strict (again, st, &error));
  g_assert_no_error (error);

  /* A keras-cnn checkpoint of the earlier name, or with no architecture at all, still loads. */
  const char *names[] = { "keras-image-classification-from-scratch", NULL };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
      graft_safetensors_writer_set_metadata (w, "format", GRAFT_CHECKPOINT_FORMAT);
      if (names[i])
        graft_safetensors_writer_set_metadata (w, "architecture", names[i]);
      graft_safetensors_writer_set_metadata (w, "image_size", "32");
      graft_safetensors_writer_set_metadata (w, "classes", "3");
      graft_safetensors_writer_set_metadata (w, "width", "0.125");
      const float *host = graft_model_host_params (keras);
      for (guint k = 0; k < graft_model_n_params (keras); k++)
        {
          const GraftParam *p = graft_model_param (keras, k);
          graft_safetensors_writer_add (w, p->full_name, p->ndim, p->shape, host + p->offset);
        }
      g_autofree char *old = g_build_filename (dir, "old.safetensors", NULL);
      g_assert_true (graft_safetensors_writer_save (w, old, &error));
      g_autoptr (GraftModel) back = graft_checkpoint_load (old, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (graft_model_spec (back)->architecture, ==, "keras-cnn");
      g_unlink (old);
    }
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/structure", test_structure);
  g_test_add_func ("/graph/builder-errors", test_builder_errors);
  g_test_add_func ("/graph/checkpoint-of-another-architecture",
                   test_checkpoint_of_another_architecture);
  g_test_add_func ("/graph/gradients-softmax", test_gradients_softmax);
  g_test_add_func ("/graph/gradients-sigmoid-dropout", test_gradients_sigmoid_dropout);
  g_test_add_func ("/graph/trains", test_trains);
  return g_test_run ();
}
