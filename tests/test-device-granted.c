/* Which OpenCL device a Slurm task takes from the GPUs it was granted, with faked devices and environments. */
#include <glib.h>

#include "graft-device.h"

static GraftDeviceInfo *
fake (const char *type, const char *id)
{
  GraftDeviceInfo *d = g_new0 (GraftDeviceInfo, 1);
  d->type = g_strdup (type);
  d->id = g_strdup (id);
  d->name = g_strdup (id);
  return d;
}

static GPtrArray *
devices (const char *const *types)
{
  GPtrArray *v = g_ptr_array_new_with_free_func ((GDestroyNotify) graft_device_info_free);
  for (guint i = 0; types[i]; i++)
    {
      g_autofree char *id = g_strdup_printf ("dev%u", i);
      g_ptr_array_add (v, fake (types[i], id));
    }
  return v;
}

static int
pick (GPtrArray *devs, const char *var, const char *value, const char **used)
{
  g_auto (GStrv) env = g_environ_setenv (NULL, "PATH", "/usr/bin", TRUE);
  if (var)
    env = g_environ_setenv (env, var, value, TRUE);
  return graft_device_granted_index (devs, (const char *const *) env, used);
}

static void
test_granted (void)
{
  /* A CPU platform first, then four GPUs the driver lists in full. */
  const char *types4[] = { "CPU", "GPU", "GPU", "GPU", "GPU", NULL };
  g_autoptr (GPtrArray) d4 = devices (types4);
  const char *used = NULL;
  g_assert_cmpint (pick (d4, NULL, NULL, &used), ==, -1);
  g_assert_null (used);
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "2", &used), ==, 3);
  g_assert_cmpstr (used, ==, "CUDA_VISIBLE_DEVICES");
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "3,1", NULL), ==, 4);
  g_assert_cmpint (pick (d4, "ROCR_VISIBLE_DEVICES", "1", &used), ==, 2);
  g_assert_cmpstr (used, ==, "ROCR_VISIBLE_DEVICES");
  g_assert_cmpint (pick (d4, "GPU_DEVICE_ORDINAL", "0", NULL), ==, 1);
  /* All four granted: the first GPU. */
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "0,1,2,3", NULL), ==, 1);
  /* Out of range, UUIDs, empty, Slurm's NoDevFiles: the default. */
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "7", NULL), ==, -1);
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "GPU-8f6a2c1e-0000", &used), ==, -1);
  g_assert_null (used);
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "", NULL), ==, -1);
  g_assert_cmpint (pick (d4, "CUDA_VISIBLE_DEVICES", "NoDevFiles", NULL), ==, -1);

  /* The driver already shows only the granted GPU (NVIDIA honours CUDA_VISIBLE_DEVICES): it. */
  const char *types1[] = { "CPU", "GPU", NULL };
  g_autoptr (GPtrArray) d1 = devices (types1);
  g_assert_cmpint (pick (d1, "CUDA_VISIBLE_DEVICES", "3", NULL), ==, 1);

  /* A CPU node (PoCL only): never a CPU device for a GPU variable. */
  const char *types0[] = { "CPU", NULL };
  g_autoptr (GPtrArray) d0 = devices (types0);
  g_assert_cmpint (pick (d0, "CUDA_VISIBLE_DEVICES", "0", NULL), ==, -1);

  /* The first variable set wins. */
  g_auto (GStrv) env = g_environ_setenv (NULL, "ROCR_VISIBLE_DEVICES", "3", TRUE);
  env = g_environ_setenv (env, "CUDA_VISIBLE_DEVICES", "1", TRUE);
  g_assert_cmpint (graft_device_granted_index (d4, (const char *const *) env, &used), ==, 2);
  g_assert_cmpstr (used, ==, "CUDA_VISIBLE_DEVICES");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/device/granted", test_granted);
  return g_test_run ();
}
