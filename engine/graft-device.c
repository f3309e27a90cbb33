/* OpenCL platform and device discovery. */
#include "graft-device.h"
#include "graft-json.h"
#include "graft-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

void
graft_device_info_free (GraftDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->id);
  g_free (info->name);
  g_free (info->vendor);
  g_free (info->platform_name);
  g_free (info->type);
  g_free (info->driver_version);
  g_free (info->opencl_version);
  g_free (info);
}

static char *
platform_string (cl_platform_id p, cl_platform_info what)
{
  size_t n = 0;
  if (clGetPlatformInfo (p, what, 0, NULL, &n) != CL_SUCCESS || n == 0)
    return g_strdup ("");
  char *s = g_malloc0 (n + 1);
  clGetPlatformInfo (p, what, n, s, NULL);
  return g_strstrip (s);
}

static char *
device_string (cl_device_id d, cl_device_info what)
{
  size_t n = 0;
  if (clGetDeviceInfo (d, what, 0, NULL, &n) != CL_SUCCESS || n == 0)
    return g_strdup ("");
  char *s = g_malloc0 (n + 1);
  clGetDeviceInfo (d, what, n, s, NULL);
  return g_strstrip (s);
}

static const char *
type_name (cl_device_type t)
{
  if (t & CL_DEVICE_TYPE_GPU)
    return "GPU";
  if (t & CL_DEVICE_TYPE_CPU)
    return "CPU";
  if (t & CL_DEVICE_TYPE_ACCELERATOR)
    return "Accelerator";
  return "Other";
}

GPtrArray *
graft_device_list_all (GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) graft_device_info_free);
  cl_uint np = 0;
  cl_int st = clGetPlatformIDs (0, NULL, &np);
  if (st == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || np == 0)
    return out;
  if (!graft_cl_check (st, "clGetPlatformIDs", error))
    {
      g_ptr_array_unref (out);
      return NULL;
    }
  g_autofree cl_platform_id *plats = g_new0 (cl_platform_id, np);
  clGetPlatformIDs (np, plats, NULL);
  for (cl_uint p = 0; p < np; p++)
    {
      cl_uint nd = 0;
      if (clGetDeviceIDs (plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
        continue;
      g_autofree cl_device_id *devs = g_new0 (cl_device_id, nd);
      clGetDeviceIDs (plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
      g_autofree char *pname = platform_string (plats[p], CL_PLATFORM_NAME);
      for (cl_uint d = 0; d < nd; d++)
        {
          GraftDeviceInfo *info = g_new0 (GraftDeviceInfo, 1);
          cl_device_type t = 0;
          cl_uint cu = 0, fw = 0;
          cl_ulong gm = 0, ma = 0, lm = 0;
          size_t wg = 0;
          info->platform = plats[p];
          info->device = devs[d];
          info->index = out->len;
          info->platform_name = g_strdup (pname);
          info->name = device_string (devs[d], CL_DEVICE_NAME);
          info->vendor = device_string (devs[d], CL_DEVICE_VENDOR);
          info->driver_version = device_string (devs[d], CL_DRIVER_VERSION);
          info->opencl_version = device_string (devs[d], CL_DEVICE_VERSION);
          clGetDeviceInfo (devs[d], CL_DEVICE_TYPE, sizeof t, &t, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gm, &gm, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ma, &ma, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_LOCAL_MEM_SIZE, sizeof lm, &lm, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
          clGetDeviceInfo (devs[d], CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof fw, &fw, NULL);
          g_autofree char *ext = device_string (devs[d], CL_DEVICE_EXTENSIONS);
          info->type = g_strdup (type_name (t));
          info->compute_units = cu;
          info->global_mem = gm;
          info->max_alloc = ma;
          info->local_mem = lm;
          info->max_work_group = wg;
          info->float_width = MAX (fw, 1);
          info->fp64 = strstr (ext, "cl_khr_fp64") != NULL;
          info->fp16 = strstr (ext, "cl_khr_fp16") != NULL;

          /* Two identical cards get "#2", "#3" so each id stays unique and stable. */
          g_autofree char *base = g_strdup_printf ("%s/%s", pname, info->name);
          guint same = 0;
          for (guint i = 0; i < out->len; i++)
            {
              GraftDeviceInfo *o = out->pdata[i];
              if (g_str_has_prefix (o->id, base) &&
                  (o->id[strlen (base)] == '\0' || o->id[strlen (base)] == '#'))
                same++;
            }
          info->id = same ? g_strdup_printf ("%s#%u", base, same + 1) : g_steal_pointer (&base);
          g_ptr_array_add (out, info);
        }
    }
  return out;
}

static GraftDeviceInfo *
steal_at (GPtrArray *devs, guint i)
{
  GraftDeviceInfo *info = g_ptr_array_steal_index (devs, i);
  return info;
}

GraftDeviceInfo *
graft_device_find (const char *spec, GError **error)
{
  g_autoptr (GPtrArray) devs = graft_device_list_all (error);
  if (devs == NULL)
    return NULL;
  if (devs->len == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE,
                   "No OpenCL device found: install a driver for your GPU, or "
                   "pocl-opencl-icd for the CPU");
      return NULL;
    }
  if (spec == NULL || *spec == '\0' || g_str_equal (spec, "default"))
    {
      for (guint i = 0; i < devs->len; i++)
        if (g_str_equal (((GraftDeviceInfo *) devs->pdata[i])->type, "GPU"))
          return steal_at (devs, i);
      return steal_at (devs, 0);
    }
  guint64 idx;
  if (g_ascii_string_to_unsigned (spec, 10, 0, G_MAXUINT, &idx, NULL))
    {
      if (idx < devs->len)
        return steal_at (devs, idx);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE,
                   "Device %s does not exist: there are %u devices (0–%u); the device list shows them",
                   spec, devs->len, devs->len - 1);
      return NULL;
    }
  for (guint i = 0; i < devs->len; i++)
    if (g_str_equal (((GraftDeviceInfo *) devs->pdata[i])->id, spec))
      return steal_at (devs, i);
  g_autofree char *needle = g_utf8_casefold (spec, -1);
  for (guint i = 0; i < devs->len; i++)
    {
      g_autofree char *hay = g_utf8_casefold (((GraftDeviceInfo *) devs->pdata[i])->id, -1);
      if (strstr (hay, needle))
        return steal_at (devs, i);
    }
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_NO_DEVICE,
               "No OpenCL device matches “%s”; the device list shows them", spec);
  return NULL;
}

