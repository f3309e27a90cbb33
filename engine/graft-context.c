/* One OpenCL device in use: context, queue, cached kernel programs, scratch and profiling. */
#include "graft-context.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graft-kernel-variants.h"
#include "graft-kernels.h"
#include "graft-tune.h"

#include <clblast_c.h>

struct _GraftContext {
  GraftDeviceInfo *info;
  cl_context       context;
  cl_command_queue queue;
  GHashTable      *programs;   /* name -> cl_program */
  GHashTable      *kernels;    /* "program:kernel" -> cl_kernel */
  cl_mem           scratch[GRAFT_SCRATCH_SLOTS];
  gsize            scratch_size[GRAFT_SCRATCH_SLOTS];
  gboolean         profiling;
  GArray          *events;     /* ProfiledEvent */
  GraftGemmImpl    gemm_impl;
  GraftKernelSet   kernel_set;
  const GraftKernelVariant *variant;
  GCancellable    *cancellable;   /* checked before each launch, or NULL */
};

typedef struct {
  const char *op;   /* interned */
  cl_event    before;  /* when set, the span runs from its end, not from ev's start */
  cl_event    ev;
} ProfiledEvent;

static void
release_program (gpointer p)
{
  clReleaseProgram (p);
}

static void
release_kernel (gpointer k)
{
  clReleaseKernel (k);
}

GraftContext *
graft_context_new (const char *spec, GError **error)
{
  g_autoptr (GraftDeviceInfo) info = graft_device_find (spec, error);
  if (info == NULL)
    return NULL;
  cl_int st;
  cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties) info->platform, 0 };
  cl_context context = clCreateContext (props, 1, &info->device, NULL, NULL, &st);
  if (!graft_cl_check (st, "clCreateContext", error))
    return NULL;
  cl_command_queue queue = clCreateCommandQueue (context, info->device,
                                                 CL_QUEUE_PROFILING_ENABLE, &st);
  if (!graft_cl_check (st, "clCreateCommandQueue", error))
    {
      clReleaseContext (context);
      return NULL;
    }
  GraftKernelSet set = graft_kernel_variant_lookup (info)->set;
  gboolean forced_set = FALSE;
  if (!graft_kernel_set_from_env (&set, &forced_set, error))
    {
      clReleaseCommandQueue (queue);
      clReleaseContext (context);
      return NULL;
    }
  GraftContext *ctx = g_new0 (GraftContext, 1);
  ctx->kernel_set = set;
  ctx->variant = graft_kernel_variant_for (info, set);
  ctx->info = g_steal_pointer (&info);
  /* Tests only: GRAFT_FLOAT_WIDTH=8|16 compiles the kernels for that float vector width, so
   * that an AVX2 device also runs (slowly) the 6×32 GEMM tile of AVX-512 ones. */
  const char *fw = g_getenv ("GRAFT_FLOAT_WIDTH");
  if (fw != NULL && *fw != '\0')
    {
      if (g_str_equal (fw, "8") || g_str_equal (fw, "16"))
        ctx->info->float_width = (guint) atoi (fw);
      else
        g_warning ("GRAFT_FLOAT_WIDTH=%s is neither 8 nor 16; using the device's %u", fw,
                   ctx->info->float_width);
    }
  ctx->context = context;
  ctx->queue = queue;
  ctx->programs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_program);
  ctx->kernels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_kernel);
  ctx->events = g_array_new (FALSE, FALSE, sizeof (ProfiledEvent));
  ctx->gemm_impl = set == GRAFT_KERNELS_CPU ? GRAFT_GEMM_TILED : GRAFT_GEMM_CLBLAST;
  const char *forced = g_getenv ("GRAFT_GEMM");
  if (g_strcmp0 (forced, "clblast") == 0)
    ctx->gemm_impl = GRAFT_GEMM_CLBLAST;
  else if (g_strcmp0 (forced, "tiled") == 0)
    ctx->gemm_impl = GRAFT_GEMM_TILED;
  else if (forced != NULL && *forced != '\0')
    g_warning ("GRAFT_GEMM=%s is neither \"clblast\" nor \"tiled\"; using %s", forced,
               ctx->gemm_impl == GRAFT_GEMM_TILED ? "tiled" : "clblast");
  graft_tune_apply_or_warn (ctx);
  return ctx;
}

