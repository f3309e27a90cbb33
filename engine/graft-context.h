/* One OpenCL device in use: context, in-order queue, kernel programs, scratch, profiling. */
#pragma once

#include <gio/gio.h>
#include <CL/cl.h>

#include "graft-device.h"
#include "graft-error.h"

G_BEGIN_DECLS

typedef struct _GraftContext GraftContext;

/* Opens the device found by graft_device_find(@spec). */
GraftContext    *graft_context_new          (const char *spec, GError **error);
void             graft_context_free         (GraftContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftContext, graft_context_free)

const GraftDeviceInfo *graft_context_device (GraftContext *ctx);

/* Which GEMM the ops use: CLBlast, or Graft's own register-tiled kernel (cl-kernels/gemm.cl),
 * which is about twice CLBlast's speed on PoCL's CPU driver but has no use on a GPU. A new
 * context picks tiled with the CPU kernel set (graft_context_kernel_set) and CLBlast with the
 * GPU set; GRAFT_GEMM=clblast|tiled in the environment overrides that. */
typedef enum {
  GRAFT_GEMM_CLBLAST,
  GRAFT_GEMM_TILED,
} GraftGemmImpl;
GraftGemmImpl    graft_context_gemm_impl    (GraftContext *ctx);

/* Which shape of kernels the ops use (graft-kernel-variants.h): chosen by device type and
 * vendor when the context is created, or by GRAFT_KERNELS=cpu|gpu (any other value makes
 * graft_context_new fail, naming the variable). The GEMM follows it: tiled with the CPU set,
 * CLBlast with the GPU set, unless GRAFT_GEMM says otherwise. */
typedef enum {
  GRAFT_KERNELS_CPU,
  GRAFT_KERNELS_GPU,
} GraftKernelSet;
typedef struct _GraftKernelVariant GraftKernelVariant;
GraftKernelSet   graft_context_kernel_set   (GraftContext *ctx);
const GraftKernelVariant *graft_context_kernel_variant (GraftContext *ctx);

/* Local sizes for @kernel on this device: @want (dims ≤ 3) cut down, last dimension first and
 * by halves, until the group fits the kernel's CL_KERNEL_WORK_GROUP_SIZE; a 1-D size is also
 * kept a multiple of CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE where it can be. */
gboolean         graft_context_local_size   (GraftContext *ctx, cl_kernel kernel, guint dims,
                                             const size_t *want, size_t *local, GError **error);
void             graft_context_set_gemm_impl(GraftContext *ctx, GraftGemmImpl impl);
cl_context       graft_context_cl_context   (GraftContext *ctx);
cl_command_queue graft_context_queue        (GraftContext *ctx);

/* Returns a kernel of the program built from cl-kernels/@program.cl (with
 * cl-kernels/common.cl prepended). Programs are built once per context and
 * their binaries cached on disk; the kernel is owned by the context. Build
 * failures carry the device's build log. */
cl_kernel        graft_context_kernel       (GraftContext *ctx, const char *program,
                                             const char *kernel, GError **error);

/* Called before each program graft_context_build_programs() builds: @number counts from 1 to
 * @total; @cached says the binary comes from the disk cache rather than the compiler. */
typedef void (*GraftProgramProgressFunc) (const char *program, gboolean cached, guint number,
                                          guint total, gpointer user_data);

/* Builds @programs (names as for graft_context_kernel(); NULL: every program the ops use on
 * this context) now rather than at their first launch, in order, checking @cancellable before
 * each one: a driver's compile cannot be interrupted, so a cancel waits for one program at
 * most. Programs already built are skipped. With @programs NULL a program that fails to build
 * is left for graft_context_kernel() to build (and report) when an op first asks for it. */
gboolean         graft_context_build_programs (GraftContext *ctx, const char *const *programs,
                                               GraftProgramProgressFunc progress,
                                               gpointer user_data, GCancellable *cancellable,
                                               GError **error);

/* Builds @source (already complete) as a program; used by tests and tools. */
cl_program       graft_context_build_source (GraftContext *ctx, const char *name,
                                             const char *source, GError **error);

/* A device buffer of at least @bytes shared by ops as temporary space; slots
 * 0..GRAFT_SCRATCH_SLOTS-1 are independent. Valid until the next call with the
 * same slot and a larger size. */
#define GRAFT_SCRATCH_SLOTS 5
cl_mem           graft_context_scratch      (GraftContext *ctx, guint slot, gsize bytes,
                                             GError **error);

cl_mem           graft_context_alloc        (GraftContext *ctx, gsize bytes, GError **error);

/* Bytes currently held by the scratch slots (for memory reports). */
gsize            graft_context_scratch_bytes(GraftContext *ctx);

/* Sets kernel arguments from (size, pointer) pairs ended by 0:
 *   graft_kernel_args (k, error, GA (buf), GA (n), 0) */
#define GA(x) sizeof (x), (const void *) &(x)
gboolean         graft_kernel_args          (cl_kernel kernel, GError **error, ...);

/* Enqueues @kernel over @global[0..dims-1] items. When @local is NULL the
 * driver chooses; otherwise each global size is rounded up to a multiple of
 * @local, so kernels must bounds-check. @op names the op in profiles. */
gboolean         graft_launch               (GraftContext *ctx, const char *op, cl_kernel kernel,
                                             guint dims, const size_t *global,
                                             const size_t *local, GError **error);

gboolean         graft_context_finish       (GraftContext *ctx, GError **error);

/* Launches fail with G_IO_ERROR_CANCELLED once @cancellable (may be NULL) is cancelled, so that
 * a cancel stops a long sequence of launches (a training step) between two of them; what was
 * enqueued before still runs. */
void             graft_context_set_cancellable (GraftContext *ctx, GCancellable *cancellable);

/* Profiling: when on, every launch and GEMM records an event under its op
 * name; graft_context_profile_collect() waits and sums nanoseconds per op. */
void             graft_context_set_profiling(GraftContext *ctx, gboolean on);
void             graft_context_record_event (GraftContext *ctx, const char *op, cl_event ev);
gboolean         graft_context_get_profiling(GraftContext *ctx);
/* Records @op as lasting from the end of @before (a marker enqueued just
 * before it) to the end of @after: for library calls such as CLBlast's that
 * enqueue several kernels but return only the last one's event. */
void             graft_context_record_span  (GraftContext *ctx, const char *op, cl_event before,
                                             cl_event after);
/* Returns op name -> guint64* total nanoseconds (and clears the records). */
GHashTable      *graft_context_profile_collect (GraftContext *ctx);

/* Directory that holds cached program binaries; graft_kernel_cache_clear() empties it. */
char            *graft_kernel_cache_dir     (void);
gboolean         graft_kernel_cache_clear   (GError **error);

G_END_DECLS
