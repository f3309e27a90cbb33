/* graft-cli devices, cache and smoke: the device layer from the command line. */
#include "graft-cli.h"

#include <math.h>
#include <stdio.h>

#include "graft-context.h"
#include "graft-gemm.h"
#include "graft-tensor.h"

int
graft_cli_devices (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  graft_cli_parse ("devices", NULL, "List every OpenCL device of every platform.", entries,
                   &argc, &argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) devs = graft_device_list_all (&error);
  if (devs == NULL)
    return graft_cli_fail (error);
  if (json)
    {
      g_autofree char *s = graft_device_list_to_json (devs);
      printf ("%s\n", s);
      return 0;
    }
  if (devs->len == 0)
    {
      printf ("No OpenCL device found. Install a driver for your GPU, or pocl-opencl-icd to "
              "train on the CPU.\n");
      return 1;
    }
  printf ("%-3s %-5s %-44s %5s %10s %10s  %s\n", "#", "type", "id", "CUs", "memory",
          "max alloc", "OpenCL");
  for (guint i = 0; i < devs->len; i++)
    {
      GraftDeviceInfo *d = devs->pdata[i];
      g_autofree char *gm = graft_format_bytes (d->global_mem);
      g_autofree char *ma = graft_format_bytes (d->max_alloc);
      printf ("%-3u %-5s %-44s %5u %10s %10s  %s%s%s\n", d->index, d->type, d->id,
              d->compute_units, gm, ma, d->opencl_version, d->fp64 ? ", fp64" : "",
              d->fp16 ? ", fp16" : "");
      printf ("    vendor: %s; driver %s\n", d->vendor, d->driver_version);
    }
  return 0;
}

int
graft_cli_cache (int argc, char **argv)
{
  gboolean clear = FALSE;
  GOptionEntry entries[] = {
    { "clear", 0, 0, G_OPTION_ARG_NONE, &clear, "Remove cached kernel binaries", NULL },
    { NULL }
  };
  graft_cli_parse ("cache", NULL, "Show or clear the cache of built kernel programs.", entries,
                   &argc, &argv);
  g_autofree char *dir = graft_kernel_cache_dir ();
  if (clear)
    {
      g_autoptr (GError) error = NULL;
      if (!graft_kernel_cache_clear (&error))
        return graft_cli_fail (error);
      printf ("Cleared %s\n", dir);
      return 0;
    }
  printf ("%s\n", dir);
  return 0;
}

#define SMOKE_MAX_SIZE 2048

int
graft_cli_smoke (int argc, char **argv)
{
  g_autofree char *device = NULL;
  int size = 256;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device index, id or name part", "ID" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "Matrix size, 1 to 2048 (default 256)", "N" },
    { NULL }
  };
  graft_cli_parse ("smoke", NULL, "Run one SGEMM on the device and compare with the CPU.",
                   entries, &argc, &argv);
  /* The CPU reference is a plain n³ loop: 2048 takes about half a minute, 4096 minutes. */
  if (size < 1 || size > SMOKE_MAX_SIZE)
    {
      g_printerr ("graft-cli smoke: --size %d is out of range (1 to %d)\n", size, SMOKE_MAX_SIZE);
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftContext) ctx = graft_context_new (device, &error);
  if (ctx == NULL)
    return graft_cli_fail (error);
  int n = size;
  g_autofree float *a = g_new (float, (gsize) n * n);
  g_autofree float *b = g_new (float, (gsize) n * n);
  g_autofree float *c = g_new0 (float, (gsize) n * n);
  g_autofree float *r = g_new0 (float, (gsize) n * n);
  GRand *rand = g_rand_new_with_seed (1);
  for (gsize i = 0; i < (gsize) n * n; i++)
    {
      a[i] = g_rand_double_range (rand, -1, 1);
      b[i] = g_rand_double_range (rand, -1, 1);
    }
  g_rand_free (rand);
  g_autoptr (GraftTensor) ta = graft_tensor_new (ctx, 1, 1, n, n, &error);
  g_autoptr (GraftTensor) tb = ta ? graft_tensor_new (ctx, 1, 1, n, n, &error) : NULL;
  g_autoptr (GraftTensor) tc = tb ? graft_tensor_new (ctx, 1, 1, n, n, &error) : NULL;
  gint64 t0 = g_get_monotonic_time ();
  if (tc == NULL || !graft_tensor_write (ctx, ta, a, &error) ||
      !graft_tensor_write (ctx, tb, b, &error) ||
      !graft_gemm (ctx, "smoke", FALSE, FALSE, n, n, n, 1.0f, ta->mem, 0, n, tb->mem, 0, n, 0.0f,
                   tc->mem, 0, n, &error) ||
      !graft_tensor_read (ctx, tc, c, &error))
    return graft_cli_fail (error);
  gint64 t1 = g_get_monotonic_time ();
  graft_gemm_ref (FALSE, FALSE, n, n, n, 1.0f, a, n, b, n, 0.0f, r, n);
  double maxerr = 0;
  for (gsize i = 0; i < (gsize) n * n; i++)
    maxerr = MAX (maxerr, fabs ((double) c[i] - r[i]));
  printf ("SGEMM %d×%d×%d on %s: max |error| %.2e vs CPU (%.1f ms including first-use build)\n",
          n, n, n, graft_context_device (ctx)->name, maxerr, (t1 - t0) / 1000.0);
  return maxerr < 1e-3 * n ? 0 : 1;
}