GraftGemmImpl
graft_context_gemm_impl (GraftContext *ctx)
{
  return ctx->gemm_impl;
}

void
graft_context_set_gemm_impl (GraftContext *ctx, GraftGemmImpl impl)
{
  ctx->gemm_impl = impl;
}

GraftKernelSet
graft_context_kernel_set (GraftContext *ctx)
{
  return ctx->kernel_set;
}

const GraftKernelVariant *
graft_context_kernel_variant (GraftContext *ctx)
{
  return ctx->variant;
}

gboolean
graft_context_local_size (GraftContext *ctx, cl_kernel kernel, guint dims, const size_t *want,
                          size_t *local, GError **error)
{
  size_t max = 0, multiple = 1;
  cl_int st = clGetKernelWorkGroupInfo (kernel, ctx->info->device, CL_KERNEL_WORK_GROUP_SIZE,
                                        sizeof max, &max, NULL);
  if (!graft_cl_check (st, "clGetKernelWorkGroupInfo", error))
    return FALSE;
  if (clGetKernelWorkGroupInfo (kernel, ctx->info->device,
                                CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof multiple,
                                &multiple, NULL) != CL_SUCCESS || multiple == 0)
    multiple = 1;
  max = MAX (max, 1);
  size_t total = 1;
  for (guint i = 0; i < dims; i++)
    {
      local[i] = MAX (want[i], 1);
      total *= local[i];
    }
  while (total > max)
    {
      guint i = dims;
      while (i > 0 && local[i - 1] == 1)
        i--;
      if (i == 0)
        break;
      total /= local[i - 1];
      local[i - 1] = (local[i - 1] + 1) / 2;
      total *= local[i - 1];
    }
  if (dims == 1 && local[0] > multiple)
    local[0] -= local[0] % multiple;
  return TRUE;
}

void
graft_context_free (GraftContext *ctx)
{
  if (ctx == NULL)
    return;
  clFinish (ctx->queue);
  /* CLBlast caches programs per context; drop them before the context goes. */
  CLBlastClearCache ();
  g_hash_table_unref (ctx->kernels);
  g_hash_table_unref (ctx->programs);
  for (guint i = 0; i < ctx->events->len; i++)
    clReleaseEvent (g_array_index (ctx->events, ProfiledEvent, i).ev);
  g_array_unref (ctx->events);
  for (guint i = 0; i < GRAFT_SCRATCH_SLOTS; i++)
    if (ctx->scratch[i])
      clReleaseMemObject (ctx->scratch[i]);
  clReleaseCommandQueue (ctx->queue);
  clReleaseContext (ctx->context);
  g_clear_object (&ctx->cancellable);
  graft_device_info_free (ctx->info);
  g_free (ctx);
}

const GraftDeviceInfo *
graft_context_device (GraftContext *ctx)
{
  return ctx->info;
}

cl_context
graft_context_cl_context (GraftContext *ctx)
{
  return ctx->context;
}

cl_command_queue
graft_context_queue (GraftContext *ctx)
{
  return ctx->queue;
}

char *
graft_kernel_cache_dir (void)
{
  const char *over = g_getenv ("GRAFT_KERNEL_CACHE");
  if (over && *over)
    return g_strdup (over);
  return g_build_filename (g_get_user_cache_dir (), "graft", "kernels", NULL);
}

