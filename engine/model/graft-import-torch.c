/* PyTorch state dicts into Graft models: names and layouts (graft-import-torch.h). */
#include "graft-import-torch.h"

#include "graft-error.h"
#include "graft-arch.h"

#include <stdio.h>
#include <string.h>

gboolean
graft_import_torch_detect (GraftSafetensors *st)
{
  if (graft_safetensors_metadata (st, "format") != NULL &&
      graft_safetensors_metadata (st, "architecture") != NULL)
    return FALSE;
  guint n = graft_safetensors_n_tensors (st);
  if (n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const char *name = graft_safetensors_name (st, i);
      if (strchr (name, '/') != NULL || strchr (name, '.') == NULL)
        return FALSE;
    }
  return TRUE;
}

/* timm's MobileNetV2 (mobilenetv2_100) names a torchvision layer differently: the stem and head
 * by role, the inverted residual blocks as blocks.<stage>.<block>. */
static char *
timm_layer (const char *tv)
{
  static const struct { const char *tv, *timm; } fixed[] = {
    { "features.0.0", "conv_stem" },         { "features.0.1", "bn1" },
    { "features.18.0", "conv_head" },        { "features.18.1", "bn2" },
    { "classifier.1", "classifier" },        { "features.1.conv.0.0", "blocks.0.0.conv_dw" },
    { "features.1.conv.0.1", "blocks.0.0.bn1" }, { "features.1.conv.1", "blocks.0.0.conv_pw" },
    { "features.1.conv.2", "blocks.0.0.bn2" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    if (g_str_equal (tv, fixed[i].tv))
      return g_strdup (fixed[i].timm);
  int idx;
  char part[16] = "";
  if (sscanf (tv, "features.%d.conv.%15s", &idx, part) != 2 || idx < 2 || idx > 17)
    return NULL;
  /* Blocks per stage after the first: 2, 3, 4, 3, 3, 1 (features.2 to 17). */
  static const int blocks[] = { 2, 3, 4, 3, 3, 1 };
  int rest = idx - 2, stage = 1;
  for (guint s = 0; s < G_N_ELEMENTS (blocks) && rest >= blocks[s]; s++)
    {
      rest -= blocks[s];
      stage++;
    }
  static const struct { const char *tv, *timm; } parts[] = {
    { "0.0", "conv_pw" }, { "0.1", "bn1" }, { "1.0", "conv_dw" },
    { "1.1", "bn2" },     { "2", "conv_pwl" }, { "3", "bn3" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (g_str_equal (part, parts[i].tv))
      return g_strdup_printf ("blocks.%d.%d.%s", stage, rest, parts[i].timm);
  return NULL;
}

char *
graft_import_torch_key (GraftModel *m, const GraftParam *p, gboolean timm)
{
  const char *suffix = NULL;
  switch (p->role)
    {
    case GRAFT_PARAM_KERNEL:
    case GRAFT_PARAM_DEPTHWISE_KERNEL:
    case GRAFT_PARAM_GAMMA:
      suffix = "weight";
      break;
    case GRAFT_PARAM_BIAS:
    case GRAFT_PARAM_BETA:
      suffix = "bias";
      break;
    case GRAFT_PARAM_MOVING_MEAN:
      suffix = "running_mean";
      break;
    case GRAFT_PARAM_MOVING_VARIANCE:
      suffix = "running_var";
      break;
    default:
      return NULL;
    }
  const char *layer = graft_model_layer_name (m, p->layer);
  g_autofree char *t = timm ? timm_layer (layer) : NULL;
  return g_strdup_printf ("%s.%s", t ? t : layer, suffix);
}

/* The state dict's shape of @p: OIHW for conv kernels, (C, 1, k, k) depthwise, (out, in) dense. */
static int
torch_shape (const GraftParam *p, int shape[4])
{
  if (p->ndim == 4 && p->role == GRAFT_PARAM_KERNEL)
    {
      shape[0] = p->shape[3], shape[1] = p->shape[2], shape[2] = p->shape[0],
      shape[3] = p->shape[1];
      return 4;
    }
  if (p->ndim == 4 && p->role == GRAFT_PARAM_DEPTHWISE_KERNEL)
    {
      shape[0] = p->shape[2], shape[1] = 1, shape[2] = p->shape[0], shape[3] = p->shape[1];
      return 4;
    }
  if (p->ndim == 2)
    {
      shape[0] = p->shape[1], shape[1] = p->shape[0];
      return 2;
    }
  for (int i = 0; i < p->ndim; i++)
    shape[i] = p->shape[i];
  return p->ndim;
}

static char *
shape_text (int nd, const int *shape)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < nd; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", shape[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* Copies @key of @st into @p's values at @dst, changing the layout. */
static gboolean
convert (GraftSafetensors *st, const char *key, const GraftParam *p, float *dst, GError **error)
{
  g_autofree float *src = g_new (float, p->count);
  if (!graft_safetensors_copy (st, key, src, p->count, error))
    return FALSE;
  if (p->ndim == 4 && p->role == GRAFT_PARAM_KERNEL)
    {
      /* OIHW → HWIO */
      int kh = p->shape[0], kw = p->shape[1], ci = p->shape[2], co = p->shape[3];
      for (int o = 0; o < co; o++)
        for (int i = 0; i < ci; i++)
          for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
              dst[(((gsize) y * kw + x) * ci + i) * co + o] =
                src[(((gsize) o * ci + i) * kh + y) * kw + x];
    }
  else if (p->ndim == 4 && p->role == GRAFT_PARAM_DEPTHWISE_KERNEL)
    {
      /* (C, 1, k, k) → (k, k, C, 1) */
      int kh = p->shape[0], kw = p->shape[1], c = p->shape[2];
      for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < kh; y++)
          for (int x = 0; x < kw; x++)
            dst[((gsize) y * kw + x) * c + ch] = src[((gsize) ch * kh + y) * kw + x];
    }
  else if (p->ndim == 2)
    {
      /* (out, in) → (in, out) */
      int in = p->shape[0], out = p->shape[1];
      for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
          dst[(gsize) i * out + o] = src[(gsize) o * in + i];
    }
  else
    memcpy (dst, src, p->count * sizeof (float));
  return TRUE;
}

gboolean
graft_import_torch_transfer (GraftModel *m, GraftSafetensors *st, GPtrArray *loaded,
                             GString *report, GError **error)
{
  gboolean timm = graft_safetensors_has (st, "conv_stem.weight");
  float *host = graft_model_host_params (m);
  guint n_loaded = 0;
  for (guint l = 0; l < graft_model_n_layers (m); l++)
    {
      if (!graft_model_layer_has_params (m, l))
        continue;
      gboolean all = TRUE;
      for (guint i = 0; i < graft_model_n_params (m) && all; i++)
        {
          const GraftParam *p = graft_model_param (m, i);
          if (p->layer != (int) l)
            continue;
          g_autofree char *key = graft_import_torch_key (m, p, timm);
          int want[4], got[8];
          int nw = torch_shape (p, want);
          int ng = key ? graft_safetensors_shape (st, key, got) : -1;
          if (ng < 0)
            {
              g_string_append_printf (report, "%s: %s is not in %s, keeps its initial values\n",
                                      graft_model_layer_name (m, l), key ? key : p->full_name,
                                      graft_safetensors_path (st));
              all = FALSE;
            }
          else if (ng != nw || memcmp (got, want, sizeof (int) * nw) != 0)
            {
              g_autofree char *gt = shape_text (ng, got);
              g_autofree char *wt = shape_text (nw, want);
              g_string_append_printf (report, "%s: %s is %s in the state dict and %s here, so the "
                                      "layer is replaced (new initial values)\n",
                                      graft_model_layer_name (m, l), key, gt, wt);
              all = FALSE;
            }
        }
      if (!all)
        continue;
      for (guint i = 0; i < graft_model_n_params (m); i++)
        {
          const GraftParam *p = graft_model_param (m, i);
          if (p->layer != (int) l)
            continue;
          g_autofree char *key = graft_import_torch_key (m, p, timm);
          if (!convert (st, key, p, host + p->offset, error))
            return FALSE;
        }
      if (loaded)
        g_ptr_array_add (loaded, (gpointer) graft_model_layer_name (m, l));
      n_loaded++;
    }
  if (n_loaded == 0)
    {
      const GraftModelSpec *spec = graft_model_spec (m);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: no tensor of the state dict fits a layer of this model (architecture "
                   "%s): is it a checkpoint of that network?", graft_safetensors_path (st),
                   spec->architecture && *spec->architecture ? spec->architecture
                                                             : GRAFT_ARCH_DEFAULT);
      return FALSE;
    }
  return TRUE;
}
