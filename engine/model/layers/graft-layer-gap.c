/* GlobalAveragePooling2D: {N, H, W, C} → {N, 1, 1, C}. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
gap_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  l->h = 1;
  l->w = 1;
  l->c = in[0]->c;
  return TRUE;
}

static gboolean
gap_forward (GraftLayerPass *p, GError **error)
{
  return graft_gap_forward (p->ctx, &p->x[0], &p->y, error);
}

static gboolean
gap_backward (GraftLayerPass *p, GError **error)
{
  return p->dx[0] == NULL || graft_gap_backward (p->ctx, &p->dy, p->dx[0], error);
}

static void
gap_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const char *pooled = graft_onnx_keep (g, g_strdup_printf ("%s/nchw", l->name));
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), NULL };
  graft_onnx_node (g, "GlobalAveragePool", pooled, pooled, ins, NULL);
  GraftOnnxAttr *a[] = { graft_onnx_attr_int (g, "axis", 1), NULL };
  const char *f[] = { pooled, NULL };
  graft_onnx_node (g, "Flatten", l->name, graft_onnx_output (g, m, i), f, a);
}

const GraftLayerClass graft_layer_gap = {
  .name = "GlobalAveragePooling2D",
  .base_name = "global_average_pooling2d",
  .min_inputs = 1,
  .max_inputs = 1,
  .flat = TRUE,
  .infer_shape = gap_infer_shape,
  .forward = gap_forward,
  .backward = gap_backward,
  .onnx = gap_onnx,
};
