/* The decoded-image cache: one memory-mapped file of resized uint8 RGB images per (dataset, size, filter, flags). */
#include "graft-dataset.h"
#include "graft-data-private.h"
#include "graft-image.h"
#include "graft-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* File layout (little-endian host order; the cache is per machine):
 *   CacheHeader | CacheEntry × n | zero padding to 4096 | n × size·size·3 pixels
 * An entry records the source's size, mtime and path hash so any change of
 * the file set or of a file triggers a rebuild. */
#define CACHE_MAGIC   "GRAFTIMC"
/* 2: version 1 caches may hold zero pixels for valid files decoded after a
 * damaged one on the same TurboJPEG handle. */
#define CACHE_VERSION 2U
#define CACHE_ALIGN   4096U

typedef struct {
  char    magic[8];
  guint32 version;
  guint32 image_size;
  guint32 n;
  guint32 flags;
  guint32 filter;
  guint32 n_failed;
  guint64 pixels_offset;
  guint64 reserved[3];
} CacheHeader;

typedef struct {
  guint64 size;
  gint64  mtime;
  guint64 path_hash;
  guint32 failed;
  guint32 pad;
} CacheEntry;

G_STATIC_ASSERT (sizeof (CacheHeader) == 64);
G_STATIC_ASSERT (sizeof (CacheEntry) == 32);

struct _GraftImageCache {
  char        *path;
  GMappedFile *map;
  const guint8 *pixels;
  int          size;
  guint        n;
  gboolean     built;
  GArray      *failed;       /* guint */
  GPtrArray   *reasons;      /* char* */
};

