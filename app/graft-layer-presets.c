/* The model's layers with weights, and the study's re-initialisation presets over them. */
#include "graft-config.h"
#include "graft-layer-presets.h"

#include "graft-arch.h"
#include "graft-model.h"

const char *
graft_layer_preset_label (GraftLayerPreset preset)
{
  /* The experiment names of the reference study (graft_study_new_preset). */
  switch (preset)
    {
    case GRAFT_LAYER_PRESET_NONE: return "None";
    case GRAFT_LAYER_PRESET_ONLY_OUTPUT: return "only output";
    case GRAFT_LAYER_PRESET_FIRST3_OUTPUT: return "3-first-conv2d & output";
    case GRAFT_LAYER_PRESET_LAST2_OUTPUT: return "2-last-conv2d & output";
    case GRAFT_LAYER_PRESET_CUSTOM: return "Custom";
    default: return "";
    }
}

static void
layer_info_free (gpointer p)
{
  GraftLayerInfo *l = p;
  g_free (l->name);
  g_free (l->kind);
  g_free (l);
}

GPtrArray *
graft_study_layer_infos (const GraftStudyHyper *hyper, GError **error)
{
  return graft_study_layer_infos_for (hyper, NULL, error);
}

GPtrArray *
graft_study_layer_infos_for (const GraftStudyHyper *hyper, const char *arch, GError **error)
{
  /* Layer names depend on neither the class count nor the image size, but the
   * model refuses sizes below 32: clamp so that tiny studies still list them. */
  GraftModelSpec spec = {
    .image_size = CLAMP (hyper->image_size, 32, 2048),
    .classes = 2,
    .width = hyper->width > 0 && hyper->width <= 8 ? hyper->width : 1.0,
    .dropout = hyper->dropout >= 0 && hyper->dropout < 1 ? hyper->dropout : 0.5,
    .architecture = arch,
  };
  g_autoptr (GraftModel) model = graft_model_new (&spec, error);
  if (model == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = graft_model_kernel_layers (model);
  GPtrArray *out = g_ptr_array_new_with_free_func (layer_info_free);
  for (guint i = 0; i < names->len; i++)
    {
      int layer = graft_model_layer_find (model, names->pdata[i]);
      GraftLayerInfo *l = g_new0 (GraftLayerInfo, 1);
      l->name = g_strdup (names->pdata[i]);
      l->kind = g_strdup (graft_layer_kind_name (graft_model_layer_kind (model, layer)));
      graft_model_layer_shape (model, layer, &l->h, &l->w, &l->c);
      for (guint p = 0; p < graft_model_n_params (model); p++)
        if (graft_model_param (model, p)->layer == layer)
          l->params += graft_model_param (model, p)->count;
      g_ptr_array_add (out, l);
    }
  return out;
}

GStrv
graft_study_kernel_layers (const GraftStudyHyper *hyper, GError **error)
{
  g_autoptr (GPtrArray) infos = graft_study_layer_infos (hyper, error);
  if (infos == NULL)
    return NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < infos->len; i++)
    g_strv_builder_add (b, ((GraftLayerInfo *) infos->pdata[i])->name);
  return g_strv_builder_end (b);
}

GStrv
graft_layer_preset_pick (const char *const *layers, GraftLayerPreset preset)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  guint n = layers ? g_strv_length ((char **) layers) : 0;
  if (n == 0 || preset == GRAFT_LAYER_PRESET_NONE || preset >= GRAFT_LAYER_N_PRESETS)
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

static gboolean
same_set (const char *const *a, const char *const *b)
{
  guint na = a ? g_strv_length ((char **) a) : 0, nb = b ? g_strv_length ((char **) b) : 0;
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (!g_strv_contains (b, a[i]))
      return FALSE;
  return TRUE;
}

GraftLayerPreset
graft_layer_preset_match (const char *const *layers, const char *const *reinit)
{
  if (reinit == NULL || reinit[0] == NULL)
    return GRAFT_LAYER_PRESET_NONE;
  for (int p = GRAFT_LAYER_PRESET_ONLY_OUTPUT; p < GRAFT_LAYER_N_PRESETS; p++)
    {
      g_auto (GStrv) picked = graft_layer_preset_pick (layers, (GraftLayerPreset) p);
      if (same_set ((const char *const *) picked, reinit))
        return (GraftLayerPreset) p;
    }
  return GRAFT_LAYER_PRESET_CUSTOM;
}

static gboolean
is_keras (const char *arch, const GraftArch **out)
{
  *out = graft_arch_find (arch, NULL);
  return *out == NULL || g_str_equal ((*out)->name, GRAFT_ARCH_DEFAULT);
}

guint
graft_layer_presets_n (const char *arch)
{
  const GraftArch *a;
  if (is_keras (arch, &a))
    return GRAFT_LAYER_N_PRESETS - 1;
  guint n = 0;
  while (a->presets && a->presets[n].id)
    n++;
  return n;
}

const char *
graft_layer_preset_label_for (const char *arch, guint preset)
{
  const GraftArch *a;
  if (is_keras (arch, &a))
    return graft_layer_preset_label ((GraftLayerPreset) MIN (preset, GRAFT_LAYER_PRESET_CUSTOM));
  guint n = graft_layer_presets_n (arch);
  if (preset == 0)
    return "None";
  return preset <= n ? a->presets[preset - 1].label : "Custom";
}

GStrv
graft_layer_preset_pick_for (const char *arch, const char *const *layers, guint preset)
{
  const GraftArch *a;
  if (is_keras (arch, &a))
    return graft_layer_preset_pick (layers, (GraftLayerPreset) MIN (preset,
                                                                   GRAFT_LAYER_PRESET_CUSTOM));
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  guint n = graft_layer_presets_n (arch);
  /* The registry's group, kept to the model's own layers, in network order. */
  if (preset >= 1 && preset <= n)
    for (guint i = 0; layers && layers[i]; i++)
      if (g_strv_contains (a->presets[preset - 1].layers, layers[i]))
        g_strv_builder_add (b, layers[i]);
  return g_strv_builder_end (b);
}

guint
graft_layer_preset_match_for (const char *arch, const char *const *layers,
                              const char *const *reinit)
{
  const GraftArch *a;
  if (is_keras (arch, &a))
    return graft_layer_preset_match (layers, reinit);
  if (reinit == NULL || reinit[0] == NULL)
    return 0;
  guint n = graft_layer_presets_n (arch);
  for (guint p = 1; p <= n; p++)
    {
      g_auto (GStrv) picked = graft_layer_preset_pick_for (arch, layers, p);
      if (same_set ((const char *const *) picked, reinit))
        return p;
    }
  return n + 1;
}
