/* The kernel-set table (device type and vendor → CPU- or GPU-shaped kernels), the
 * GRAFT_KERNELS override and its message, and work-group sizes cut to a kernel's limits. */
#include "graft-test.h"
#include "graft-kernel-variants.h"

#include <string.h>

static GraftDeviceInfo
fake (const char *type, const char *vendor)
{
  GraftDeviceInfo d = { 0 };
  d.type = (char *) type;
  d.vendor = (char *) vendor;
  return d;
}

static void
test_table (void)
{
  static const struct {
    const char *type, *vendor;
    GraftKernelSet set;
    guint group;
  } rows[] = {
    { "CPU", "AuthenticAMD", GRAFT_KERNELS_CPU, 64 },
    { "CPU", "GenuineIntel", GRAFT_KERNELS_CPU, 64 },
    { "GPU", "NVIDIA Corporation", GRAFT_KERNELS_GPU, 256 },
    { "GPU", "Advanced Micro Devices, Inc.", GRAFT_KERNELS_GPU, 256 },
    { "GPU", "Intel(R) Corporation", GRAFT_KERNELS_GPU, 128 },
    { "GPU", "Apple", GRAFT_KERNELS_GPU, 128 },
    { "Accelerator", "Xilinx", GRAFT_KERNELS_GPU, 128 },
    { "Custom", "Someone", GRAFT_KERNELS_CPU, 64 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      GraftDeviceInfo d = fake (rows[i].type, rows[i].vendor);
      const GraftKernelVariant *v = graft_kernel_variant_lookup (&d);
      g_assert_cmpint (v->set, ==, rows[i].set);
      g_assert_cmpuint (v->group_1d, ==, rows[i].group);
      /* Reductions halve their lanes: a power of two. */
      g_assert_cmpuint (v->lanes & (v->lanes - 1), ==, 0);
      /* The set forced onto any device gets a row of that set. */
      g_assert_cmpint (graft_kernel_variant_for (&d, GRAFT_KERNELS_GPU)->set, ==,
                       GRAFT_KERNELS_GPU);
      g_assert_cmpint (graft_kernel_variant_for (&d, GRAFT_KERNELS_CPU)->set, ==,
                       GRAFT_KERNELS_CPU);
    }
}

static void
test_env (void)
{
  static const struct {
    const char *value;
    gboolean ok, forced;
    GraftKernelSet set;
  } rows[] = {
    { NULL, TRUE, FALSE, GRAFT_KERNELS_CPU }, { "", TRUE, FALSE, GRAFT_KERNELS_CPU },
    { "cpu", TRUE, TRUE, GRAFT_KERNELS_CPU }, { "gpu", TRUE, TRUE, GRAFT_KERNELS_GPU },
    { "GPU", TRUE, TRUE, GRAFT_KERNELS_GPU }, { "cuda", FALSE, FALSE, GRAFT_KERNELS_CPU },
    { "gpu ", FALSE, FALSE, GRAFT_KERNELS_CPU },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      if (rows[i].value)
        g_setenv ("GRAFT_KERNELS", rows[i].value, TRUE);
      else
        g_unsetenv ("GRAFT_KERNELS");
      g_autoptr (GError) error = NULL;
      GraftKernelSet set = GRAFT_KERNELS_CPU;
      gboolean forced = TRUE;
      gboolean ok = graft_kernel_set_from_env (&set, &forced, &error);
      g_assert_cmpint (ok, ==, rows[i].ok);
      if (!ok)
        {
          g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
          g_assert_nonnull (strstr (error->message, "GRAFT_KERNELS"));
          g_assert_nonnull (strstr (error->message, rows[i].value));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (forced, ==, rows[i].forced);
      if (forced)
        g_assert_cmpint (set, ==, rows[i].set);
    }
  g_unsetenv ("GRAFT_KERNELS");
}

/* A context refuses a bad GRAFT_KERNELS naming it; each value picks its set and the GEMM
 * that goes with it; local sizes fit the kernel. */
static void
test_context (void)
{
  g_setenv ("GRAFT_KERNELS", "neither", TRUE);
  g_autoptr (GError) error = NULL;
  GraftContext *bad = graft_context_new (g_getenv ("GRAFT_TEST_DEVICE"), &error);
  if (bad == NULL && g_error_matches (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE))
    {
      g_unsetenv ("GRAFT_KERNELS");
      g_test_skip (error->message);
      return;
    }
  g_assert_null (bad);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "GRAFT_KERNELS"));
  g_unsetenv ("GRAFT_GEMM");
  const char *sets[] = { "cpu", "gpu" };
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++)
    {
      g_setenv ("GRAFT_KERNELS", sets[i], TRUE);
      g_autoptr (GraftContext) ctx = graft_test_context ();
      GraftKernelSet want = i == 0 ? GRAFT_KERNELS_CPU : GRAFT_KERNELS_GPU;
      g_assert_cmpint (graft_context_kernel_set (ctx), ==, want);
      g_assert_cmpint (graft_kernels_gpu (ctx), ==, want == GRAFT_KERNELS_GPU);
      g_assert_cmpint (graft_context_kernel_variant (ctx)->set, ==, want);
      g_assert_cmpint (graft_context_gemm_impl (ctx), ==,
                       want == GRAFT_KERNELS_CPU ? GRAFT_GEMM_TILED : GRAFT_GEMM_CLBLAST);
      g_autoptr (GError) kerror = NULL;
      cl_kernel k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_stats_partial", &kerror);
      g_assert_no_error (kerror);
      size_t max = 0;
      g_assert_cmpint (clGetKernelWorkGroupInfo (k, graft_context_device (ctx)->device,
                                                 CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max,
                                                 NULL), ==, CL_SUCCESS);
      size_t want_sizes[3] = { 4 * max, 4, 2 }, local[3];
      g_assert_true (graft_context_local_size (ctx, k, 3, want_sizes, local, &kerror));
      g_assert_no_error (kerror);
      g_assert_cmpuint (local[0] * local[1] * local[2], <=, max);
      g_assert_cmpuint (local[0], >=, 1);
      /* A group that fits is left alone. */
      size_t small[2] = { 2, 1 }, got[2];
      g_assert_true (graft_context_local_size (ctx, k, 2, small, got, &kerror));
      g_assert_cmpuint (got[0], ==, 2);
      g_assert_cmpuint (got[1], ==, 1);
    }
  g_unsetenv ("GRAFT_KERNELS");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernel-variants/table", test_table);
  g_test_add_func ("/kernel-variants/env", test_env);
  g_test_add_func ("/kernel-variants/context", test_context);
  return g_test_run ();
}
