/* Which shape of kernels a device gets: the CPU set (row-walking, channel vectors per
 * work-item, Graft's tiled GEMM) or the GPU set (one output per work-item, work-group tiles
 * and reductions in local memory, CLBlast's GEMM), chosen by a small table keyed by device
 * type and vendor. GRAFT_KERNELS=cpu|gpu in the environment overrides the table. */
#pragma once

#include <glib.h>

#include "graft-context.h"
#include "graft-device.h"

G_BEGIN_DECLS

/* One row of the table. NULL matches anything; @vendor is a case-insensitive part of the
 * device's vendor string. The sizes are what a work-group asks for before the device's limits
 * for the built kernel (graft_context_local_size) cut them down. */
struct _GraftKernelVariant {
  const char    *type;        /* "CPU", "GPU", "Accelerator", ... */
  const char    *vendor;
  GraftKernelSet set;
  guint          group_1d;    /* element-wise kernels */
  guint          tile_c;      /* depthwise and BN groups: channels per group (dimension 0) */
  guint          tile_w;      /* depthwise: output columns per group */
  guint          tile_h;      /* depthwise: output rows per group */
  guint          lanes;       /* BN and depthwise filter gradient: reduction lanes (power of 2) */
};

/* The first row of the table that matches @info (the last row matches every device). */
const GraftKernelVariant *graft_kernel_variant_lookup (const GraftDeviceInfo *info);

/* The row used for @set on @info: the table's row when it names @set, else the default row
 * of @set (GRAFT_KERNELS=gpu on a CPU device gets the generic GPU row). */
const GraftKernelVariant *graft_kernel_variant_for (const GraftDeviceInfo *info,
                                                    GraftKernelSet set);

/* Reads GRAFT_KERNELS: TRUE with *@forced FALSE when it is unset or empty, TRUE with the set
 * when it is "cpu" or "gpu", FALSE with an error naming the variable otherwise. */
gboolean          graft_kernel_set_from_env   (GraftKernelSet *set, gboolean *forced,
                                               GError **error);
const char       *graft_kernel_set_name       (GraftKernelSet set);

/* Whether the ops on @ctx use the GPU-shaped kernels (graft_context_kernel_set). */
static inline gboolean
graft_kernels_gpu (GraftContext *ctx)
{
  return graft_context_kernel_set (ctx) == GRAFT_KERNELS_GPU;
}

G_END_DECLS
