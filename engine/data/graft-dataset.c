/* Dataset scan: class folders → candidate files (Keras' listing) → validity filter → split. */
#include "graft-dataset.h"
#include "graft-data-private.h"
#include "graft-image.h"
#include "graft-error.h"
#include "graft-run.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char   *path;       /* dir/class/…/file */
  char   *rel;        /* class/…/file */
  guint   label;
  guint64 size;
  gint64  mtime;      /* µs */
  char   *reason;     /* NULL when usable */
} Candidate;

struct _GraftDataset {
  char       *dir;
  GraftFilter filter;
  GPtrArray  *classes;      /* char* */
  Candidate  *cand;
  guint       n_cand;
  GArray     *usable;       /* guint: candidate index */
  GArray     *skipped;      /* guint: candidate index */
  guint      *class_count;
};

static int data_threads = 0;

void
graft_data_set_threads (int n)
{
  g_atomic_int_set (&data_threads, MAX (n, 0));
}

int
graft_data_get_threads (void)
{
  int n = g_atomic_int_get (&data_threads);
  return n > 0 ? n : (int) MAX (g_get_num_processors (), 1);
}

const char *
graft_filter_to_string (GraftFilter f)
{
  return f == GRAFT_FILTER_KERAS_JFIF ? "keras-jfif" : "decode";
}

gboolean
graft_filter_from_string (const char *s, GraftFilter *out, GError **error)
{
  if (g_strcmp0 (s, "decode") == 0)
    *out = GRAFT_FILTER_DECODE;
  else if (g_strcmp0 (s, "keras-jfif") == 0)
    *out = GRAFT_FILTER_KERAS_JFIF;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Unknown image filter “%s” (expected decode or keras-jfif)", s ? s : "");
      return FALSE;
    }
  return TRUE;
}

const char *
graft_split_mode_to_string (GraftSplitMode m)
{
  return m == GRAFT_SPLIT_KERAS ? "keras" : "seeded";
}

gboolean
graft_split_mode_from_string (const char *s, GraftSplitMode *out, GError **error)
{
  if (g_strcmp0 (s, "seeded") == 0)
    *out = GRAFT_SPLIT_SEEDED;
  else if (g_strcmp0 (s, "keras") == 0)
    *out = GRAFT_SPLIT_KERAS;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Unknown split mode “%s” (expected seeded or keras)", s ? s : "");
      return FALSE;
    }
  return TRUE;
}

/* ---- Listing ---- */

typedef struct {
  char *root;
  char *name;
} WalkEntry;

static int
walk_cmp (gconstpointer a, gconstpointer b)
{
  const WalkEntry *x = a, *y = b;
  int c = strcmp (x->root, y->root);
  return c ? c : strcmp (x->name, y->name);
}