gboolean
graft_kernel_cache_clear (GError **error)
{
  g_autofree char *dir = graft_kernel_cache_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return TRUE;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      if (!g_str_has_suffix (name, ".bin"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_unlink (path) != 0)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot remove %s: %s", path,
                       g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

static const char *build_options = "-cl-std=CL1.2";

static char *
cache_path (GraftContext *ctx, const char *source)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *parts[] = { ctx->info->platform_name, ctx->info->name, ctx->info->driver_version,
                          ctx->info->opencl_version, build_options, source };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_checksum_update (sum, (const guchar *) parts[i], strlen (parts[i]));
      g_checksum_update (sum, (const guchar *) "\n", 1);
    }
  g_autofree char *dir = graft_kernel_cache_dir ();
  g_autofree char *file = g_strdup_printf ("%s.bin", g_checksum_get_string (sum));
  return g_build_filename (dir, file, NULL);
}

/* A cache file is KernelCacheHeader then the driver's binary (the payload).
 * PoCL trusts a binary it is handed and crashes on a truncated one, so the
 * length and SHA-256 of the payload are checked before the driver sees it;
 * any mismatch means a rebuild from source and a rewritten file. Host byte
 * order: the cache belongs to one machine. */
#define KERNEL_CACHE_MAGIC   "GRAFTKBN"
#define KERNEL_CACHE_VERSION 1U

typedef struct {
  char    magic[8];
  guint32 version;
  guint32 header_size;
  guint64 payload_size;
  guint8  sha256[32];
} KernelCacheHeader;

G_STATIC_ASSERT (sizeof (KernelCacheHeader) == 56);

static void
payload_sha256 (const guint8 *data, gsize len, guint8 out[32])
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, data, len);
  gsize n = 32;
  g_checksum_get_digest (sum, out, &n);
}

/* The payload of the cache file's bytes, or NULL when they are not a whole,
 * intact cache file of this version. */
static const guint8 *
cache_payload (const char *data, gsize len, gsize *payload_len)
{
  KernelCacheHeader h;
  if (len < sizeof h)
    return NULL;
  memcpy (&h, data, sizeof h);
  if (memcmp (h.magic, KERNEL_CACHE_MAGIC, 8) != 0 || h.version != KERNEL_CACHE_VERSION ||
      h.header_size != sizeof h || h.payload_size == 0 || h.payload_size != len - sizeof h)
    return NULL;
  const guint8 *payload = (const guint8 *) data + sizeof h;
  guint8 want[32];
  payload_sha256 (payload, (gsize) h.payload_size, want);
  if (memcmp (want, h.sha256, 32) != 0)
    return NULL;
  *payload_len = (gsize) h.payload_size;
  return payload;
}

static cl_program
load_cached (GraftContext *ctx, const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  gsize bin_len = 0;
  const unsigned char *bin = cache_payload (data, len, &bin_len);
  if (bin == NULL)
    return NULL;
  cl_int st, bst;
  cl_program prog = clCreateProgramWithBinary (ctx->context, 1, &ctx->info->device, &bin_len, &bin,
                                               &bst, &st);
  if (st != CL_SUCCESS || bst != CL_SUCCESS)
    {
      if (prog)
        clReleaseProgram (prog);
      return NULL;
    }
  if (clBuildProgram (prog, 1, &ctx->info->device, build_options, NULL, NULL) != CL_SUCCESS)
    {
      clReleaseProgram (prog);
      return NULL;
    }
  return prog;
}