int
graft_device_granted_index (GPtrArray *devices, const char *const *envp, const char **var)
{
  static const char *const vars[] = { "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                                      "GPU_DEVICE_ORDINAL" };
  if (var)
    *var = NULL;
  const char *value = NULL, *name = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (vars) && value == NULL; i++)
    {
      const char *v = g_environ_getenv ((char **) envp, vars[i]);
      /* Slurm writes NoDevFiles when the job has no GPU of that kind. */
      if (v && *v && !g_str_equal (v, "NoDevFiles"))
        value = v, name = vars[i];
    }
  if (value == NULL)
    return -1;
  g_auto (GStrv) granted = g_strsplit (value, ",", -1);
  guint ngranted = g_strv_length (granted);
  g_autoptr (GArray) gpus = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; devices && i < devices->len; i++)
    if (g_strcmp0 (((GraftDeviceInfo *) devices->pdata[i])->type, "GPU") == 0)
      {
        int k = (int) i;
        g_array_append_val (gpus, k);
      }
  if (gpus->len == 0)
    return -1;
  int pick = -1;
  guint64 ord;
  if (gpus->len == ngranted)   /* the driver shows only what was granted */
    pick = g_array_index (gpus, int, 0);
  else if (g_ascii_string_to_unsigned (g_strstrip (granted[0]), 10, 0, G_MAXUINT, &ord, NULL) &&
           ord < gpus->len)
    pick = g_array_index (gpus, int, ord);
  if (pick >= 0 && var)
    *var = name;
  return pick;
}

char *
graft_device_granted_spec (void)
{
  /* Enumerating platforms costs a driver start-up: only when a scheduler granted GPUs. */
  if (!g_getenv ("CUDA_VISIBLE_DEVICES") && !g_getenv ("ROCR_VISIBLE_DEVICES") &&
      !g_getenv ("GPU_DEVICE_ORDINAL"))
    return NULL;
  g_autoptr (GPtrArray) devs = graft_device_list_all (NULL);
  if (devs == NULL)
    return NULL;
  g_auto (GStrv) env = g_get_environ ();
  int i = graft_device_granted_index (devs, (const char *const *) env, NULL);
  return i >= 0 ? g_strdup (((GraftDeviceInfo *) devs->pdata[i])->id) : NULL;
}

char *
graft_format_bytes (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

char *
graft_device_list_to_json (GPtrArray *devices)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; i < devices->len; i++)
    {
      GraftDeviceInfo *d = devices->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, d->index);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, d->id);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, d->name);
      json_builder_set_member_name (b, "vendor");
      json_builder_add_string_value (b, d->vendor);
      json_builder_set_member_name (b, "platform");
      json_builder_add_string_value (b, d->platform_name);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, d->type);
      json_builder_set_member_name (b, "driver_version");
      json_builder_add_string_value (b, d->driver_version);
      json_builder_set_member_name (b, "opencl_version");
      json_builder_add_string_value (b, d->opencl_version);
      json_builder_set_member_name (b, "compute_units");
      json_builder_add_int_value (b, d->compute_units);
      json_builder_set_member_name (b, "global_mem_bytes");
      json_builder_add_int_value (b, (gint64) d->global_mem);
      json_builder_set_member_name (b, "max_alloc_bytes");
      json_builder_add_int_value (b, (gint64) d->max_alloc);
      json_builder_set_member_name (b, "fp64");
      json_builder_add_boolean_value (b, d->fp64);
      json_builder_set_member_name (b, "fp16");
      json_builder_add_boolean_value (b, d->fp16);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return graft_json_builder_to_text (b, TRUE, NULL);
}