static int
str_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
keras_extension (const char *name)
{
  static const char *const exts[] = { ".bmp", ".gif", ".jpeg", ".jpg", ".png" };
  gsize n = strlen (name);
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      gsize e = strlen (exts[i]);
      if (n >= e && g_ascii_strcasecmp (name + n - e, exts[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

/* os.walk(followlinks=False): every non-directory name is a file entry; only
 * real directories are descended into. */
static void
walk (const char *root, GArray *out)
{
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (root, name, NULL);
      gboolean is_dir = g_file_test (p, G_FILE_TEST_IS_DIR);
      if (is_dir && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        walk (p, out);
      else if (!is_dir && keras_extension (name))
        {
          WalkEntry e = { g_strdup (root), g_strdup (name) };
          g_array_append_val (out, e);
        }
    }
}

/* The first folder at or under @root (walked as walk() does) holding a file
 * that only a Graft run folder has: config.json is written before the run
 * scans its data, commit.json by the epoch commit. NULL if none. */
/* The class folders of @dir: its sub-folders, sorted by name (NULL when it cannot be read). */
static GPtrArray *
list_class_folders (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return NULL;
  GPtrArray *classes = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (classes, g_strdup (name));
    }
  g_ptr_array_sort (classes, str_cmp);
  return classes;
}

static char *
find_run_folder (const char *root)
{
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  if (d == NULL)
    return NULL;
  g_autoptr (GPtrArray) subdirs = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (root, name, NULL);
      gboolean is_dir = g_file_test (p, G_FILE_TEST_IS_DIR);
      if (!is_dir && (g_str_equal (name, GRAFT_RUN_CONFIG_FILE) ||
                      g_str_equal (name, GRAFT_RUN_COMMIT_FILE)))
        return g_strdup (root);
      if (is_dir && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        g_ptr_array_add (subdirs, g_steal_pointer (&p));
    }
  g_ptr_array_sort (subdirs, str_cmp);
  for (guint i = 0; i < subdirs->len; i++)
    {
      char *found = find_run_folder (subdirs->pdata[i]);
      if (found)
        return found;
    }
  return NULL;
}

/* ---- Validity filter on worker threads ---- */

typedef struct {
  GraftWork     work;
  GraftDataset *ds;
  GArray       *todo;       /* guint candidate indices */
} FilterJob;

static char *
check_file (GraftJpegDecoder *dec, const Candidate *c, GraftFilter filter)
{
  g_autofree char *base = g_path_get_basename (c->path);
  if (filter == GRAFT_FILTER_KERAS_JFIF)
    {
      /* Python's BufferedReader.peek() fills one 4096-byte buffer. */
      guint8 head[4096];
      char *reason = NULL;
      int fd = graft_image_open_regular (c->path, &reason);
      if (fd < 0)
        return reason;
      ssize_t got = 0, r;
      while (got < (ssize_t) sizeof head && (r = read (fd, head + got, sizeof head - got)) > 0)
        got += r;
      close (fd);
      if (got == 0)
        return g_strdup ("empty file (0 bytes)");
      if (memmem (head, got, "JFIF", 4) == NULL)
        return g_strdup ("no “JFIF” in the first 4096 bytes");
      return NULL;
    }
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  char *reason = NULL;
  if (!graft_image_read_file (c->path, &data, &len, &reason))
    return reason;
  reason = graft_image_sniff ((const guint8 *) data, len, base);
  if (reason)
    return reason;
  int w, h;
  guint8 *px = graft_jpeg_decoder_decode_rgb (dec, (const guint8 *) data, len, 0, &w, &h, &reason);
  g_free (px);
  return reason;
}

static gpointer
filter_worker (gpointer data)
{
  FilterJob *job = data;
  g_autoptr (GraftJpegDecoder) dec = graft_jpeg_decoder_new ();
  guint k;
  while (graft_work_take (&job->work, &k))
    {
      Candidate *c = &job->ds->cand[g_array_index (job->todo, guint, k)];
      c->reason = check_file (dec, c, job->ds->filter);
      g_atomic_int_inc (&job->work.done);
    }
  return NULL;
}

gboolean
graft_work_take (GraftWork *w, guint *item)
{
  if (g_cancellable_is_cancelled (w->cancellable))
    return FALSE;
  guint k = (guint) g_atomic_int_add (&w->next, 1);
  if (k >= w->total)
    return FALSE;
  *item = k;
  return TRUE;
}

int
graft_data_guint_cmp (const guint *a, const guint *b)
{
  return *a < *b ? -1 : *a > *b;
}

void
graft_data_run_workers (GThreadFunc func, gpointer job, GraftWork *work, const char *stage,
                        GraftDataProgressFunc progress, gpointer user_data)
{
  int nt = MIN (graft_data_get_threads (), (int) MAX (work->total, 1));
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  for (int i = 0; i < nt; i++)
    g_ptr_array_add (threads, g_thread_new ("graft-data", func, job));
  /* Progress goes out from the calling thread so callers need no locking. */
  guint last = G_MAXUINT;
  while (progress)
    {
      guint d = (guint) g_atomic_int_get (&work->done);
      if (d != last)
        progress (stage, d, work->total, user_data);
      last = d;
      if (d >= work->total || g_cancellable_is_cancelled (work->cancellable))
        break;
      g_usleep (20000);
    }
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
}

/* ---- Scan-result cache: validity per (file, size, mtime) so a rescan of an
 * unchanged folder decodes nothing. ---- */

char *
graft_data_cache_dir (void)
{
  const char *env = g_getenv ("GRAFT_IMAGE_CACHE");
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_cache_dir (), "graft", "images", NULL);
}

static char *
scan_cache_path (const char *dir, GraftFilter filter)
{
  g_autofree char *key = g_strdup_printf ("scan\n%s\n%s", dir, graft_filter_to_string (filter));
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  g_autofree char *cdir = graft_data_cache_dir ();
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *name = g_strdup_printf ("%s-%.16s.scan", base, sum);
  return g_build_filename (cdir, name, NULL);
}

/* First line SCAN_CACHE_FORMAT, then one line per candidate:
 * size \t mtime \t reason-or-empty \t relative path. Version 1 had no first
 * line and may hold verdicts from a decoder poisoned by an earlier file
 * (every file after a bad one "corrupt"), so it is never read. */
#define SCAN_CACHE_FORMAT "graft-scan-cache 2"

static GHashTable *
scan_cache_load (const char *path)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL) ||
      !g_str_has_prefix (text, SCAN_CACHE_FORMAT "\n"))
    return t;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i]; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 4);
      if (g_strv_length (f) != 4)
        continue;
      g_hash_table_replace (t, g_strdup (f[3]), g_strdup_printf ("%s\t%s\t%s", f[0], f[1], f[2]));
    }
  return t;
}