static void
store_cached (GraftContext *ctx, cl_program prog, const char *path)
{
  size_t len = 0;
  if (clGetProgramInfo (prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS ||
      len == 0)
    return;
  KernelCacheHeader h = { { 0 } };
  g_autofree unsigned char *file = g_malloc (sizeof h + len);
  unsigned char *bins[] = { file + sizeof h };
  if (clGetProgramInfo (prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS)
    return;
  memcpy (h.magic, KERNEL_CACHE_MAGIC, 8);
  h.version = KERNEL_CACHE_VERSION;
  h.header_size = sizeof h;
  h.payload_size = len;
  payload_sha256 (bins[0], len, h.sha256);
  memcpy (file, &h, sizeof h);
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return;
  /* Temp file + fsync + rename: a reader sees the old file or the whole new
   * one. A failed cache write only costs a rebuild next time. */
  g_file_set_contents_full (path, (const char *) file, (gssize) (sizeof h + len),
                            G_FILE_SET_CONTENTS_CONSISTENT, 0644, NULL);
}

/* Builds @source with the driver's compiler and caches the binary at @path. */
static cl_program
compile_source (GraftContext *ctx, const char *name, const char *source, const char *path,
                GError **error)
{
  cl_int st;
  cl_program prog = clCreateProgramWithSource (ctx->context, 1, &source, NULL, &st);
  if (!graft_cl_check (st, "clCreateProgramWithSource", error))
    return NULL;
  st = clBuildProgram (prog, 1, &ctx->info->device, build_options, NULL, NULL);
  if (st != CL_SUCCESS)
    {
      size_t n = 0;
      clGetProgramBuildInfo (prog, ctx->info->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
      g_autofree char *log = g_malloc0 (n + 1);
      clGetProgramBuildInfo (prog, ctx->info->device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD,
                   "Kernel program %s.cl failed to build on %s: %s (%d)\n%s", name,
                   ctx->info->name, graft_cl_status_name (st), st, g_strstrip (log));
      clReleaseProgram (prog);
      return NULL;
    }
  store_cached (ctx, prog, path);
  return prog;
}

cl_program
graft_context_build_source (GraftContext *ctx, const char *name, const char *source,
                            GError **error)
{
  g_autofree char *path = cache_path (ctx, source);
  cl_program prog = load_cached (ctx, path);
  if (prog)
    return prog;
  return compile_source (ctx, name, source, path, error);
}

/* common.cl then the program, after the device's native float vector width as
 * GRAFT_FLOAT_WIDTH (gemm.cl sizes its register tile by it). */
static char *
kernel_source (GraftContext *ctx, const char *program, GError **error)
{
  GResource *res = graft_kernels_get_resource ();  /* not a new reference */
  g_autofree char *path = g_strdup_printf ("/org/graft/kernels/%s.cl", program);
  g_autoptr (GBytes) common = g_resource_lookup_data (res, "/org/graft/kernels/common.cl", 0, NULL);
  g_autoptr (GBytes) body = g_resource_lookup_data (res, path, 0, NULL);
  if (body == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD,
                   "No kernel program %s.cl is built into this Graft", program);
      return NULL;
    }
  gsize nc = 0, nb = 0;
  const char *c = common ? g_bytes_get_data (common, &nc) : "";
  const char *b = g_bytes_get_data (body, &nb);
  return g_strdup_printf ("#define GRAFT_FLOAT_WIDTH %u\n#line 1\n%.*s\n#line 1\n%.*s",
                          ctx->info->float_width, (int) nc, c, (int) nb, b);
}

cl_kernel
graft_context_kernel (GraftContext *ctx, const char *program, const char *kernel, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s:%s", program, kernel);
  cl_kernel k = g_hash_table_lookup (ctx->kernels, key);
  if (k)
    return k;
  cl_program prog = g_hash_table_lookup (ctx->programs, program);
  if (prog == NULL)
    {
      g_autofree char *src = kernel_source (ctx, program, error);
      if (src == NULL)
        return NULL;
      prog = graft_context_build_source (ctx, program, src, error);
      if (prog == NULL)
        return NULL;
      g_hash_table_insert (ctx->programs, g_strdup (program), prog);
    }
  cl_int st;
  k = clCreateKernel (prog, kernel, &st);
  if (st != CL_SUCCESS)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_BUILD, "Kernel %s not found in %s.cl: %s",
                   kernel, program, graft_cl_status_name (st));
      return NULL;
    }
  g_hash_table_insert (ctx->kernels, g_steal_pointer (&key), k);
  return k;
}

static int
name_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The programs the ops use: every one built in but util.cl (for tests and tools), Graft's GEMM
 * only where the context uses it and the GPU-shaped ones (gpu-*.cl) only with the GPU kernel
 * set. Sorted, so progress counts are the same each time. */
