/* The table of kernel sets per device class, and the GRAFT_KERNELS override. */
#include "graft-kernel-variants.h"

#include <string.h>

/* First match wins. Work-group sizes are multiples of 32 (NVIDIA's warp) and of 64 (AMD's
 * wavefront) where it matters; Intel's GPUs run 8-, 16- or 32-wide and take 128-item groups
 * well. Nothing here has been measured on a GPU yet (BENCHMARKS.md, GPUs). */
static const GraftKernelVariant table[] = {
  /* type          vendor                      set                group  c   w  h  lanes */
  { "CPU",         NULL,                       GRAFT_KERNELS_CPU, 64,    16, 1, 1, 1 },
  { "GPU",         "NVIDIA",                   GRAFT_KERNELS_GPU, 256,   32, 4, 2, 8 },
  { "GPU",         "Advanced Micro Devices",   GRAFT_KERNELS_GPU, 256,   64, 2, 2, 4 },
  { "GPU",         "AMD",                      GRAFT_KERNELS_GPU, 256,   64, 2, 2, 4 },
  { "GPU",         "Intel",                    GRAFT_KERNELS_GPU, 128,   16, 4, 2, 8 },
  { "GPU",         NULL,                       GRAFT_KERNELS_GPU, 128,   32, 2, 2, 4 },
  { "Accelerator", NULL,                       GRAFT_KERNELS_GPU, 128,   32, 2, 2, 4 },
  { NULL,          NULL,                       GRAFT_KERNELS_CPU, 64,    16, 1, 1, 1 },
};

/* The generic row of each set, for a set forced onto a device the table gives the other
 * (GRAFT_KERNELS=gpu on PoCL's CPU device in the tests). */
static const GraftKernelVariant generic_gpu = { "GPU", NULL, GRAFT_KERNELS_GPU, 128, 32, 2, 2, 4 };
static const GraftKernelVariant generic_cpu = { "CPU", NULL, GRAFT_KERNELS_CPU, 64, 16, 1, 1, 1 };

static gboolean
contains_nocase (const char *haystack, const char *needle)
{
  if (haystack == NULL)
    return FALSE;
  g_autofree char *h = g_ascii_strdown (haystack, -1);
  g_autofree char *n = g_ascii_strdown (needle, -1);
  return strstr (h, n) != NULL;
}

const GraftKernelVariant *
graft_kernel_variant_lookup (const GraftDeviceInfo *info)
{
  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      const GraftKernelVariant *v = &table[i];
      if (v->type && g_strcmp0 (v->type, info->type) != 0)
        continue;
      if (v->vendor && !contains_nocase (info->vendor, v->vendor))
        continue;
      return v;
    }
  g_assert_not_reached ();
}

const GraftKernelVariant *
graft_kernel_variant_for (const GraftDeviceInfo *info, GraftKernelSet set)
{
  const GraftKernelVariant *v = graft_kernel_variant_lookup (info);
  if (v->set == set)
    return v;
  return set == GRAFT_KERNELS_GPU ? &generic_gpu : &generic_cpu;
}

gboolean
graft_kernel_set_from_env (GraftKernelSet *set, gboolean *forced, GError **error)
{
  const char *value = g_getenv ("GRAFT_KERNELS");
  *forced = FALSE;
  if (value == NULL || *value == '\0')
    return TRUE;
  if (g_ascii_strcasecmp (value, "cpu") == 0)
    *set = GRAFT_KERNELS_CPU;
  else if (g_ascii_strcasecmp (value, "gpu") == 0)
    *set = GRAFT_KERNELS_GPU;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "GRAFT_KERNELS is “%s”: it must be “cpu” or “gpu” (or unset, to choose by "
                   "device)", value);
      return FALSE;
    }
  *forced = TRUE;
  return TRUE;
}

const char *
graft_kernel_set_name (GraftKernelSet set)
{
  return set == GRAFT_KERNELS_GPU ? "gpu" : "cpu";
}
