/* Adam in the Keras form over a flat parameter view: OpenCL update and the C reference. */
#include "graft-ops.h"

#include <math.h>

/* Bias correction folded into the step size, in double on the host as Keras does. */
static float
adam_lr_t (const GraftAdamParams *p)
{
  double t = (double) p->step;
  return (float) (p->lr * sqrt (1.0 - pow (p->beta2, t)) / (1.0 - pow (p->beta1, t)));
}

gboolean
graft_adam_update (GraftContext *ctx, const GraftAdamParams *p, GraftTensor *param,
                   const GraftTensor *grad, GraftTensor *m, GraftTensor *v, GError **error)
{
  if (p->step < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "adam: step %" G_GINT64_FORMAT " must be 1 or more", p->step);
      return FALSE;
    }
  gsize numel = graft_tensor_numel (param);
  if (graft_tensor_numel (grad) != numel || graft_tensor_numel (m) != numel ||
      graft_tensor_numel (v) != numel || numel > G_MAXUINT32)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "adam: parameters (%zu), gradients (%zu) and moments (%zu, %zu) differ in size",
                   numel, graft_tensor_numel (grad), graft_tensor_numel (m),
                   graft_tensor_numel (v));
      return FALSE;
    }
  if (numel == 0)
    return TRUE;
  cl_kernel k = graft_context_kernel (ctx, "adam", "adam_update", error);
  if (k == NULL)
    return FALSE;
  cl_ulong po = param->off, go = grad->off, mo = m->off, vo = v->off;
  cl_float lr_t = adam_lr_t (p), b1 = p->beta1, b2 = p->beta2, eps = p->eps;
  cl_uint n = (cl_uint) numel;
  if (!graft_kernel_args (k, error, GA (param->mem), GA (po), GA (grad->mem), GA (go),
                          GA (m->mem), GA (mo), GA (v->mem), GA (vo), GA (lr_t), GA (b1),
                          GA (b2), GA (eps), GA (n), (size_t) 0))
    return FALSE;
  size_t global = numel, local = 64;
  return graft_launch (ctx, "adam_update", k, 1, &global, &local, error);
}

void
graft_adam_update_ref (const GraftAdamParams *p, gsize n, float *param, const float *grad,
                       float *m, float *v)
{
  float lr_t = adam_lr_t (p);
  for (gsize i = 0; i < n; i++)
    {
      float g = grad[i];
      m[i] = p->beta1 * m[i] + (1.0f - p->beta1) * g;
      v[i] = p->beta2 * v[i] + (1.0f - p->beta2) * g * g;
      param[i] -= lr_t * m[i] / (sqrtf (v[i]) + p->eps);
    }
}