static void
scan_cache_save (GraftDataset *ds, const char *path)
{
  g_autoptr (GString) s = g_string_new (SCAN_CACHE_FORMAT "\n");
  for (guint i = 0; i < ds->n_cand; i++)
    {
      Candidate *c = &ds->cand[i];
      /* Names that would break the line format are checked again next time,
       * and so are files that could not be read (permissions, I/O errors). */
      if (strchr (c->rel, '\n') || strchr (c->rel, '\t') ||
          (c->reason && (strchr (c->reason, '\n') || strchr (c->reason, '\t') ||
                         g_str_has_prefix (c->reason, "cannot be read"))))
        continue;
      g_string_append_printf (s, "%" G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%s\t%s\n", c->size,
                              c->mtime, c->reason ? c->reason : "", c->rel);
    }
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) == 0)
    g_file_set_contents (path, s->str, (gssize) s->len, NULL);
}

/* ---- Scan ---- */

gboolean
graft_dataset_check_classes (GraftDataset *ds, GError **error)
{
  g_autoptr (GString) others = g_string_new (NULL);
  gint first = -1;
  guint n_empty = 0;
  for (guint k = 0; k < ds->classes->len; k++)
    if (ds->class_count[k] == 0)
      {
        if (first < 0)
          first = (gint) k;
        else
          g_string_append_printf (others, "%s%s", n_empty > 1 ? ", " : "",
                                  (char *) ds->classes->pdata[k]);
        n_empty++;
      }
  if (first < 0)
    return TRUE;
  /* The skipped files of the first empty class, with their reasons. */
  g_autoptr (GString) why = g_string_new (NULL);
  guint n_skipped = 0;
  for (guint i = 0; i < ds->skipped->len; i++)
    {
      Candidate *c = &ds->cand[g_array_index (ds->skipped, guint, i)];
      if (c->label != (guint) first)
        continue;
      if (n_skipped < 3)
        {
          g_autofree char *base = g_path_get_basename (c->path);
          g_string_append_printf (why, "%s%s: %s", n_skipped ? "; " : "", base, c->reason);
        }
      n_skipped++;
    }
  if (n_skipped > 3)
    g_string_append_printf (why, "; and %u more", n_skipped - 3);
  g_autofree char *cdir = g_build_filename (ds->dir, ds->classes->pdata[first], NULL);
  g_autofree char *detail =
    n_skipped ? g_strdup_printf ("%u file%s skipped: %s", n_skipped, n_skipped == 1 ? "" : "s", why->str)
              : g_strdup ("it holds no .jpg, .jpeg, .png, .gif or .bmp file");
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "Class folder %s has no usable image (%s)%s%s: every class needs at least one "
               "image, so remove the folder or add images", cdir, detail,
               n_empty > 1 ? "; also without images: " : "", others->str);
  return FALSE;
}

GraftDataset *
graft_dataset_scan (const char *dir, GraftFilter filter, GraftDataProgressFunc progress,
                    gpointer user_data, GCancellable *cancellable, GError **error)
{
  return graft_dataset_scan_full (dir, filter, GRAFT_SCAN_FLAGS_NONE, progress, user_data,
                                  cancellable, error);
}