static GPtrArray *
op_programs (GraftContext *ctx)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) names = g_resource_enumerate_children (graft_kernels_get_resource (),
                                                        "/org/graft/kernels", 0, NULL);
  for (guint i = 0; names && names[i]; i++)
    {
      if (!g_str_has_suffix (names[i], ".cl"))
        continue;
      g_autofree char *base = g_strndup (names[i], strlen (names[i]) - 3);
      if (g_str_equal (base, "common") || g_str_equal (base, "util") ||
          (g_str_equal (base, "gemm") && ctx->gemm_impl != GRAFT_GEMM_TILED) ||
          (g_str_has_prefix (base, "gpu-") && ctx->kernel_set != GRAFT_KERNELS_GPU))
        continue;
      g_ptr_array_add (out, g_steal_pointer (&base));
    }
  g_ptr_array_sort (out, name_cmp);
  return out;
}

gboolean
graft_context_build_programs (GraftContext *ctx, const char *const *programs,
                              GraftProgramProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) list = NULL;
  if (programs == NULL)
    list = op_programs (ctx);
  else
    {
      list = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; programs[i]; i++)
        g_ptr_array_add (list, g_strdup (programs[i]));
    }
  for (guint i = 0; i < list->len; i++)
    {
      const char *name = list->pdata[i];
      /* A driver's compile cannot be interrupted: Stop waits for one program at most. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (g_hash_table_contains (ctx->programs, name))
        continue;
      g_autofree char *src = kernel_source (ctx, name, error);
      if (src == NULL)
        return FALSE;
      g_autofree char *path = cache_path (ctx, src);
      cl_program prog = load_cached (ctx, path);
      if (progress)
        progress (name, prog != NULL, i + 1, list->len, user_data);
      g_autoptr (GError) local = NULL;
      if (prog == NULL && (prog = compile_source (ctx, name, src, path, &local)) == NULL)
        {
          /* The default list may hold a program these ops never launch on this device: its
           * failure is reported, with the build log, if and when an op asks for it. */
          if (programs == NULL)
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_hash_table_insert (ctx->programs, g_strdup (name), prog);
    }
  return TRUE;
}

cl_mem
graft_context_alloc (GraftContext *ctx, gsize bytes, GError **error)
{
  cl_int st;
  if (bytes > ctx->info->max_alloc)
    {
      g_autofree char *want = graft_format_bytes (bytes);
      g_autofree char *max = graft_format_bytes (ctx->info->max_alloc);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_OUT_OF_MEMORY,
                   "%s cannot hold a %s buffer (largest allowed: %s): try a smaller batch or "
                   "image size", ctx->info->name, want, max);
      return NULL;
    }
  cl_mem m = clCreateBuffer (ctx->context, CL_MEM_READ_WRITE, MAX (bytes, 4), NULL, &st);
  if (!graft_cl_check (st, "clCreateBuffer", error))
    return NULL;
  return m;
}

gsize
graft_context_scratch_bytes (GraftContext *ctx)
{
  gsize total = 0;
  for (guint i = 0; i < GRAFT_SCRATCH_SLOTS; i++)
    total += ctx->scratch_size[i];
  return total;
}

cl_mem
graft_context_scratch (GraftContext *ctx, guint slot, gsize bytes, GError **error)
{
  g_return_val_if_fail (slot < GRAFT_SCRATCH_SLOTS, NULL);
  if (ctx->scratch[slot] && ctx->scratch_size[slot] >= bytes)
    return ctx->scratch[slot];
  if (ctx->scratch[slot])
    clReleaseMemObject (ctx->scratch[slot]);
  ctx->scratch[slot] = NULL;
  ctx->scratch_size[slot] = 0;
  cl_mem m = graft_context_alloc (ctx, bytes, error);
  if (m == NULL)
    return NULL;
  ctx->scratch[slot] = m;
  ctx->scratch_size[slot] = bytes;
  return m;
}

