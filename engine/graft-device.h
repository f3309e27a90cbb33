/* OpenCL platform and device discovery, with ids that survive re-enumeration. */
#pragma once

#include <glib.h>
#include <CL/cl.h>

G_BEGIN_DECLS

typedef struct {
  cl_platform_id platform;
  cl_device_id   device;
  guint          index;            /* position in graft_device_list_all() */
  char          *id;               /* stable: "<platform name>/<device name>[#k]" */
  char          *name;
  char          *vendor;
  char          *platform_name;
  char          *type;             /* "GPU", "CPU", "Accelerator", ... */
  char          *driver_version;
  char          *opencl_version;   /* e.g. "OpenCL 3.0 PoCL ..." */
  guint          compute_units;
  guint64        global_mem;
  guint64        max_alloc;
  guint64        local_mem;
  size_t         max_work_group;
  gboolean       fp64;
  gboolean       fp16;
  guint          float_width;      /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (at least 1) */
} GraftDeviceInfo;

void             graft_device_info_free (GraftDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftDeviceInfo, graft_device_info_free)

/* Every device of every platform, in platform then device order. Returns a
 * GPtrArray of GraftDeviceInfo (empty when no driver is installed). */
GPtrArray       *graft_device_list_all  (GError **error);

/* Finds a device by "N" (index), by its exact id, or by a case-insensitive
 * substring of its name; NULL/"" picks the default (first GPU, else first). */
GraftDeviceInfo *graft_device_find      (const char *spec, GError **error);

/* The device a batch scheduler granted: the first of CUDA_VISIBLE_DEVICES,
 * ROCR_VISIBLE_DEVICES and GPU_DEVICE_ORDINAL set in @envp (g_get_environ() form)
 * names GPUs; among @devices' GPU-type devices, the first of them (when the
 * driver lists exactly the granted GPUs, as NVIDIA's and ROCm's honour those
 * variables) or the one at its first ordinal. Returns the index in @devices, or
 * -1 when nothing granted is listed (no variable, UUIDs, no GPU: use the
 * default). @var gets the variable used (may be NULL). */
int              graft_device_granted_index (GPtrArray *devices, const char *const *envp,
                                             const char **var);
/* graft_device_granted_index() over this machine's devices and environment: the
 * granted device's id, or NULL for the default. */
char            *graft_device_granted_spec  (void);

char            *graft_device_list_to_json (GPtrArray *devices);
char            *graft_format_bytes     (guint64 bytes);

G_END_DECLS