GraftDataset *
graft_dataset_scan_full (const char *dir, GraftFilter filter, GraftScanFlags flags,
                         GraftDataProgressFunc progress, gpointer user_data,
                         GCancellable *cancellable, GError **error)
{
  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Dataset folder %s does not exist", dir);
      return NULL;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Dataset path %s is not a folder", dir);
      return NULL;
    }
  g_autoptr (GError) derr = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &derr);
  if (d == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Cannot read dataset folder %s: %s",
                   dir, derr->message);
      return NULL;
    }
  GraftDataset *ds = g_new0 (GraftDataset, 1);
  ds->dir = g_canonicalize_filename (dir, NULL);
  ds->filter = filter;
  ds->classes = list_class_folders (ds->dir);
  if (ds->classes == NULL)
    ds->classes = g_ptr_array_new_with_free_func (g_free);
  ds->usable = g_array_new (FALSE, FALSE, sizeof (guint));
  ds->skipped = g_array_new (FALSE, FALSE, sizeof (guint));
  if (ds->classes->len < 2)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Dataset folder %s has %u class folder%s; it needs one sub-folder per class "
                   "and at least 2 classes",
                   dir, ds->classes->len, ds->classes->len == 1 ? "" : "s");
      graft_dataset_free (ds);
      return NULL;
    }
  g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (WalkEntry));
  gsize dir_len = strlen (ds->dir);
  g_autofree char *real_dir = realpath (ds->dir, NULL);
  g_autoptr (GError) refuse = NULL;
  for (guint k = 0; k < ds->classes->len && refuse == NULL; k++)
    {
      g_autofree char *cdir = g_build_filename (ds->dir, ds->classes->pdata[k], NULL);
      /* A link to the dataset folder or above would make one class of every image. */
      g_autofree char *real_cdir = realpath (cdir, NULL);
      gsize rl = real_cdir ? strlen (real_cdir) : 0;
      if (real_dir && real_cdir &&
          (g_str_equal (real_cdir, "/") ||
           (strncmp (real_dir, real_cdir, rl) == 0 && (real_dir[rl] == '/' || real_dir[rl] == '\0'))))
        {
          g_set_error (&refuse, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "Class folder %s links back to %s, the dataset folder %s or a folder "
                       "above it: it cannot be a class of images", cdir, real_cdir, dir);
          break;
        }
      g_autofree char *run_dir = find_run_folder (cdir);
      walk (cdir, entries);
      if (run_dir)
        g_set_error (&refuse, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "%s is a Graft run folder (it holds config.json or commit.json), not "
                     "images of class “%s”: keep run folders outside the dataset folder %s", run_dir, (char *) ds->classes->pdata[k], dir);
      g_array_sort (entries, walk_cmp);
      for (guint i = 0; i < entries->len; i++)
        {
          WalkEntry *e = &g_array_index (entries, WalkEntry, i);
          Candidate c = { 0 };
          c.path = g_build_filename (e->root, e->name, NULL);
          c.rel = g_strdup (c.path + dir_len + (ds->dir[dir_len - 1] == '/' ? 0 : 1));
          c.label = k;
          GStatBuf st;
          if (g_stat (c.path, &st) == 0)
            {
              c.size = (guint64) st.st_size;
              c.mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
            }
          g_array_append_val (all, c);
          g_free (e->root);
          g_free (e->name);
        }
      g_array_set_size (entries, 0);
    }
  ds->n_cand = all->len;
  ds->cand = (Candidate *) g_array_free (g_steal_pointer (&all), FALSE);
  if (refuse)
    {
      g_propagate_error (error, g_steal_pointer (&refuse));
      graft_dataset_free (ds);
      return NULL;
    }

  /* Reuse verdicts for unchanged files; check the rest on all cores. */
  g_autofree char *cache_path = scan_cache_path (ds->dir, filter);
  g_autoptr (GHashTable) known = scan_cache_load (cache_path);
  FilterJob job = { { 0, 0, 0, cancellable }, ds, g_array_new (FALSE, FALSE, sizeof (guint)) };
  for (guint i = 0; i < ds->n_cand; i++)
    {
      Candidate *c = &ds->cand[i];
      const char *v = g_hash_table_lookup (known, c->rel);
      g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT "\t",
                                               c->size, c->mtime);
      if (v && g_str_has_prefix (v, want))
        {
          const char *r = v + strlen (want);
          c->reason = *r ? g_strdup (r) : NULL;
        }
      else
        g_array_append_val (job.todo, i);
    }
  if (job.todo->len > 0)
    {
      job.work.total = job.todo->len;
      graft_data_run_workers (filter_worker, &job, &job.work,
                              filter == GRAFT_FILTER_DECODE ? "Checking images (full JPEG decode)"
                                                            : "Checking images (JFIF marker)",
                              progress, user_data);
    }
  guint n_todo = job.todo->len;
  g_array_unref (job.todo);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      graft_dataset_free (ds);
      return NULL;
    }
  if (n_todo > 0)
    scan_cache_save (ds, cache_path);

  ds->class_count = g_new0 (guint, ds->classes->len);
  for (guint i = 0; i < ds->n_cand; i++)
    {
      if (ds->cand[i].reason)
        g_array_append_val (ds->skipped, i);
      else
        {
          g_array_append_val (ds->usable, i);
          ds->class_count[ds->cand[i].label]++;
        }
    }
  if (ds->usable->len == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Dataset folder %s has no usable image (%u candidate file%s, filter %s)", dir,
                   ds->n_cand, ds->n_cand == 1 ? "" : "s", graft_filter_to_string (filter));
      graft_dataset_free (ds);
      return NULL;
    }
  if (!(flags & GRAFT_SCAN_ALLOW_EMPTY_CLASSES) && !graft_dataset_check_classes (ds, error))
    {
      graft_dataset_free (ds);
      return NULL;
    }
  return ds;
}