static guint64
path_hash (const char *path)
{
  /* FNV-1a: stable across runs, unlike g_str_hash's seedless but 32-bit value. */
  guint64 h = 0xcbf29ce484222325ULL;
  for (const guchar *p = (const guchar *) path; *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  return h;
}

static guint64
pixels_offset (guint n)
{
  guint64 idx = sizeof (CacheHeader) + (guint64) n * sizeof (CacheEntry);
  return (idx + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
}

guint64
graft_image_cache_bytes_for (GraftDataset *ds, int image_size)
{
  guint n = graft_dataset_n_files (ds);
  return pixels_offset (n) + (guint64) n * image_size * image_size * 3;
}

static char *
cache_file_path (GraftDataset *ds, int size, GraftCacheFlags flags)
{
  g_autofree char *key = g_strdup_printf ("images\n%s\n%d\n%s\n%u", graft_dataset_dir (ds), size,
                                          graft_filter_to_string (graft_dataset_filter (ds)),
                                          (guint) flags);
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  g_autofree char *dir = graft_data_cache_dir ();
  g_autofree char *base = g_path_get_basename (graft_dataset_dir (ds));
  g_autofree char *name = g_strdup_printf ("%s-%dpx-%s%s-%.16s.cache", base, size,
                                           graft_filter_to_string (graft_dataset_filter (ds)),
                                           (flags & GRAFT_CACHE_FAST_DECODE) ? "-fast" : "", sum);
  return g_build_filename (dir, name, NULL);
}

static void
fill_entry (GraftDataset *ds, guint i, CacheEntry *e)
{
  memset (e, 0, sizeof *e);
  e->size = graft_dataset_file_size (ds, i);
  e->mtime = graft_dataset_file_mtime (ds, i);
  e->path_hash = path_hash (graft_dataset_file_path (ds, i));
}

/* Maps @path and checks it describes exactly the files of @ds as they are now. */
static gboolean
try_open (GraftImageCache *c, GraftDataset *ds, GraftCacheFlags flags)
{
  g_autoptr (GMappedFile) map = g_mapped_file_new (c->path, FALSE, NULL);
  if (map == NULL)
    return FALSE;
  gsize len = g_mapped_file_get_length (map);
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (map);
  guint n = graft_dataset_n_files (ds);
  if (len < sizeof (CacheHeader) || len != graft_image_cache_bytes_for (ds, c->size))
    return FALSE;
  CacheHeader h;
  memcpy (&h, data, sizeof h);
  if (memcmp (h.magic, CACHE_MAGIC, 8) != 0 || h.version != CACHE_VERSION ||
      h.image_size != (guint32) c->size || h.n != n || h.flags != (guint32) flags ||
      h.filter != (guint32) graft_dataset_filter (ds) || h.pixels_offset != pixels_offset (n))
    return FALSE;
  const CacheEntry *ent = (const CacheEntry *) (data + sizeof h);
  for (guint i = 0; i < n; i++)
    {
      CacheEntry want;
      fill_entry (ds, i, &want);
      if (ent[i].size != want.size || ent[i].mtime != want.mtime ||
          ent[i].path_hash != want.path_hash)
        return FALSE;
      if (ent[i].failed)
        {
          g_array_append_val (c->failed, i);
          g_ptr_array_add (c->reasons, g_strdup ("could not be decoded when the cache was built"));
        }
    }
  c->pixels = data + h.pixels_offset;
  c->map = g_steal_pointer (&map);
  return TRUE;
}

static GraftImageCacheBuildHook build_hook;
static gpointer                 build_hook_data;

void
graft_image_cache_set_build_hook (GraftImageCacheBuildHook hook, gpointer user_data)
{
  build_hook = hook;
  build_hook_data = user_data;
}

typedef struct {
  GraftWork     work;
  GraftDataset *ds;
  int           fd;
  int           size;
  gboolean      fast;
  guint64       offset;
  CacheEntry   *entries;
  char        **reasons;
  gint          write_errno;
} BuildJob;

static gpointer
build_worker (gpointer data)
{
  BuildJob *job = data;
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  gsize bytes = (gsize) job->size * job->size * 3;
  g_autofree guint8 *buf = g_malloc (bytes);
  guint i;
  while (graft_work_take (&job->work, &i))
    {
      char *reason = NULL;
      fill_entry (job->ds, i, &job->entries[i]);
      if (!graft_jpeg_decoder_load_resized (dec, graft_dataset_file_path (job->ds, i), job->size,
                                            job->fast, buf, &reason))
        {
          /* The scan filter let it through (keras-jfif does not decode): keep
           * the index stable, leave zero pixels and report the file. */
          job->entries[i].failed = 1;
          job->reasons[i] = reason;
        }
      else
        {
          gsize off = 0;
          while (off < bytes)
            {
              ssize_t w = pwrite (job->fd, buf + off, bytes - off,
                                  (off_t) (job->offset + (guint64) i * bytes + off));
              if (w <= 0)
                {
                  g_atomic_int_set (&job->write_errno, w < 0 ? errno : ENOSPC);
                  break;
                }
              off += (gsize) w;
            }
        }
      guint done = (guint) g_atomic_int_add (&job->work.done, 1) + 1;
      if (build_hook)
        build_hook (done, build_hook_data);
    }
  return NULL;
}

static gboolean
write_all (int fd, const void *buf, gsize len, guint64 at)
{
  const guint8 *p = buf;
  while (len > 0)
    {
      ssize_t w = pwrite (fd, p, len, (off_t) at);
      if (w <= 0)
        return FALSE;
      p += w, len -= (gsize) w, at += (guint64) w;
    }
  return TRUE;
}

static gboolean
build (GraftImageCache *c, GraftDataset *ds, GraftCacheFlags flags,
       GraftDataProgressFunc progress, gpointer user_data, GCancellable *cancellable,
       GError **error)
{
  guint n = graft_dataset_n_files (ds);
  guint64 total = graft_image_cache_bytes_for (ds, c->size);
  g_autofree char *dir = g_path_get_dirname (c->path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create the image cache folder %s: %s",
                   dir, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", c->path);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create the image cache %s: %s",
                   tmp, g_strerror (errno));
      return FALSE;
    }
  if (ftruncate (fd, (off_t) total) != 0)
    {
      int e = errno;
      close (fd);
      g_unlink (tmp);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO,
                   "Cannot make the image cache %s %" G_GUINT64_FORMAT " bytes large: %s", tmp,
                   total, g_strerror (e));
      return FALSE;
    }
  g_autofree char *human = g_format_size (total);
  g_autofree char *stage = g_strdup_printf ("Building image cache (%u images at %d×%d, %s) in %s",
                                            n, c->size, c->size, human, c->path);
  /* The file and its size once, as a message (no count), then the count under a short name. */
  if (progress)
    progress (stage, 0, 0, user_data);
  BuildJob job = { { 0, 0, n, cancellable }, ds, fd, c->size, (flags & GRAFT_CACHE_FAST_DECODE) != 0,
                   pixels_offset (n), g_new0 (CacheEntry, MAX (n, 1)), g_new0 (char *, MAX (n, 1)), 0 };
  /* Each worker checks for a cancel before it takes the next image: Stop waits for one image. */
  graft_data_run_workers (build_worker, &job, &job.work, "Building image cache", progress,
                          user_data);
  CacheHeader h = { { 0 } };
  memcpy (h.magic, CACHE_MAGIC, 8);
  h.version = CACHE_VERSION;
  h.image_size = (guint32) c->size;
  h.n = n;
  h.flags = (guint32) flags;
  h.filter = (guint32) graft_dataset_filter (ds);
  h.pixels_offset = pixels_offset (n);
  for (guint i = 0; i < n; i++)
    if (job.entries[i].failed)
      {
        h.n_failed++;
        g_array_append_val (c->failed, i);
        g_ptr_array_add (c->reasons, job.reasons[i]);
      }
  gboolean ok = TRUE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  else if (job.write_errno != 0 || !write_all (fd, &h, sizeof h, 0) ||
           !write_all (fd, job.entries, (gsize) n * sizeof (CacheEntry), sizeof h) ||
           fsync (fd) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write the image cache %s: %s", tmp,
                   g_strerror (job.write_errno ? job.write_errno : errno));
      ok = FALSE;
    }
  close (fd);
  g_free (job.entries);
  g_free (job.reasons);   /* the strings now belong to c->reasons */
  if (ok && g_rename (tmp, c->path) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot move the image cache into place at %s: %s",
                   c->path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    {
      g_unlink (tmp);
      return FALSE;
    }
  GError *merr = NULL;
  c->map = g_mapped_file_new (c->path, FALSE, &merr);
  if (c->map == NULL)
    {
      g_propagate_prefixed_error (error, merr, "Cannot map the image cache: ");
      return FALSE;
    }
  c->pixels = (const guint8 *) g_mapped_file_get_contents (c->map) + h.pixels_offset;
  c->built = TRUE;
  return TRUE;
}

