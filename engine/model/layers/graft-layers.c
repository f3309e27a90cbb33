/* The layer registry and parameter roles. */
#include "graft-layer.h"

#define GRAFT_LAYER_KIND_ROW(id) &graft_layer_##id,
static const GraftLayerClass *const classes[] = { GRAFT_LAYER_KINDS (GRAFT_LAYER_KIND_ROW) };

guint
graft_layer_n_classes (void)
{
  return G_N_ELEMENTS (classes);
}

const GraftLayerClass *
graft_layer_class (guint i)
{
  return i < G_N_ELEMENTS (classes) ? classes[i] : NULL;
}

const GraftLayerClass *
graft_layer_class_find (const char *name)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (classes); i++)
    if (g_str_equal (classes[i]->name, name))
      return classes[i];
  return NULL;
}

static const char *const role_names[] = {
  "kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta", "moving_mean",
  "moving_variance",
};
G_STATIC_ASSERT (G_N_ELEMENTS (role_names) == GRAFT_PARAM_N_ROLES);

const char *
graft_param_role_name (GraftParamRole role)
{
  return role < GRAFT_PARAM_N_ROLES ? role_names[role] : "?";
}

gboolean
graft_param_role_trainable (GraftParamRole role)
{
  return role != GRAFT_PARAM_MOVING_MEAN && role != GRAFT_PARAM_MOVING_VARIANCE;
}

gboolean
graft_param_role_is_kernel (GraftParamRole role)
{
  return role == GRAFT_PARAM_KERNEL || role == GRAFT_PARAM_DEPTHWISE_KERNEL ||
         role == GRAFT_PARAM_POINTWISE_KERNEL;
}
