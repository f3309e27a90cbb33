/* The model's layers with weights, and the study's re-initialisation presets over them. */
#include "graft-config.h"
#include "graft-layer-presets.h"

#include "graft-model.h"

const char *
graft_layer_preset_label (GraftLayerPreset preset)
{
  switch (preset)
    {
    case GRAFT_LAYER_PRESET_NONE: return "None";
    case GRAFT_LAYER_PRESET_ONLY_OUTPUT: return "Only output";
    case GRAFT_LAYER_PRESET_FIRST3_OUTPUT: return "3 first conv. & output";
    case GRAFT_LAYER_PRESET_LAST2_OUTPUT: return "2 last conv. & output";
    default: return "";
    }
}

GStrv
graft_study_kernel_layers (const GraftStudyHyper *hyper, GError **error)
{
  /* Layer names depend on neither the class count nor the image size, but the
   * model refuses sizes below 32: clamp so that tiny studies still list them. */
  GraftModelSpec spec = {
    .image_size = CLAMP (hyper->image_size, 32, 2048),
    .classes = 2,
    .width = hyper->width > 0 && hyper->width <= 8 ? hyper->width : 1.0,
    .dropout = hyper->dropout >= 0 && hyper->dropout < 1 ? hyper->dropout : 0.5,
  };
  g_autoptr (GraftModel) model = graft_model_new (&spec, error);
  if (model == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = graft_model_kernel_layers (model);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < names->len; i++)
    g_strv_builder_add (b, names->pdata[i]);
  return g_strv_builder_end (b);
}

GStrv
graft_layer_preset_pick (const char *const *layers, GraftLayerPreset preset)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  guint n = layers ? g_strv_length ((char **) layers) : 0;
  if (n == 0 || preset == GRAFT_LAYER_PRESET_NONE)
    return g_strv_builder_end (b);
  /* The output layer is the last one with a kernel; "conv2d" in the study's
   * experiment names counts every convolution with a kernel, residual 1×1
   * and separable ones included (KERAS-MODEL.md). */
  if (preset == GRAFT_LAYER_PRESET_FIRST3_OUTPUT)
    for (guint i = 0; i < MIN (3, n - 1); i++)
      g_strv_builder_add (b, layers[i]);
  else if (preset == GRAFT_LAYER_PRESET_LAST2_OUTPUT)
    for (guint i = n >= 3 ? n - 3 : 0; i + 1 < n; i++)
      g_strv_builder_add (b, layers[i]);
  g_strv_builder_add (b, layers[n - 1]);
  return g_strv_builder_end (b);
}