void
graft_dataset_free (GraftDataset *ds)
{
  if (ds == NULL)
    return;
  for (guint i = 0; i < ds->n_cand; i++)
    {
      g_free (ds->cand[i].path);
      g_free (ds->cand[i].rel);
      g_free (ds->cand[i].reason);
    }
  g_free (ds->cand);
  g_free (ds->class_count);
  g_ptr_array_unref (ds->classes);
  g_array_unref (ds->usable);
  g_array_unref (ds->skipped);
  g_free (ds->dir);
  g_free (ds);
}

const char *graft_dataset_dir (GraftDataset *ds) { return ds->dir; }
guint graft_dataset_n_classes (GraftDataset *ds) { return ds->classes->len; }
guint graft_dataset_n_files (GraftDataset *ds) { return ds->usable->len; }
guint graft_dataset_n_skipped (GraftDataset *ds) { return ds->skipped->len; }
guint graft_dataset_n_candidates (GraftDataset *ds) { return ds->n_cand; }
GraftFilter graft_dataset_filter (GraftDataset *ds) { return ds->filter; }

const char *
graft_dataset_class_name (GraftDataset *ds, guint i)
{
  g_return_val_if_fail (i < ds->classes->len, NULL);
  return ds->classes->pdata[i];
}

guint
graft_dataset_class_count (GraftDataset *ds, guint label)
{
  g_return_val_if_fail (label < ds->classes->len, 0);
  return ds->class_count[label];
}

static Candidate *
usable (GraftDataset *ds, guint i)
{
  g_return_val_if_fail (i < ds->usable->len, NULL);
  return &ds->cand[g_array_index (ds->usable, guint, i)];
}

const char *graft_dataset_file_path (GraftDataset *ds, guint i) { return usable (ds, i)->path; }
guint graft_dataset_file_label (GraftDataset *ds, guint i) { return usable (ds, i)->label; }
guint64 graft_dataset_file_size (GraftDataset *ds, guint i) { return usable (ds, i)->size; }
gint64 graft_dataset_file_mtime (GraftDataset *ds, guint i) { return usable (ds, i)->mtime; }

const char *
graft_dataset_skipped_path (GraftDataset *ds, guint i)
{
  g_return_val_if_fail (i < ds->skipped->len, NULL);
  return ds->cand[g_array_index (ds->skipped, guint, i)].path;
}

const char *
graft_dataset_skipped_reason (GraftDataset *ds, guint i)
{
  g_return_val_if_fail (i < ds->skipped->len, NULL);
  return ds->cand[g_array_index (ds->skipped, guint, i)].reason;
}

/* ---- Split ---- */

