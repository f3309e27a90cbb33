/* The window geometry shared by conv2d, depthwise convolution and max pooling. */
#include "graft-ops.h"

gboolean
graft_window_check (const char *op, int h, int w, int kh, int kw, gboolean explicit_pad, int pad,
                    gboolean pool, GError **error)
{
  if (!explicit_pad)
    return TRUE;
  if (pad < 0 || pad > (1 << 20))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: padding %d is outside 0..%d", op, pad, 1 << 20);
      return FALSE;
    }
  if (pool && (2 * pad > kh || 2 * pad > kw))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: padding %d is more than half the %d×%d window", op, pad, kh, kw);
      return FALSE;
    }
  if (h + 2 * pad < kh || w + 2 * pad < kw)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: a %d×%d window does not fit a %d×%d input padded by %d", op, kh, kw, h,
                   w, pad);
      return FALSE;
    }
  return TRUE;
}
