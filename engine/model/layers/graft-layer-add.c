/* Add: the sum of two inputs of one shape (a residual connection). Where the later input is a
 * convolution the sum alone reads, that convolution's GEMM adds the other input as it stores
 * (graft_layer_add_folded) and this layer does nothing. */
#include "graft-model.h"
#include "graft-layer-onnx.h"

static gboolean
add_infer_shape (GraftLayer *l, const GraftLayer *const *in, GError **error)
{
  if (in[0]->h != in[1]->h || in[0]->w != in[1]->w || in[0]->c != in[1]->c)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "inputs: %s is %d×%d×%d but %s is %d×%d×%d", in[0]->name, in[0]->h, in[0]->w,
                   in[0]->c, in[1]->name, in[1]->h, in[1]->w, in[1]->c);
      return FALSE;
    }
  l->h = in[0]->h;
  l->w = in[0]->w;
  l->c = in[0]->c;
  return TRUE;
}

static gboolean
add_forward (GraftLayerPass *p, GError **error)
{
  if (graft_layer_add_folded (p->model, p->index) >= 0)
    return TRUE;
  return graft_add (p->ctx, &p->x[0], &p->x[1], &p->y, error);
}

static gboolean
add_backward (GraftLayerPass *p, GError **error)
{
  for (int j = 0; j < 2; j++)
    if (p->dx[j] && !graft_tensor_copy (p->ctx, &p->dy, p->dx[j], error))
      return FALSE;
  return TRUE;
}

static void
add_onnx (GraftOnnxGraph *g, GraftModel *m, guint i)
{
  const GraftLayer *l = graft_model_layer (m, i);
  const char *ins[] = { graft_onnx_output (g, m, l->in[0]), graft_onnx_output (g, m, l->in[1]),
                        NULL };
  graft_onnx_node (g, "Add", l->name, graft_onnx_output (g, m, i), ins, NULL);
}

const GraftLayerClass graft_layer_add = {
  .name = "Add",
  .base_name = "add",
  .min_inputs = 2,
  .max_inputs = 2,
  .infer_shape = add_infer_shape,
  .forward = add_forward,
  .backward = add_backward,
  .onnx = add_onnx,
};
