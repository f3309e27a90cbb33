/* Device tensors placed inside larger buffers, with guard cells that must survive every op. */
#pragma once

#include "graft-test.h"

/* An odd offset makes 4-wide loads unaligned, as for views into the parameter buffer. */
#define TEST_VIEW_BEFORE 5
#define TEST_VIEW_AFTER 7
#define TEST_VIEW_GUARD 12345.0f

typedef struct {
  GraftTensor *base;
  GraftTensor *view;
} TestView;

static inline void
test_view_free (TestView *v)
{
  if (v == NULL)
    return;
  graft_tensor_free (v->view);
  graft_tensor_free (v->base);
  g_free (v);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestView, test_view_free)

/* A view of shape n×h×w×c holding @data (zeros when NULL), guard cells around it. */
static inline TestView *
test_view_new (GraftContext *ctx, const float *data, int n, int h, int w, int c)
{
  g_autoptr (GError) error = NULL;
  gsize numel = (gsize) n * h * w * c;
  gsize total = TEST_VIEW_BEFORE + numel + TEST_VIEW_AFTER;
  g_autofree float *host = g_new (float, total);
  for (gsize i = 0; i < total; i++)
    host[i] = TEST_VIEW_GUARD;
  for (gsize i = 0; i < numel; i++)
    host[TEST_VIEW_BEFORE + i] = data ? data[i] : 0.0f;
  TestView *v = g_new0 (TestView, 1);
  v->base = graft_tensor_new (ctx, 1, 1, 1, (int) total, &error);
  g_assert_no_error (error);
  graft_tensor_write (ctx, v->base, host, &error);
  g_assert_no_error (error);
  v->view = graft_tensor_view (v->base->mem, TEST_VIEW_BEFORE, n, h, w, c);
  return v;
}

/* Reads the view back and checks that the guard cells are untouched. */
static inline float *
test_view_download (GraftContext *ctx, const TestView *v, const char *what)
{
  g_autofree float *all = graft_test_download (ctx, v->base);
  gsize numel = graft_tensor_numel (v->view);
  for (gsize i = 0; i < TEST_VIEW_BEFORE; i++)
    if (all[i] != TEST_VIEW_GUARD)
      g_error ("%s: wrote before its view (cell −%" G_GSIZE_FORMAT ")", what,
               TEST_VIEW_BEFORE - i);
  for (gsize i = 0; i < TEST_VIEW_AFTER; i++)
    if (all[TEST_VIEW_BEFORE + numel + i] != TEST_VIEW_GUARD)
      g_error ("%s: wrote past its view (cell +%" G_GSIZE_FORMAT ")", what, i);
  return g_memdup2 (all + TEST_VIEW_BEFORE, sizeof (float) * numel);
}
