/* Helpers shared by the tests: device opening with skip, random data, error norms. */
#pragma once

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "graft-context.h"
#include "graft-tensor.h"

/* Exit code meson treats as "skipped". */
#define GRAFT_TEST_SKIP 77

/* Opens the device named by $GRAFT_TEST_DEVICE (default: the default device);
 * exits 77 when the machine has no OpenCL device. */
/* The environment for a graft-cli a test spawns: this one, with LeakSanitizer's exit-time check
 * off in sanitizer builds, as for the script tests (tests/meson.build): LeakSanitizer's tracer
 * now and then crashes while PoCL's threads wind down ("Tracer caught signal 11"), which failed
 * a run that had done everything right. Every ASan and UBSan report still fails the child. */
static inline char **
graft_test_cli_environ (void)
{
  char **env = g_get_environ ();
  const char *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  g_autofree char *opts = asan && *asan ? g_strconcat (asan, ":detect_leaks=0", NULL)
                                        : g_strdup ("detect_leaks=0");
  return g_environ_setenv (env, "ASAN_OPTIONS", opts, TRUE);
}

static inline GraftContext *
graft_test_context (void)
{
  g_autoptr (GError) error = NULL;
  GraftContext *ctx = graft_context_new (g_getenv ("GRAFT_TEST_DEVICE"), &error);
  if (ctx == NULL)
    {
      if (g_error_matches (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE))
        {
          printf ("SKIP: %s\n", error->message);
          exit (GRAFT_TEST_SKIP);
        }
      g_error ("Cannot open the OpenCL device: %s", error->message);
    }
  return ctx;
}

static inline void
graft_test_fill_uniform (GRand *r, float *x, gsize n, double lo, double hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
}

/* ggml's normalised mean squared error: sum (a−b)² / sum b². */
static inline double
graft_test_nmse (const float *a, const float *b, gsize n)
{
  double num = 0, den = 0;
  for (gsize i = 0; i < n; i++)
    {
      double d = (double) a[i] - b[i];
      num += d * d;
      den += (double) b[i] * b[i];
    }
  if (den == 0)
    return num;
  return num / den;
}

static inline double
graft_test_max_abs_diff (const float *a, const float *b, gsize n)
{
  double m = 0;
  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* Uploads host data into a new tensor or aborts. */
static inline GraftTensor *
graft_test_upload (GraftContext *ctx, const float *data, int n, int h, int w, int c)
{
  g_autoptr (GError) error = NULL;
  GraftTensor *t = graft_tensor_new (ctx, n, h, w, c, &error);
  g_assert_no_error (error);
  if (data)
    graft_tensor_write (ctx, t, data, &error);
  else
    graft_tensor_fill (ctx, t, 0.0f, &error);
  g_assert_no_error (error);
  return t;
}

static inline float *
graft_test_download (GraftContext *ctx, const GraftTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *h = graft_tensor_to_host (ctx, t, &error);
  g_assert_no_error (error);
  return h;
}

/* Checks a device result against the reference; prints the error either way. */
#define graft_test_assert_close(what, got, want, n, tol)                                   \
  G_STMT_START {                                                                           \
    double _e = graft_test_nmse ((got), (want), (n));                                      \
    g_test_message ("%s: nmse %.3g (max |diff| %.3g)", (what), _e,                         \
                    graft_test_max_abs_diff ((got), (want), (n)));                         \
    if (!(_e <= (tol)))                                                                     \
      g_error ("%s: normalised error %.3g exceeds %.3g", (what), _e, (double) (tol));     \
  } G_STMT_END