gboolean
graft_kernel_args (cl_kernel kernel, GError **error, ...)
{
  va_list ap;
  va_start (ap, error);
  for (cl_uint i = 0;; i++)
    {
      size_t size = va_arg (ap, size_t);
      if (size == 0)
        break;
      const void *ptr = va_arg (ap, const void *);
      cl_int st = clSetKernelArg (kernel, i, size, ptr);
      if (st != CL_SUCCESS)
        {
          va_end (ap);
          g_autofree char *what = g_strdup_printf ("clSetKernelArg(%u)", i);
          return graft_cl_check (st, what, error);
        }
    }
  va_end (ap);
  return TRUE;
}

void
graft_context_set_cancellable (GraftContext *ctx, GCancellable *cancellable)
{
  g_set_object (&ctx->cancellable, cancellable);
}

gboolean
graft_launch (GraftContext *ctx, const char *op, cl_kernel kernel, guint dims,
              const size_t *global, const size_t *local, GError **error)
{
  /* A driver may compile a kernel for its work sizes when it is first enqueued (PoCL does):
   * the first batches of a run can take long, and a cancel is seen between launches. */
  if (g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
    return FALSE;
  size_t g[3];
  for (guint i = 0; i < dims; i++)
    {
      g[i] = MAX (global[i], 1);
      if (local)
        g[i] = (g[i] + local[i] - 1) / local[i] * local[i];
    }
  cl_event ev = NULL;
  cl_int st = clEnqueueNDRangeKernel (ctx->queue, kernel, dims, NULL, g, local, 0, NULL,
                                      ctx->profiling ? &ev : NULL);
  if (st != CL_SUCCESS)
    {
      g_autofree char *what = g_strdup_printf ("launching %s", op);
      return graft_cl_check (st, what, error);
    }
  if (ev)
    graft_context_record_event (ctx, op, ev);
  return TRUE;
}

gboolean
graft_context_finish (GraftContext *ctx, GError **error)
{
  return graft_cl_check (clFinish (ctx->queue), "clFinish", error);
}

void
graft_context_set_profiling (GraftContext *ctx, gboolean on)
{
  ctx->profiling = on;
}

void
graft_context_record_event (GraftContext *ctx, const char *op, cl_event ev)
{
  if (!ctx->profiling)
    {
      clReleaseEvent (ev);
      return;
    }
  ProfiledEvent pe = { g_intern_string (op), NULL, ev };
  g_array_append_val (ctx->events, pe);
}

gboolean
graft_context_get_profiling (GraftContext *ctx)
{
  return ctx->profiling;
}

void
graft_context_record_span (GraftContext *ctx, const char *op, cl_event before, cl_event after)
{
  if (!ctx->profiling)
    {
      clReleaseEvent (before);
      clReleaseEvent (after);
      return;
    }
  ProfiledEvent pe = { g_intern_string (op), before, after };
  g_array_append_val (ctx->events, pe);
}

GHashTable *
graft_context_profile_collect (GraftContext *ctx)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  clFinish (ctx->queue);
  for (guint i = 0; i < ctx->events->len; i++)
    {
      ProfiledEvent *pe = &g_array_index (ctx->events, ProfiledEvent, i);
      cl_ulong t0 = 0, t1 = 0;
      if (pe->before)
        clGetEventProfilingInfo (pe->before, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL);
      else
        clGetEventProfilingInfo (pe->ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
      clGetEventProfilingInfo (pe->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
      guint64 *acc = g_hash_table_lookup (out, pe->op);
      if (acc == NULL)
        {
          acc = g_new0 (guint64, 1);
          g_hash_table_insert (out, (gpointer) pe->op, acc);
        }
      if (t1 > t0)
        *acc += t1 - t0;
      clReleaseEvent (pe->ev);
      if (pe->before)
        clReleaseEvent (pe->before);
    }
  g_array_set_size (ctx->events, 0);
  return out;
}