static guint32
split_hash (guint32 seed, guint32 a, guint32 b)
{
  guint32 h = seed * 0x9e3779b9U ^ 0x5bd1e995U;
  h = (h ^ a) * 0x85ebca6bU;
  h ^= h >> 13;
  h = (h ^ b) * 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

void
graft_dataset_split (GraftDataset *ds, GraftSplitMode mode, double val_fraction, guint32 seed,
                     GArray **train, GArray **val)
{
  guint n = ds->usable->len;
  guint n_val = (guint) (CLAMP (val_fraction, 0.0, 1.0) * n);
  *train = g_array_new (FALSE, FALSE, sizeof (guint));
  *val = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree guint *perm = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    perm[i] = i;
  if (mode == GRAFT_SPLIT_KERAS)
    {
      graft_numpy_shuffle (seed, perm, n);
      g_array_append_vals (*train, perm, n - n_val);
      g_array_append_vals (*val, perm + (n - n_val), n_val);
      return;
    }
  /* Seeded, stratified: each class is shuffled on its own (Fisher–Yates with a
   * hashed counter) and its first round(f·count) files go to validation, with
   * the rounding carried across classes so the total is exactly int(f·n). */
  guint nc = ds->classes->len;
  double carry = 0;
  guint taken = 0;
  g_autoptr (GArray) vset = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) tset = g_array_new (FALSE, FALSE, sizeof (guint));
  guint start = 0;
  for (guint k = 0; k < nc; k++)
    {
      guint cnt = ds->class_count[k];
      guint *cls = perm + start;   /* usable files are grouped by class, in order */
      for (guint i = cnt; i > 1; i--)
        {
          guint j = (guint) (((guint64) split_hash (seed, k, i) * i) >> 32);
          guint t = cls[i - 1];
          cls[i - 1] = cls[j];
          cls[j] = t;
        }
      double want = val_fraction * cnt + carry;
      guint nv = (guint) MIN ((double) cnt, MAX (0.0, floor (want + 0.5)));
      if (k == nc - 1)
        nv = MIN (cnt, n_val > taken ? n_val - taken : 0);
      carry = want - nv;
      taken += nv;
      g_array_append_vals (vset, cls, nv);
      g_array_append_vals (tset, cls + nv, cnt - nv);
      start += cnt;
    }
  /* Validation stays in file order; training order is the loader's business. */
  g_array_sort (vset, (GCompareFunc) graft_data_guint_cmp);
  g_array_sort (tset, (GCompareFunc) graft_data_guint_cmp);
  g_array_append_vals (*train, tset->data, tset->len);
  g_array_append_vals (*val, vset->data, vset->len);
}

/* ---- Signature: what a run's identity records of its data folder ---- */

char *
graft_dataset_signature (const char *dir, guint *n_files)
{
  if (n_files)
    *n_files = 0;
  g_autoptr (GPtrArray) classes = list_class_folders (dir);
  if (classes == NULL)
    return NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint n = 0;
  for (guint k = 0; k < classes->len; k++)
    {
      g_autofree char *cdir = g_build_filename (dir, classes->pdata[k], NULL);
      g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (WalkEntry));
      walk (cdir, entries);
      g_array_sort (entries, walk_cmp);
      g_checksum_update (sum, (const guchar *) classes->pdata[k], -1);
      g_checksum_update (sum, (const guchar *) "\n", 1);
      for (guint i = 0; i < entries->len; i++)
        {
          WalkEntry *e = &g_array_index (entries, WalkEntry, i);
          g_autofree char *path = g_build_filename (e->root, e->name, NULL);
          GStatBuf st;
          g_autofree char *line = NULL;
          if (g_stat (path, &st) == 0)
            line = g_strdup_printf ("%s\t%" G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT "\n",
                                    path + strlen (cdir), (guint64) st.st_size,
                                    (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC +
                                      st.st_mtim.tv_nsec / 1000);
          else
            line = g_strdup_printf ("%s\t-\n", path + strlen (cdir));
          g_checksum_update (sum, (const guchar *) line, -1);
          n++;
          g_free (e->root);
          g_free (e->name);
        }
    }
  if (n_files)
    *n_files = n;
  return g_strdup (g_checksum_get_string (sum));
}

void
graft_images_collect (const char *path, GPtrArray *out)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (out, g_strdup (path));
      return;
    }
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (WalkEntry));
  walk (path, entries);
  g_array_sort (entries, walk_cmp);
  for (guint i = 0; i < entries->len; i++)
    {
      WalkEntry *e = &g_array_index (entries, WalkEntry, i);
      g_ptr_array_add (out, g_build_filename (e->root, e->name, NULL));
      g_free (e->root);
      g_free (e->name);
    }
}