GraftImageCache *
graft_image_cache_open_full (GraftDataset *ds, int image_size, GraftCacheFlags flags,
                             GraftDataProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, GError **error)
{
  if (image_size < 1 || image_size > 4096)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Image size %d is out of range (1 to 4096 pixels)", image_size);
      return NULL;
    }
  GraftImageCache *c = g_new0 (GraftImageCache, 1);
  c->size = image_size;
  c->n = graft_dataset_n_files (ds);
  c->path = cache_file_path (ds, image_size, flags);
  c->failed = g_array_new (FALSE, FALSE, sizeof (guint));
  c->reasons = g_ptr_array_new_with_free_func (g_free);
  if (try_open (c, ds, flags))
    return c;
  if (!build (c, ds, flags, progress, user_data, cancellable, error))
    {
      graft_image_cache_free (c);
      return NULL;
    }
  return c;
}

GraftImageCache *
graft_image_cache_open (GraftDataset *ds, int image_size, GraftDataProgressFunc progress,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  return graft_image_cache_open_full (ds, image_size, GRAFT_CACHE_FLAGS_NONE, progress, user_data,
                                      cancellable, error);
}

void
graft_image_cache_free (GraftImageCache *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->map, g_mapped_file_unref);
  g_array_unref (c->failed);
  g_ptr_array_unref (c->reasons);
  g_free (c->path);
  g_free (c);
}

int graft_image_cache_size (GraftImageCache *c) { return c->size; }
const char *graft_image_cache_path (GraftImageCache *c) { return c->path; }
gboolean graft_image_cache_was_built (GraftImageCache *c) { return c->built; }
guint graft_image_cache_n_failed (GraftImageCache *c) { return c->failed->len; }

guint
graft_image_cache_failed_index (GraftImageCache *c, guint i)
{
  g_return_val_if_fail (i < c->failed->len, 0);
  return g_array_index (c->failed, guint, i);
}

const char *
graft_image_cache_failed_reason (GraftImageCache *c, guint i)
{
  g_return_val_if_fail (i < c->reasons->len, NULL);
  return c->reasons->pdata[i];
}

const guint8 *
graft_image_cache_pixels (GraftImageCache *c, guint i)
{
  g_return_val_if_fail (i < c->n, NULL);
  return c->pixels + (gsize) i * c->size * c->size * 3;
}
