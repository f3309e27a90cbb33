/* Element-wise add, scale and axpy over flat tensor views, on the device and in plain C. */
#include "graft-ops.h"
#include "graft-ops-gpu.h"

#define LOCAL_1D 64

static gboolean
same_size (const char *op, const GraftTensor *a, const GraftTensor *b, GError **error)
{
  if (graft_tensor_numel (a) == graft_tensor_numel (b))
    return TRUE;
  g_autofree char *sa = graft_tensor_shape_string (a);
  g_autofree char *sb = graft_tensor_shape_string (b);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "%s: tensors %s and %s differ in size", op, sa, sb);
  return FALSE;
}

static gboolean
launch (GraftContext *ctx, const char *op, cl_kernel k, gsize n, GError **error)
{
  size_t global = n, local = LOCAL_1D;
  return graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_add (GraftContext *ctx, const GraftTensor *a, const GraftTensor *b, GraftTensor *y,
           GError **error)
{
  if (!same_size ("add", a, b, error) || !same_size ("add", a, y, error))
    return FALSE;
  cl_ulong n = graft_tensor_numel (y), a_off = a->off, b_off = b->off, y_off = y->off;
  if (n == 0)
    return TRUE;
  if (graft_kernels_gpu (ctx))
    return graft_add_gpu (ctx, a, b, y, error);
  cl_kernel k = graft_context_kernel (ctx, "elementwise", "add_forward", error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (a->mem), GA (a_off), GA (b->mem), GA (b_off),
                            GA (y->mem), GA (y_off), GA (n), 0) &&
         launch (ctx, "add", k, n, error);
}

static gboolean
scaled (GraftContext *ctx, const char *op, const char *kernel, float alpha, const GraftTensor *x,
        GraftTensor *y, GError **error)
{
  if (!same_size (op, x, y, error))
    return FALSE;
  cl_ulong n = graft_tensor_numel (y), x_off = x->off, y_off = y->off;
  if (n == 0)
    return TRUE;
  cl_kernel k = graft_context_kernel (ctx, "elementwise", kernel, error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (y->mem), GA (y_off),
                            GA (alpha), GA (n), 0) &&
         launch (ctx, op, k, n, error);
}

gboolean
graft_scale (GraftContext *ctx, float alpha, const GraftTensor *x, GraftTensor *y, GError **error)
{
  if (graft_kernels_gpu (ctx) && same_size ("scale", x, y, NULL))
    return graft_scale_gpu (ctx, alpha, x, y, error);
  return scaled (ctx, "scale", "scale_forward", alpha, x, y, error);
}

gboolean
graft_axpy (GraftContext *ctx, float alpha, const GraftTensor *x, GraftTensor *y, GError **error)
{
  if (graft_kernels_gpu (ctx) && same_size ("axpy", x, y, NULL))
    return graft_axpy_gpu (ctx, alpha, x, y, error);
  return scaled (ctx, "axpy", "axpy_forward", alpha, x, y, error);
}

void
graft_add_ref (gsize n, const float *a, const float *b, float *y)
{
  for (gsize i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
graft_scale_ref (gsize n, float alpha, const float *x, float *y)
{
  for (gsize i = 0; i < n; i++)
    y[i] = alpha * x[i];
}

void
graft_axpy_ref (gsize n, float alpha, const float *x, float *y)
{
  for (gsize i = 0; i < n; i++)
    y[i] += alpha * x[i];
}
