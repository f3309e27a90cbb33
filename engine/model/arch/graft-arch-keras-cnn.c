/* Keras' "image classification from scratch" network (keras.io/examples/vision/
 * image_classification_from_scratch), layer for layer and name for name: Keras' automatic
 * layer names, HWIO kernels, (3,3,C,1) depthwise, (in, units) dense. A width multiplier scales
 * every channel count. */
#include "graft-arch.h"

#include <math.h>

static int
scaled (const GraftModelSpec *s, int channels)
{
  return MAX (1, (int) lround (channels * s->width));
}

void
graft_arch_keras_cnn_build (GraftModelBuilder *b, const GraftModelSpec *spec)
{
  int x = graft_model_builder_add_input (b, "input_1");
  x = graft_model_builder_add_rescaling (b, x, 1.0 / 255.0, 0.0);
  x = graft_model_builder_add_conv2d (b, x, scaled (spec, 128), 3, 2);
  x = graft_model_builder_add_batchnorm (b, x);
  x = graft_model_builder_add_relu (b, x);
  int previous = x;
  const int sizes[] = { 256, 512, 728 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      int size = scaled (spec, sizes[i]);
      x = graft_model_builder_add_relu (b, x);
      x = graft_model_builder_add_separable_conv2d (b, x, size, 3);
      x = graft_model_builder_add_batchnorm (b, x);
      x = graft_model_builder_add_relu (b, x);
      x = graft_model_builder_add_separable_conv2d (b, x, size, 3);
      x = graft_model_builder_add_batchnorm (b, x);
      int pool = graft_model_builder_add_maxpool (b, x, 3, 2);
      int residual = graft_model_builder_add_conv2d (b, previous, size, 1, 2);
      x = graft_model_builder_add_add (b, pool, residual);
      previous = x;
    }
  x = graft_model_builder_add_separable_conv2d (b, x, scaled (spec, 1024), 3);
  x = graft_model_builder_add_batchnorm (b, x);
  x = graft_model_builder_add_relu (b, x);
  x = graft_model_builder_add_gap (b, x);
  x = graft_model_builder_add_dropout (b, x, spec->dropout);
  graft_model_builder_add_dense (b, x, graft_model_builder_units (b));
}

/* The study's experiments (KERAS-MODEL.md): "conv2d" there counts every convolution with a
 * kernel, residual 1×1 and separable ones included. */
static const char *const only_output[] = { "dense", NULL };
static const char *const first3_output[] = { "conv2d", "separable_conv2d", "separable_conv2d_1",
                                             "dense", NULL };
static const char *const last2_output[] = { "conv2d_3", "separable_conv2d_6", "dense", NULL };

const GraftArchPreset graft_arch_keras_cnn_presets[] = {
  { "only-output", "Only output", only_output },
  { "first3-output", "3 first conv. & output", first3_output },
  { "last2-output", "2 last conv. & output", last2_output },
  { NULL, NULL, NULL },
};
