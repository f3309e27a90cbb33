/* Run folders: file names, metrics.csv, config.json (identity), commit.json (epoch commits),
 * run.json (status), split.csv and log.txt. Nothing else opens a run's files. */
#include "graft-run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "graft-arch.h"
#include "graft-error.h"
#include "graft-json.h"
#include "graft-tfevents.h"
#include "graft-train.h"

/* ---- Metrics ---- */

static const struct {
  const char *name, *title;
} metric_names[] = {
  [GRAFT_METRIC_VAL_ACC] = { "val_acc", "Validation accuracy" },
  [GRAFT_METRIC_VAL_LOSS] = { "val_loss", "Validation loss" },
  [GRAFT_METRIC_TRAIN_ACC] = { "train_acc", "Training accuracy" },
  [GRAFT_METRIC_TRAIN_LOSS] = { "train_loss", "Training loss" },
};

gboolean
graft_metric_from_string (const char *s, GraftMetric *out, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (metric_names); i++)
    if (g_strcmp0 (s, metric_names[i].name) == 0)
      {
        *out = (GraftMetric) i;
        return TRUE;
      }
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "Unknown metric “%s” (expected val_acc, val_loss, train_acc or train_loss)",
               s ? s : "");
  return FALSE;
}

const char *
graft_metric_to_string (GraftMetric m)
{
  return metric_names[m].name;
}

const char *
graft_metric_title (GraftMetric m)
{
  return metric_names[m].title;
}

double
graft_epoch_metrics_get (const GraftEpochMetrics *m, GraftMetric which)
{
  switch (which)
    {
    case GRAFT_METRIC_VAL_ACC: return m->val_acc;
    case GRAFT_METRIC_VAL_LOSS: return m->val_loss;
    case GRAFT_METRIC_TRAIN_ACC: return m->train_acc;
    case GRAFT_METRIC_TRAIN_LOSS: return m->train_loss;
    }
  return NAN;
}

#define METRICS_HEADER "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_second"
#define METRICS_MAX_ROWS 100000

/* One row as metrics.csv writes it (no line end). */
static char *
metrics_format_row (const GraftEpochMetrics *r)
{
  char b[7][G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup_printf ("%d,%s,%s,%s,%s,%s,%s,%s", r->epoch,
                          g_ascii_formatd (b[0], sizeof b[0], "%.6f", r->train_loss),
                          g_ascii_formatd (b[1], sizeof b[1], "%.6f", r->train_acc),
                          g_ascii_formatd (b[2], sizeof b[2], "%.6f", r->val_loss),
                          g_ascii_formatd (b[3], sizeof b[3], "%.6f", r->val_acc),
                          g_ascii_formatd (b[4], sizeof b[4], "%g", r->lr),
                          g_ascii_formatd (b[5], sizeof b[5], "%.3f", r->seconds),
                          g_ascii_formatd (b[6], sizeof b[6], "%.1f", r->images_per_second));
}

static gboolean
parse_row (const char *line, int want_epoch, GraftEpochMetrics *out, const char *what,
           guint ln, GError **error)
{
  g_auto (GStrv) f = g_strsplit (line, ",", 10);
  guint nf = g_strv_length (f);
  if (nf != 8)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s:%u: %u field%s where metrics.csv has 8 (a truncated or edited row)",
                   what, ln, nf, nf == 1 ? "" : "s");
      return FALSE;
    }
  static const char *const cols[] = { "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                      "lr", "seconds", "images_per_second" };
  double v[8];
  for (guint c = 0; c < 8; c++)
    {
      char *end = NULL;
      v[c] = *f[c] ? g_ascii_strtod (f[c], &end) : NAN;
      if (*f[c] == '\0' || end == f[c] || *end != '\0' || !isfinite (v[c]))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s:%u: “%.40s” is not a finite number (column %s)", what, ln, f[c],
                       cols[c]);
          return FALSE;
        }
    }
  if (v[0] != (double) want_epoch)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s:%u: epoch %s where epoch %d was expected (rows must be epochs 1, 2, … "
                   "in order)", what, ln, f[0], want_epoch);
      return FALSE;
    }
  *out = (GraftEpochMetrics) { want_epoch, v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
  return TRUE;
}

GArray *
graft_metrics_parse (const char *text, gsize len, const char *what, GError **error)
{
  g_autoptr (GArray) rows = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
  if (len == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s:1: the file is empty", what);
      return NULL;
    }
  if (memchr (text, '\0', len))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: contains NUL bytes", what);
      return NULL;
    }
  g_autofree char *copy = g_strndup (text, len);
  gboolean final_newline = copy[len - 1] == '\n';
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);
  guint n = g_strv_length (lines);
  if (final_newline)
    n--;   /* the empty piece after the last line end */
  for (guint i = 0; i < n; i++)
    {
      char *line = lines[i];
      gsize ll = strlen (line);
      if (ll && line[ll - 1] == '\r')
        line[ll - 1] = '\0';
      if (i == 0)
        {
          if (!g_str_equal (line, METRICS_HEADER))
            {
              g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                           "%s:1: the header is not “" METRICS_HEADER "”", what);
              return NULL;
            }
          continue;
        }
      if (i > METRICS_MAX_ROWS)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s:%u: more than %d epochs",
                       what, i + 1, METRICS_MAX_ROWS);
          return NULL;
        }
      if (i == n - 1 && !final_newline)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s:%u: the last row has no line end (a truncated file)", what, i + 1);
          return NULL;
        }
      GraftEpochMetrics r;
      if (!parse_row (line, (int) i, &r, what, i + 1, error))
        return NULL;
      g_array_append_val (rows, r);
    }
  return g_steal_pointer (&rows);
}

void
graft_metrics_best (const GArray *metrics, double *best_val_acc, int *best_epoch)
{
  double best = NAN;
  int epoch = 0;
  for (guint i = 0; metrics && i < metrics->len; i++)
    {
      const GraftEpochMetrics *m = &g_array_index (metrics, GraftEpochMetrics, i);
      if (isfinite (m->val_acc) && (isnan (best) || m->val_acc > best))
        {
          best = m->val_acc;
          epoch = m->epoch;
        }
    }
  if (best_val_acc)
    *best_val_acc = best;
  if (best_epoch)
    *best_epoch = epoch;
}

int
graft_metrics_since_best (const GArray *metrics)
{
  int best_epoch;
  graft_metrics_best (metrics, NULL, &best_epoch);
  return metrics && metrics->len && best_epoch > 0 ? (int) metrics->len - best_epoch : 0;
}

gboolean
graft_metrics_done (const GArray *metrics, int epochs, int patience)
{
  int n = metrics ? (int) metrics->len : 0;
  if (n >= epochs)
    return TRUE;
  return patience > 0 && n > 0 && graft_metrics_since_best (metrics) >= patience;
}

/* The first epoch count at which a run with these rows stops under @epochs/@patience
 * (n + 1 when it would go on). */
static int
stop_point (const GArray *metrics, int epochs, int patience)
{
  g_autoptr (GArray) prefix = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
  for (guint i = 0; i < metrics->len; i++)
    {
      if (graft_metrics_done (prefix, epochs, patience))
        return (int) i;
      g_array_append_val (prefix, g_array_index (metrics, GraftEpochMetrics, i));
    }
  return graft_metrics_done (prefix, epochs, patience) ? (int) metrics->len
                                                      : (int) metrics->len + 1;
}

const char *
graft_run_state_to_string (GraftRunState s)
{
  switch (s)
    {
    case GRAFT_RUN_STATE_PENDING: return "pending";
    case GRAFT_RUN_STATE_RUNNING: return "running";
    case GRAFT_RUN_STATE_STOPPED: return "stopped";
    case GRAFT_RUN_STATE_FINISHED: return "finished";
    case GRAFT_RUN_STATE_FAILED: return "failed";
    case GRAFT_RUN_STATE_BLOCKED: return "blocked";
    case GRAFT_RUN_STATE_OUTDATED: return "outdated";
    }
  return "unknown";
}

void
graft_csv_append_field (GString *out, const char *field)
{
  if (field == NULL)
    field = "";
  if (strpbrk (field, ",\"\r\n") == NULL)
    {
      g_string_append (out, field);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = field; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* ---- Fault injection (tests only; see the header) ---- */

typedef enum { FAULT_NONE, FAULT_ENOSPC } Fault;

static int fault_epoch;     /* the epoch being committed, 0 outside commits */
static int fault_count;     /* points passed in this commit */

static char *fault_enospc_override;

void
graft_run_set_fault_enospc (const char *spec)
{
  g_free (fault_enospc_override);
  fault_enospc_override = g_strdup (spec);
}

static gboolean
fault_spec (const char *var, int *epoch, int *point)
{
  const char *v = g_str_equal (var, "GRAFT_FAULT_ENOSPC") && fault_enospc_override
                    ? fault_enospc_override
                    : g_getenv (var);
  return v && sscanf (v, "%d:%d", epoch, point) == 2;
}

/* Called before and after every file operation of a commit. */
static Fault
fault_point (const char *what, const char *file)
{
  if (fault_epoch == 0)
    return FAULT_NONE;
  fault_count++;
  if (g_getenv ("GRAFT_FAULT_TRACE"))
    g_printerr ("graft-fault: epoch %d point %d: %s %s\n", fault_epoch, fault_count, what, file);
  int e, k;
  if (fault_spec ("GRAFT_FAULT_KILL", &e, &k) && e == fault_epoch && k == fault_count)
    kill (getpid (), SIGKILL);
  if (fault_spec ("GRAFT_FAULT_ENOSPC", &e, &k) && e == fault_epoch && k == fault_count)
    return FAULT_ENOSPC;
  return FAULT_NONE;
}

void
graft_run_fault_batch (int epoch, guint batch)
{
  int e, b;
  if (fault_spec ("GRAFT_FAULT_KILL_BATCH", &e, &b) && e == epoch && b == (int) batch)
    kill (getpid (), SIGKILL);
}

static gboolean
fail_enospc (const char *path, GError **error)
{
  /* What a full disk leaves: a partial temp file next to the target. */
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-FULL00", path);
  g_file_set_contents (tmp, "partial", 7, NULL);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path,
               g_strerror (ENOSPC));
  return FALSE;
}

/* ---- Files ---- */

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      /* Some file systems cannot sync folders; the renames stay atomic there. */
      if (e == EINVAL || e == ENOTSUP)
        return TRUE;
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot sync the folder %s: %s", dir,
                   g_strerror (e));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Temp file, write, fsync, rename; with fault points before the write and after the rename. */
static gboolean
write_atomic (const char *path, const char *data, gsize len, gboolean sync_dir, GError **error)
{
  if (fault_point ("write", path) == FAULT_ENOSPC)
    return fail_enospc (path, error);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  int e = 0;
  if (fd < 0)
    e = errno;
  else
    {
      gsize done = 0;
      while (done < len && e == 0)
        {
          ssize_t w = write (fd, data + done, len - done);
          if (w < 0 && errno != EINTR)
            e = errno;
          else if (w > 0)
            done += (gsize) w;
        }
      if (e == 0 && fsync (fd) != 0)
        e = errno;
      if (close (fd) != 0 && e == 0)
        e = errno;
      if (e == 0 && fault_point ("rename", path) == FAULT_ENOSPC)
        e = ENOSPC;
      if (e == 0 && g_rename (tmp, path) != 0)
        e = errno;
      if (e != 0)
        g_unlink (tmp);
    }
  if (e != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  if (sync_dir)
    {
      g_autofree char *dir = g_path_get_dirname (path);
      if (!fsync_dir (dir, error))
        return FALSE;
    }
  fault_point ("wrote", path);
  return TRUE;
}

static gboolean
write_json_file (const char *path, JsonNode *node, gboolean sync_dir, GError **error)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  return write_atomic (path, text, len, sync_dir, error);
}

/* Reads a JSON object file of a run; FALSE with *@root NULL and no error when absent. */
static gboolean
read_json_object (const char *path, JsonObject **root, GError **error)
{
  *root = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) rerr = NULL;
  GStatBuf st;
  if (g_stat (path, &st) == 0 && st.st_size > GRAFT_JSON_MAX_BYTES)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: larger than a run file can be",
                   path);
      return FALSE;
    }
  if (!g_file_get_contents (path, &text, &len, &rerr))
    {
      if (g_error_matches (rerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot read %s: %s", path, rerr->message);
      return FALSE;
    }
  if (len == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: the file is empty", path);
      return FALSE;
    }
  /* Bounded: sizes and nesting are checked before json-glib sees the text. */
  g_autoptr (JsonNode) r = graft_json_parse (text, (gssize) len, path, error);
  if (r == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (r))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: the top level must be an object",
                   path);
      return FALSE;
    }
  *root = json_object_ref (json_node_get_object (r));
  return TRUE;
}

static gboolean
bad_key (GError **error, const char *path, const char *key, const char *expect)
{
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: “%s” must be %s", path, key, expect);
  return FALSE;
}

static gboolean
get_int (JsonObject *o, const char *key, gint64 lo, gint64 hi, gint64 *out, const char *path,
         GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < lo || json_node_get_int (n) > hi)
    {
      g_autofree char *expect = g_strdup_printf ("an integer from %" G_GINT64_FORMAT " to %"
                                                 G_GINT64_FORMAT, lo, hi);
      return bad_key (error, path, key, expect);
    }
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_string (JsonObject *o, const char *key, gboolean required, const char **out,
            const char *path, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL && !required)
    {
      *out = NULL;
      return TRUE;
    }
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return bad_key (error, path, key, "a string");
  *out = json_node_get_string (n);
  return TRUE;
}

static char *
file_sha256 (const char *path, guint64 *size, GError **error)
{
  g_autoptr (GError) merr = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &merr);
  if (mf == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot read %s: %s", path, merr->message);
      return NULL;
    }
  gsize len = g_mapped_file_get_length (mf);
  char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                           (const guchar *) g_mapped_file_get_contents (mf), len);
  g_mapped_file_unref (mf);
  if (size)
    *size = len;
  return sum;
}

/* ---- The run ---- */

typedef struct {
  char   *path;        /* absolute */
  char   *name;        /* relative to the run folder, as the manifest names it */
  guint64 size;
  char   *sha256;
} CommittedFile;

static void
committed_file_clear (CommittedFile *f)
{
  g_clear_pointer (&f->path, g_free);
  g_clear_pointer (&f->name, g_free);
  g_clear_pointer (&f->sha256, g_free);
}

struct _GraftRun {
  char         *dir;
  JsonObject   *config;        /* config.json, NULL when absent */
  gboolean      legacy;
  GraftRunState state;
  char         *device, *error;
  /* committed state */
  int           epochs_done;
  gint64        step;
  int           best_epoch;
  double        best_val_acc;
  double        started;       /* wall clock of the first commit's run, seconds */
  GArray       *metrics;
  char         *metrics_text;  /* as committed */
  CommittedFile weights, optimizer, best;
  FILE         *log;
  int           lock_fd;       /* writers: an exclusive flock on <dir>/lock, else −1 */
};

static char *
run_path (GraftRun *run, const char *name)
{
  return g_build_filename (run->dir, name, NULL);
}

void
graft_run_free (GraftRun *run)
{
  if (run == NULL)
    return;
  if (run->log)
    fclose (run->log);
  if (run->lock_fd >= 0)
    close (run->lock_fd);   /* releases the lock */
  g_free (run->dir);
  g_clear_pointer (&run->config, json_object_unref);
  g_free (run->device);
  g_free (run->error);
  g_clear_pointer (&run->metrics, g_array_unref);
  g_free (run->metrics_text);
  committed_file_clear (&run->weights);
  committed_file_clear (&run->optimizer);
  committed_file_clear (&run->best);
  g_free (run);
}

static gboolean
read_committed_file (GraftRun *run, JsonObject *m, const char *key, CommittedFile *f,
                     const char *path, GError **error)
{
  JsonNode *n = json_object_get_member (m, key);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return bad_key (error, path, key, "an object with file, size and sha256");
  JsonObject *o = json_node_get_object (n);
  const char *name, *sum;
  gint64 size;
  if (!get_string (o, "file", TRUE, &name, path, error) ||
      !get_string (o, "sha256", TRUE, &sum, path, error) ||
      !get_int (o, "size", 0, G_MAXINT64, &size, path, error))
    return FALSE;
  /* Only files of this folder's checkpoints/, never a path elsewhere. */
  if (!g_str_has_prefix (name, GRAFT_RUN_CHECKPOINT_DIR "/") || strstr (name, "..") ||
      strchr (name + strlen (GRAFT_RUN_CHECKPOINT_DIR "/"), '/') || strlen (sum) != 64)
    return bad_key (error, path, key, "a file under checkpoints/ with its SHA-256");
  f->name = g_strdup (name);
  f->path = run_path (run, name);
  f->size = (guint64) size;
  f->sha256 = g_strdup (sum);
  return TRUE;
}

/* The line number of the first line where @a and @b differ (1-based). */
static guint
first_differing_line (const char *a, const char *b)
{
  guint ln = 1;
  for (; *a && *a == *b; a++, b++)
    if (*a == '\n')
      ln++;
  return ln;
}

/* Validates metrics.csv against the committed text. */
static gboolean
check_metrics_file (GraftRun *run, const char *commit_path, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_METRICS_FILE);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL))
    return TRUE;   /* not published yet: the manifest has the rows */
  if (len == strlen (run->metrics_text) && memcmp (text, run->metrics_text, len) == 0)
    return TRUE;
  /* A crash between the commit and publishing leaves the previous epoch's file, older than
   * the manifest. */
  const char *last_row = run->metrics_text + strlen (run->metrics_text) - 1;
  while (last_row > run->metrics_text && last_row[-1] != '\n')
    last_row--;
  GStatBuf ms, cs;
  if (len == (gsize) (last_row - run->metrics_text) &&
      memcmp (text, run->metrics_text, len) == 0 && g_stat (path, &ms) == 0 &&
      g_stat (commit_path, &cs) == 0 &&
      (ms.st_mtim.tv_sec < cs.st_mtim.tv_sec ||
       (ms.st_mtim.tv_sec == cs.st_mtim.tv_sec && ms.st_mtim.tv_nsec <= cs.st_mtim.tv_nsec)))
    return TRUE;
  g_autoptr (GError) perr = NULL;
  g_autoptr (GArray) rows = graft_metrics_parse (text, len, path, &perr);
  if (rows == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&perr));
      return FALSE;
    }
  if ((int) rows->len > run->epochs_done)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                 "%s:%d: epoch %d was never committed (%s records %d epoch%s)", path,
                 run->epochs_done + 2, run->epochs_done + 1, commit_path, run->epochs_done,
                 run->epochs_done == 1 ? "" : "s");
  else if ((int) rows->len < run->epochs_done)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                 "%s:%u: the file ends after epoch %u but %s records %d epochs", path,
                 rows->len + 2, rows->len, commit_path, run->epochs_done);
  else
    {
      guint ln = first_differing_line (text, run->metrics_text);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s:%u: differs from what training recorded for epoch %u (edited after "
                   "training?)", path, ln, ln - 1);
    }
  return FALSE;
}

static gboolean
load_commit (GraftRun *run, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_COMMIT_FILE);
  g_autoptr (JsonObject) m = NULL;
  if (!read_json_object (path, &m, error))
    return FALSE;
  if (m == NULL)
    {
      /* Nothing committed. Trained epochs without a manifest are damage, or an older Graft. */
      g_autofree char *metrics = run_path (run, GRAFT_RUN_METRICS_FILE);
      g_autofree char *last = run_path (run, GRAFT_RUN_LAST_FILE);
      gboolean trained = g_file_test (metrics, G_FILE_TEST_EXISTS) ||
                         g_file_test (last, G_FILE_TEST_EXISTS);
      if (trained && !run->legacy)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s is missing, but the folder holds trained epochs: the run folder is "
                       "damaged; move it aside to train the run again", path);
          return FALSE;
        }
      return TRUE;
    }
  if (run->legacy)
    return TRUE;   /* an older Graft's folder: nothing in it is trusted */
  gint64 format, epoch, step, best_epoch;
  const char *text;
  if (!get_int (m, "format", GRAFT_RUN_FORMAT, GRAFT_RUN_FORMAT, &format, path, error) ||
      !get_int (m, "epoch", 1, METRICS_MAX_ROWS, &epoch, path, error) ||
      !get_int (m, "step", 0, G_MAXINT64, &step, path, error) ||
      !get_int (m, "best_epoch", 1, epoch, &best_epoch, path, error) ||
      !get_string (m, "metrics", TRUE, &text, path, error) ||
      !read_committed_file (run, m, "weights", &run->weights, path, error) ||
      !read_committed_file (run, m, "optimizer", &run->optimizer, path, error) ||
      !read_committed_file (run, m, "best", &run->best, path, error))
    return FALSE;
  g_autofree char *what = g_strdup_printf ("%s (metrics)", path);
  g_autoptr (GArray) rows = graft_metrics_parse (text, strlen (text), what, error);
  if (rows == NULL)
    return FALSE;
  if ((gint64) rows->len != epoch)
    return bad_key (error, path, "metrics", "the rows of every committed epoch");
  int be;
  graft_metrics_best (rows, &run->best_val_acc, &be);
  if (be != best_epoch)
    return bad_key (error, path, "best_epoch", "the epoch with the best val_acc");
  JsonNode *started = json_object_get_member (m, "started");
  if (started == NULL || !JSON_NODE_HOLDS_VALUE (started) ||
      (json_node_get_value_type (started) != G_TYPE_DOUBLE &&
       json_node_get_value_type (started) != G_TYPE_INT64) ||
      !(json_node_get_double (started) >= 0))
    return bad_key (error, path, "started", "the run's start time in seconds");
  run->started = json_node_get_double (started);
  run->epochs_done = (int) epoch;
  run->step = step;
  run->best_epoch = (int) best_epoch;
  run->metrics_text = g_strdup (text);
  g_clear_pointer (&run->metrics, g_array_unref);
  run->metrics = g_steal_pointer (&rows);
  /* The files it names exist with their sizes (their hashes are checked before a resume). */
  const CommittedFile *files[] = { &run->weights, &run->optimizer, &run->best };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      GStatBuf st;
      if (g_stat (files[i]->path, &st) != 0 || (guint64) st.st_size != files[i]->size)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s, which %s names, %s: the run folder is damaged; move it aside to "
                       "train the run again", files[i]->path, path,
                       g_file_test (files[i]->path, G_FILE_TEST_EXISTS)
                         ? "does not match what was committed (other size)"
                         : "is missing");
          return FALSE;
        }
    }
  return check_metrics_file (run, path, error);
}

static gboolean
load_status (GraftRun *run, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_STATUS_FILE);
  g_autoptr (JsonObject) o = NULL;
  if (!read_json_object (path, &o, error))
    return FALSE;
  run->state = GRAFT_RUN_STATE_PENDING;
  if (o == NULL)
    return TRUE;
  const char *status, *device = NULL, *err = NULL;
  if (!get_string (o, "status", TRUE, &status, path, error) ||
      !get_string (o, "device", FALSE, &device, path, error) ||
      !get_string (o, "error", FALSE, &err, path, error))
    return FALSE;
  if (g_str_equal (status, "running"))
    run->state = GRAFT_RUN_STATE_RUNNING;
  else if (g_str_equal (status, "finished"))
    run->state = GRAFT_RUN_STATE_FINISHED;
  else if (g_str_equal (status, "failed"))
    run->state = GRAFT_RUN_STATE_FAILED;
  else if (g_str_equal (status, "stopped"))
    run->state = GRAFT_RUN_STATE_STOPPED;
  else
    return bad_key (error, path, "status", "running, finished, failed or stopped");
  run->device = device && *device ? g_strdup (device) : NULL;
  run->error = err && *err ? g_strdup (err) : NULL;
  return TRUE;
}

GraftRun *
graft_run_load (const char *dir, GError **error)
{
  g_autoptr (GraftRun) run = g_new0 (GraftRun, 1);
  run->lock_fd = -1;
  run->dir = g_strdup (dir);
  run->best_val_acc = NAN;
  run->metrics = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
  g_autofree char *cpath = run_path (run, GRAFT_RUN_CONFIG_FILE);
  if (!read_json_object (cpath, &run->config, error))
    return NULL;
  if (run->config)
    {
      JsonNode *f = json_object_get_member (run->config, "format");
      run->legacy = f == NULL || !JSON_NODE_HOLDS_VALUE (f) ||
                    json_node_get_value_type (f) != G_TYPE_INT64 || json_node_get_int (f) < 2;
      if (!run->legacy && json_node_get_int (f) != GRAFT_RUN_FORMAT)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s: run folder format %" G_GINT64_FORMAT " is newer than this Graft "
                       "reads (%d)", cpath, json_node_get_int (f), GRAFT_RUN_FORMAT);
          return NULL;
        }
    }
  else
    {
      /* metrics without any config: an older Graft wrote config.json too, so this is damage */
      g_autofree char *metrics = run_path (run, GRAFT_RUN_METRICS_FILE);
      g_autofree char *commit = run_path (run, GRAFT_RUN_COMMIT_FILE);
      if (g_file_test (metrics, G_FILE_TEST_EXISTS) || g_file_test (commit, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s is missing, but the folder holds trained epochs: the run folder is "
                       "damaged; move it aside to train the run again", cpath);
          return NULL;
        }
    }
  if (!load_commit (run, error) || !load_status (run, error))
    return NULL;
  if (run->legacy)
    run->state = GRAFT_RUN_STATE_PENDING;
  if (run->state == GRAFT_RUN_STATE_FINISHED && run->epochs_done == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s/%s says finished, but no epoch is committed: move the run folder aside "
                   "to train it again", dir, GRAFT_RUN_STATUS_FILE);
      return NULL;
    }
  return g_steal_pointer (&run);
}

const char *graft_run_get_dir (GraftRun *run) { return run->dir; }
GraftRunState graft_run_get_state (GraftRun *run) { return run->state; }
int graft_run_epochs_done (GraftRun *run) { return run->epochs_done; }
const GArray *graft_run_metrics (GraftRun *run) { return run->metrics; }
double graft_run_best_val_acc (GraftRun *run) { return run->best_val_acc; }
int graft_run_best_epoch (GraftRun *run) { return run->best_epoch; }
gint64 graft_run_step (GraftRun *run) { return run->step; }
const char *graft_run_device (GraftRun *run) { return run->device; }
const char *graft_run_error (GraftRun *run) { return run->error; }
gboolean graft_run_is_legacy (GraftRun *run) { return run->legacy; }
const char *graft_run_last_weights (GraftRun *run) { return run->weights.path; }
const char *graft_run_last_optimizer (GraftRun *run) { return run->optimizer.path; }
const char *graft_run_best_weights (GraftRun *run) { return run->best.path; }

int
graft_run_epochs_planned (GraftRun *run)
{
  if (run->config == NULL || run->legacy)
    return 0;
  JsonNode *n = json_object_get_member (run->config, "epochs");
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
           ? (int) CLAMP (json_node_get_int (n), 0, G_MAXINT)
           : 0;
}

double
graft_run_train_seconds (GraftRun *run)
{
  double s = 0;
  for (guint i = 0; i < run->metrics->len; i++)
    s += g_array_index (run->metrics, GraftEpochMetrics, i).seconds;
  return s;
}

static gboolean
verify_file (const CommittedFile *f, GError **error)
{
  GStatBuf st;
  if (g_stat (f->path, &st) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s, which the last committed epoch needs, is missing: move the run folder "
                   "aside to train it again", f->path);
      return FALSE;
    }
  guint64 size = 0;
  g_autofree char *sum = (guint64) st.st_size == f->size ? file_sha256 (f->path, &size, error)
                                                          : NULL;
  if ((guint64) st.st_size == f->size && sum == NULL)
    return FALSE;
  if (sum == NULL || !g_str_equal (sum, f->sha256))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s does not match what was committed (%s): the file was changed or "
                   "damaged; move the run folder aside to train it again", f->path,
                   sum ? "other contents" : "other size");
      return FALSE;
    }
  return TRUE;
}

gboolean
graft_run_verify_files (GraftRun *run, GError **error)
{
  if (run->epochs_done == 0)
    return TRUE;
  return verify_file (&run->weights, error) && verify_file (&run->optimizer, error) &&
         verify_file (&run->best, error);
}

/* ---- Identity ---- */

static char *
digest_of (const char *path)
{
  /* Checkpoints are hashed once per process and (size, mtime, inode). */
  static GMutex lock;
  static GHashTable *memo;
  GStatBuf st;
  if (path == NULL || g_stat (path, &st) != 0)
    return NULL;
  g_autofree char *key = g_strdup_printf ("%s\n%" G_GINT64_FORMAT "\n%ld.%ld\n%lu", path,
                                          (gint64) st.st_size, (long) st.st_mtim.tv_sec,
                                          st.st_mtim.tv_nsec, (unsigned long) st.st_ino);
  g_mutex_lock (&lock);
  if (memo == NULL)
    memo = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  char *hit = g_strdup (g_hash_table_lookup (memo, key));
  g_mutex_unlock (&lock);
  if (hit)
    return hit;
  char *sum = file_sha256 (path, NULL, NULL);
  if (sum)
    {
      g_mutex_lock (&lock);
      g_hash_table_replace (memo, g_strdup (key), g_strdup (sum));
      g_mutex_unlock (&lock);
    }
  return sum;
}

/* The modification times of @dir and its immediate sub-folders: a file added, removed or
 * renamed in a class folder changes its folder's. */
static char *
folder_times (const char *dir)
{
  GString *key = g_string_new (dir);
  GStatBuf st;
  if (g_stat (dir, &st) == 0)
    g_string_append_printf (key, "\n%ld.%ld", (long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_stat (p, &st) == 0 && S_ISDIR (st.st_mode))
        g_string_append_printf (key, "\n%s %ld.%ld", name, (long) st.st_mtim.tv_sec,
                                st.st_mtim.tv_nsec);
    }
  return g_string_free (key, FALSE);
}

typedef struct {
  char  *sig;
  guint  n;
  gint64 at;
} SignatureMemo;

static void
signature_memo_free (gpointer p)
{
  SignatureMemo *m = p;
  g_free (m->sig);
  g_free (m);
}

/* The data folder's signature, remembered for two seconds while its folders' times stay the
 * same: a study's status asks for the same folders once per run, and walking a large folder
 * takes a noticeable fraction of a second. */
static char *
data_signature (const char *dir, guint *n_files)
{
  static GMutex lock;
  static GHashTable *memo;
  g_autofree char *key = folder_times (dir);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&lock);
  if (memo == NULL)
    memo = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, signature_memo_free);
  SignatureMemo *m = g_hash_table_lookup (memo, key);
  if (m && now - m->at < 2 * G_USEC_PER_SEC)
    {
      char *sig = g_strdup (m->sig);
      *n_files = m->n;
      g_mutex_unlock (&lock);
      return sig;
    }
  g_mutex_unlock (&lock);
  char *sig = graft_dataset_signature (dir, n_files);
  if (sig == NULL)
    return NULL;
  SignatureMemo *fresh = g_new0 (SignatureMemo, 1);
  fresh->sig = g_strdup (sig);
  fresh->n = *n_files;
  fresh->at = now;
  g_mutex_lock (&lock);
  if (g_hash_table_size (memo) > 64)
    g_hash_table_remove_all (memo);
  g_hash_table_replace (memo, g_steal_pointer (&key), fresh);
  g_mutex_unlock (&lock);
  return sig;
}

static void
add_strv (JsonBuilder *b, const char *key, char **v)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; v && v[i]; i++)
    json_builder_add_string_value (b, v[i]);
  json_builder_end_array (b);
}

JsonNode *
graft_run_identity_new (const GraftTrainConfig *c)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define S(k, v) json_builder_set_member_name (b, k); json_builder_add_string_value (b, v)
#define I(k, v) json_builder_set_member_name (b, k); json_builder_add_int_value (b, v)
#define D(k, v) json_builder_set_member_name (b, k); json_builder_add_double_value (b, v)
  I ("format", GRAFT_RUN_FORMAT);
  guint n_files = 0;
  g_autofree char *sig = c->data_dir ? data_signature (c->data_dir, &n_files) : NULL;
  S ("data_dir", c->data_dir ? c->data_dir : "");
  S ("data_signature", sig ? sig : "");
  I ("data_files", n_files);
  I ("epochs", c->epochs);
  I ("batch", c->batch);
  D ("lr", c->lr);
  I ("image_size", c->image_size);
  I ("seed", c->seed);
  D ("width", c->width);
  D ("dropout", c->dropout);
  D ("bn_momentum", c->bn_momentum);
  D ("val_fraction", c->val_fraction);
  S ("split", graft_split_mode_to_string (c->split));
  S ("filter", graft_filter_to_string (c->filter));
  I ("patience", c->patience);
  json_builder_set_member_name (b, "augment");
  json_builder_add_boolean_value (b, c->augment);
  g_autofree char *init_sum = digest_of (c->init_checkpoint);
  S ("init_checkpoint", c->init_checkpoint ? c->init_checkpoint : "");
  S ("init_sha256", c->init_checkpoint ? (init_sum ? init_sum : "missing") : "");
  add_strv (b, "reinit_layers", c->reinit_layers);
  add_strv (b, "freeze_layers", c->freeze_layers);
  const GraftArch *arch = graft_arch_find (c->architecture, NULL);
  S ("architecture", arch ? arch->name : c->architecture);
#undef S
#undef I
#undef D
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static char *
node_text (JsonNode *n)
{
  if (n == NULL)
    return g_strdup ("(unset)");
  g_autoptr (JsonGenerator) g = json_generator_new ();
  json_generator_set_root (g, n);
  return json_generator_to_data (g, NULL);
}

/* Informational keys: where the data and the checkpoint are may change (a moved study). */
static gboolean
compared_key (const char *key)
{
  return !g_str_equal (key, "data_dir") && !g_str_equal (key, "init_checkpoint") &&
         !g_str_equal (key, "data_files") && !g_str_equal (key, "epochs") &&
         !g_str_equal (key, "patience");
}

static gint64
int_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
           ? json_node_get_int (n)
           : 0;
}

/* The differences as "key old → new; …"; @now is compared with @stored. */
static char *
identity_diff (GraftRun *run, JsonObject *stored, JsonObject *now)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GList) keys = json_object_get_members (now);
  for (GList *k = keys; k; k = k->next)
    {
      const char *key = k->data;
      if (!compared_key (key))
        continue;
      JsonNode *a = json_object_get_member (now, key);
      JsonNode *b = json_object_get_member (stored, key);
      if (b && json_node_equal (a, b))
        continue;
      /* Folders from before architectures were recorded hold the default one. */
      if (b == NULL && g_str_equal (key, "architecture") &&
          g_strcmp0 (json_node_get_string (a), GRAFT_ARCH_DEFAULT) == 0)
        continue;
      if (g_str_equal (key, "data_signature"))
        {
          /* A folder that cannot be read now is reported when training, not as a change. */
          if (g_str_equal (json_node_get_string (a), ""))
            continue;
          g_string_append_printf (out, "%sthe files in %s changed (%" G_GINT64_FORMAT
                                  " then, %" G_GINT64_FORMAT " now)", out->len ? "; " : "",
                                  json_object_get_string_member_with_default (now, "data_dir", ""),
                                  int_member (stored, "data_files"), int_member (now, "data_files"));
          continue;
        }
      if (g_str_equal (key, "init_sha256"))
        {
          g_string_append_printf (out, "%sthe weights it starts from (%s) changed",
                                  out->len ? "; " : "",
                                  json_object_get_string_member_with_default (now, "init_checkpoint", ""));
          continue;
        }
      g_autofree char *as = node_text (b);
      g_autofree char *bs = node_text (a);
      g_string_append_printf (out, "%s%s %s → %s", out->len ? "; " : "", key, as, bs);
    }
  /* Length settings: more epochs or patience extend a run; fewer undo epochs it has. */
  int epochs = (int) int_member (now, "epochs"), patience = (int) int_member (now, "patience");
  if (run->epochs_done > 0 && stop_point (run->metrics, epochs, patience) < run->epochs_done)
    {
      gint64 old_e = int_member (stored, "epochs"), old_p = int_member (stored, "patience");
      if (old_e != epochs)
        g_string_append_printf (out, "%sepochs %" G_GINT64_FORMAT " → %d (%d trained)",
                                out->len ? "; " : "", old_e, epochs, run->epochs_done);
      if (old_p != patience)
        g_string_append_printf (out, "%spatience %" G_GINT64_FORMAT " → %d (%d trained)",
                                out->len ? "; " : "", old_p, patience, run->epochs_done);
    }
  return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

char *
graft_run_outdated_reason (GraftRun *run, JsonNode *now)
{
  if (run->legacy)
    return g_strdup ("it was trained by an older Graft (run folder format 1)");
  if (run->config == NULL || run->epochs_done == 0)
    return NULL;
  return identity_diff (run, run->config, json_node_get_object (now));
}

/* ---- Writing ---- */

static char *
checkpoint_name (int epoch, const char *suffix)
{
  return g_strdup_printf (GRAFT_RUN_CHECKPOINT_DIR "/epoch-%04d%s", epoch, suffix);
}

/* Makes @stable name the same file as @target: a hard link renamed into place, or a copy. */
static gboolean
publish_link (GraftRun *run, const CommittedFile *target, const char *stable, GError **error)
{
  g_autofree char *path = run_path (run, stable);
  GStatBuf a, b;
  if (g_stat (path, &a) == 0 && g_stat (target->path, &b) == 0 && a.st_ino == b.st_ino &&
      a.st_dev == b.st_dev)
    return TRUE;
  if (fault_point ("link", path) == FAULT_ENOSPC)
    return fail_enospc (path, error);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-link", path);
  g_unlink (tmp);
  if (link (target->path, tmp) == 0)
    {
      if (g_rename (tmp, path) != 0)
        {
          int e = errno;
          g_unlink (tmp);
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path,
                       g_strerror (e));
          return FALSE;
        }
    }
  else
    {
      /* File systems without hard links get a copy. */
      g_autofree char *data = NULL;
      gsize len;
      g_autoptr (GError) rerr = NULL;
      if (!g_file_get_contents (target->path, &data, &len, &rerr))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot read %s: %s", target->path,
                       rerr->message);
          return FALSE;
        }
      if (!write_atomic (path, data, len, FALSE, error))
        return FALSE;
    }
  fault_point ("linked", path);
  return TRUE;
}

/* Publishes metrics.csv and the stable checkpoint names from the committed state. */
static gboolean
publish (GraftRun *run, GError **error)
{
  if (run->epochs_done == 0)
    return TRUE;
  g_autofree char *mpath = run_path (run, GRAFT_RUN_METRICS_FILE);
  g_autofree char *cur = NULL;
  gsize len = 0;
  if (!g_file_get_contents (mpath, &cur, &len, NULL) || len != strlen (run->metrics_text) ||
      memcmp (cur, run->metrics_text, len) != 0)
    if (!write_atomic (mpath, run->metrics_text, strlen (run->metrics_text), FALSE, error))
      return FALSE;
  /* TensorBoard's log, written whole from the committed rows: no step twice after a resume. */
  g_autoptr (GBytes) events = graft_tfevents_encode (run->started, run->metrics);
  g_autofree char *ename = graft_tfevents_name (run->started);
  g_autofree char *epath = run_path (run, ename);
  g_autoptr (GBytes) old = NULL;
  g_autofree char *otext = NULL;
  gsize olen = 0;
  if (g_file_get_contents (epath, &otext, &olen, NULL))
    old = g_bytes_new_take (g_steal_pointer (&otext), olen);
  if (old == NULL || !g_bytes_equal (old, events))
    {
      gsize elen;
      const char *edata = g_bytes_get_data (events, &elen);
      if (!write_atomic (epath, edata, elen, FALSE, error))
        return FALSE;
    }
  return publish_link (run, &run->weights, GRAFT_RUN_LAST_FILE, error) &&
         publish_link (run, &run->optimizer, GRAFT_RUN_LAST_OPT_FILE, error) &&
         publish_link (run, &run->best, GRAFT_RUN_BEST_FILE, error);
}

/* Removes what no manifest names: checkpoints of other epochs and temp files. */
static void
clean_leftovers (GraftRun *run)
{
  fault_point ("clean", run->dir);
  g_autofree char *cdir = run_path (run, GRAFT_RUN_CHECKPOINT_DIR);
  g_autoptr (GDir) d = g_dir_open (cdir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *rel = g_build_filename (GRAFT_RUN_CHECKPOINT_DIR, name, NULL);
      if (g_strcmp0 (rel, run->weights.name) == 0 || g_strcmp0 (rel, run->optimizer.name) == 0 ||
          g_strcmp0 (rel, run->best.name) == 0)
        continue;
      if (g_str_has_prefix (name, "epoch-"))
        {
          g_autofree char *p = g_build_filename (cdir, name, NULL);
          g_unlink (p);
        }
    }
  g_autoptr (GDir) top = g_dir_open (run->dir, 0, NULL);
  while (top && (name = g_dir_read_name (top)) != NULL)
    if (strstr (name, ".tmp-"))
      {
        g_autofree char *p = g_build_filename (run->dir, name, NULL);
        g_unlink (p);
      }
  fault_point ("cleaned", run->dir);
}

gboolean
graft_run_move (const char *from, const char *to, GError **error)
{
  /* The lock is held across the rename: no trainer starts in the folder meanwhile. */
  g_autofree char *lock = g_build_filename (from, GRAFT_RUN_LOCK_FILE, NULL);
  int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int e = errno;
      close (fd);
      if (e == EWOULDBLOCK)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                     "The run in %s is being trained by another process, so it cannot move to "
                     "%s; stop it first", from, to);
      else
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot lock the run folder %s: %s",
                     from, g_strerror (e));
      return FALSE;
    }
  gboolean ok = g_rename (from, to) == 0;
  int e = errno;
  if (fd >= 0)
    close (fd);
  if (!ok)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot move the run folder %s to %s: %s",
                 from, to, g_strerror (e));
  return ok;
}

GraftRun *
graft_run_begin (const char *dir, JsonNode *identity, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create the run folder %s: %s",
                   dir, g_strerror (errno));
      return NULL;
    }
  /* One writer per run folder: a second trainer (another window, a cluster task) is told. */
  g_autofree char *lock = g_build_filename (dir, GRAFT_RUN_LOCK_FILE, NULL);
  int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      if (e == EWOULDBLOCK)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                     "The run in %s is being trained by another process", dir);
      else
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot lock the run folder %s: %s",
                     dir, g_strerror (e));
      return NULL;
    }
  g_autoptr (GraftRun) run = graft_run_load (dir, error);
  if (run == NULL)
    {
      close (fd);
      return NULL;
    }
  run->lock_fd = fd;
  g_autofree char *cpath = run_path (run, GRAFT_RUN_CONFIG_FILE);
  if (run->legacy)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "The run in %s was trained by an older Graft and cannot be resumed: use "
                   "another output folder, or move this one aside", dir);
      return NULL;
    }
  if (run->config)
    {
      g_autofree char *diff = identity_diff (run, run->config, json_node_get_object (identity));
      /* Before any epoch, the settings stored are simply replaced. */
      if (diff && run->epochs_done > 0)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "The run in %s was trained with other settings (%s): use another output "
                       "folder for different settings", dir, diff);
          return NULL;
        }
    }
  if (!graft_run_verify_files (run, error))
    return NULL;
  /* A crash after a commit may have left its publishing undone. */
  if (!publish (run, error))
    return NULL;
  clean_leftovers (run);
  g_autofree char *ckdir = run_path (run, GRAFT_RUN_CHECKPOINT_DIR);
  if (g_mkdir_with_parents (ckdir, 0755) != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create %s: %s", ckdir,
                   g_strerror (errno));
      return NULL;
    }
  if (!write_json_file (cpath, identity, TRUE, error))
    return NULL;
  g_clear_pointer (&run->config, json_object_unref);
  run->config = json_object_ref (json_node_get_object (identity));
  g_clear_pointer (&run->error, g_free);
  if (!graft_run_set_status (run, GRAFT_RUN_STATE_RUNNING, NULL, NULL, error))
    return NULL;
  return g_steal_pointer (&run);
}

static gboolean
write_checkpoint (GraftRun *run, int epoch, const char *suffix, GraftRunWriteFunc write,
                  gpointer user_data, CommittedFile *out, GError **error)
{
  out->name = checkpoint_name (epoch, suffix);
  out->path = run_path (run, out->name);
  if (fault_point ("write", out->path) == FAULT_ENOSPC)
    return fail_enospc (out->path, error);
  if (!write (out->path, user_data, error))
    return FALSE;
  out->sha256 = file_sha256 (out->path, &out->size, error);
  if (out->sha256 == NULL)
    return FALSE;
  fault_point ("wrote", out->path);
  return TRUE;
}

static void
add_committed_file (JsonBuilder *b, const char *key, const CommittedFile *f)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, f->name);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) f->size);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, f->sha256);
  json_builder_end_object (b);
}

static void
copy_committed_file (CommittedFile *dst, const CommittedFile *src)
{
  committed_file_clear (dst);
  dst->name = g_strdup (src->name);
  dst->path = g_strdup (src->path);
  dst->size = src->size;
  dst->sha256 = g_strdup (src->sha256);
}

static gboolean
write_manifest (GraftRun *run, int epoch, gint64 step, int best_epoch, const CommittedFile *w,
                const CommittedFile *o, const CommittedFile *best, const char *metrics_text,
                GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, GRAFT_RUN_FORMAT);
  json_builder_set_member_name (b, "epoch");
  json_builder_add_int_value (b, epoch);
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, step);
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, best_epoch);
  json_builder_set_member_name (b, "started");
  json_builder_add_double_value (b, run->started);
  add_committed_file (b, "weights", w);
  add_committed_file (b, "optimizer", o);
  add_committed_file (b, "best", best);
  json_builder_set_member_name (b, "metrics");
  json_builder_add_string_value (b, metrics_text);
  json_builder_end_object (b);
  g_autoptr (JsonNode) manifest = json_builder_get_root (b);
  g_autofree char *mpath = run_path (run, GRAFT_RUN_COMMIT_FILE);
  return write_json_file (mpath, manifest, TRUE, error);
}

gboolean
graft_run_commit_epoch (GraftRun *run, GraftEpochMetrics *row, gint64 step,
                        GraftRunWriteFunc write_weights, GraftRunWriteFunc write_optimizer,
                        gpointer user_data, gboolean *improved, GError **error)
{
  g_return_val_if_fail (row->epoch == run->epochs_done + 1, FALSE);
  /* Round the row to what the file keeps: decisions after a resume see the same numbers. */
  g_autofree char *line = metrics_format_row (row);
  GraftEpochMetrics rounded;
  if (!parse_row (line, row->epoch, &rounded, "metrics", 0, error))
    return FALSE;
  *row = rounded;
  GString *text = g_string_new (run->metrics_text ? run->metrics_text : METRICS_HEADER "\n");
  g_string_append_printf (text, "%s\n", line);
  g_autofree char *metrics_text = g_string_free (text, FALSE);

  if (run->epochs_done == 0)
    run->started = floor (g_get_real_time () / 1e6);
  fault_epoch = row->epoch;
  fault_count = 0;
  gboolean ok = FALSE, better = FALSE;
  CommittedFile w = { 0 }, o = { 0 };
  if (!write_checkpoint (run, row->epoch, ".safetensors", write_weights, user_data, &w, error) ||
      !write_checkpoint (run, row->epoch, ".optimizer.safetensors", write_optimizer, user_data,
                         &o, error))
    goto out;
  /* The checkpoints' names must be on disk before a manifest can name them. */
  {
    g_autofree char *ckdir = run_path (run, GRAFT_RUN_CHECKPOINT_DIR);
    if (!fsync_dir (ckdir, error))
      goto out;
  }
  better = run->epochs_done == 0 || row->val_acc > run->best_val_acc;
  if (!write_manifest (run, row->epoch, step, better ? row->epoch : run->best_epoch, &w, &o,
                       better ? &w : &run->best, metrics_text, error))
    goto out;

  /* Committed: the in-memory state follows the manifest. */
  if (better)
    {
      copy_committed_file (&run->best, &w);
      run->best_epoch = row->epoch;
      run->best_val_acc = row->val_acc;
    }
  copy_committed_file (&run->weights, &w);
  copy_committed_file (&run->optimizer, &o);
  run->epochs_done = row->epoch;
  run->step = step;
  g_free (run->metrics_text);
  run->metrics_text = g_steal_pointer (&metrics_text);
  g_array_append_val (run->metrics, *row);
  if (improved)
    *improved = better;
  if (!publish (run, error) ||
      !graft_run_set_status (run, GRAFT_RUN_STATE_RUNNING, run->device, NULL, error))
    goto out;
  clean_leftovers (run);
  ok = TRUE;
out:
  committed_file_clear (&w);
  committed_file_clear (&o);
  fault_epoch = 0;
  return ok;
}

gboolean
graft_run_set_status (GraftRun *run, GraftRunState state, const char *device,
                      const char *message, GError **error)
{
  const char *status = state == GRAFT_RUN_STATE_FINISHED ? "finished"
                       : state == GRAFT_RUN_STATE_FAILED ? "failed"
                       : state == GRAFT_RUN_STATE_STOPPED ? "stopped"
                                                          : "running";
  if (device && device != run->device)
    {
      g_free (run->device);
      run->device = g_strdup (device);
    }
  g_free (run->error);
  run->error = message ? g_strdup (message) : NULL;
  run->state = state;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, GRAFT_RUN_FORMAT);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, status);
  /* The numbers below are for people reading the file; readers take them from commit.json. */
  json_builder_set_member_name (b, "epochs_done");
  json_builder_add_int_value (b, run->epochs_done);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, graft_run_epochs_planned (run));
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, run->best_epoch);
  json_builder_set_member_name (b, "best_val_acc");
  json_builder_add_double_value (b, isfinite (run->best_val_acc) ? run->best_val_acc : 0);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, run->device ? run->device : "");
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, run->error ? run->error : "");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *path = run_path (run, GRAFT_RUN_STATUS_FILE);
  return write_json_file (path, root, FALSE, error);
}

gboolean
graft_run_write_split (GraftRun *run, GraftDataset *ds, const GArray *train, const GArray *val,
                       GError **error)
{
  g_autoptr (GString) s = g_string_new ("path,class,subset\r\n");
  const char *root = graft_dataset_dir (ds);
  gsize rl = strlen (root);
  for (int k = 0; k < 2; k++)
    {
      const GArray *idx = k == 0 ? train : val;
      for (guint i = 0; i < idx->len; i++)
        {
          guint f = g_array_index (idx, guint, i);
          const char *p = graft_dataset_file_path (ds, f);
          if (g_str_has_prefix (p, root) && p[rl] == '/')
            p += rl + 1;
          graft_csv_append_field (s, p);
          g_string_append_c (s, ',');
          graft_csv_append_field (s, graft_dataset_class_name (ds, graft_dataset_file_label (ds, f)));
          g_string_append (s, k == 0 ? ",train\r\n" : ",validation\r\n");
        }
    }
  g_autofree char *path = run_path (run, GRAFT_RUN_SPLIT_FILE);
  return write_atomic (path, s->str, s->len, FALSE, error);
}

void
graft_run_log (GraftRun *run, const char *message)
{
  if (run->log == NULL)
    {
      g_autofree char *path = run_path (run, GRAFT_RUN_LOG_FILE);
      run->log = fopen (path, "a");
      if (run->log == NULL)
        return;
    }
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *ts = g_date_time_format (now, "%F %T");
  fprintf (run->log, "%s %s\n", ts, message);
  fflush (run->log);
}

void
graft_run_record_failure (const char *dir, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftRun) run = NULL;
  if (g_mkdir_with_parents (dir, 0755) == 0)
    run = graft_run_load (dir, &error);
  if (run == NULL)
    {
      /* A damaged folder keeps what it has; the error is reported by the caller. */
      g_clear_error (&error);
      return;
    }
  if (!graft_run_set_status (run, GRAFT_RUN_STATE_FAILED, run->device, message, &error))
    g_warning ("Cannot record the failure in %s: %s", dir, error->message);
}

gboolean
graft_run_retire (const char *dir, gboolean discard, char **moved_to, GError **error)
{
  if (moved_to)
    *moved_to = NULL;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (discard)
    {
      g_autoptr (GFile) f = g_file_new_for_path (dir);
      g_autoptr (GFileEnumerator) e = NULL;
      /* Recursive delete. */
      g_autoptr (GPtrArray) stack = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (stack, g_object_ref (f));
      g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_object_unref);
      while (stack->len)
        {
          GFile *cur = g_ptr_array_steal_index (stack, stack->len - 1);
          g_ptr_array_add (dirs, cur);
          g_clear_object (&e);
          e = g_file_enumerate_children (cur, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                         G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                         G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, error);
          if (e == NULL)
            return FALSE;
          GFileInfo *info;
          while ((info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
            {
              GFile *child = g_file_get_child (cur, g_file_info_get_name (info));
              if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
                g_ptr_array_add (stack, child);
              else
                {
                  g_file_delete (child, NULL, NULL);
                  g_object_unref (child);
                }
              g_object_unref (info);
            }
        }
      for (guint i = dirs->len; i > 0; i--)
        if (!g_file_delete (dirs->pdata[i - 1], NULL, error))
          return FALSE;
      return TRUE;
    }
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *ts = g_date_time_format (now, "%Y%m%d-%H%M%S");
  for (int k = 1; k < 100; k++)
    {
      g_autofree char *to = k == 1 ? g_strdup_printf ("%s.outdated-%s", dir, ts)
                                   : g_strdup_printf ("%s.outdated-%s-%d", dir, ts, k);
      if (g_file_test (to, G_FILE_TEST_EXISTS))
        continue;
      if (g_rename (dir, to) != 0)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot move %s aside to %s: %s", dir,
                       to, g_strerror (errno));
          return FALSE;
        }
      if (moved_to)
        *moved_to = g_steal_pointer (&to);
      return TRUE;
    }
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot move %s aside: too many old copies",
               dir);
  return FALSE;
}

/* ---- What inspecting a run reads and keeps ---- */

const char *
graft_run_best_sha256 (GraftRun *run)
{
  return run->best.path ? run->best.sha256 : NULL;
}

gboolean
graft_run_data_settings (GraftRun *run, char **data_dir, GraftFilter *filter,
                         GraftSplitMode *split, double *val_fraction, guint32 *seed,
                         GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_CONFIG_FILE);
  if (run->config == NULL || run->legacy)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: missing or written by an older Graft: the run's data settings are unknown",
                   path);
      return FALSE;
    }
  const char *dir = NULL, *f = NULL, *sp = NULL;
  gint64 s = 0;
  if (!get_string (run->config, "data_dir", TRUE, &dir, path, error) ||
      !get_string (run->config, "filter", TRUE, &f, path, error) ||
      !get_string (run->config, "split", TRUE, &sp, path, error) ||
      !get_int (run->config, "seed", 0, G_MAXUINT32, &s, path, error))
    return FALSE;
  JsonNode *vf = json_object_get_member (run->config, "val_fraction");
  if (vf == NULL || !JSON_NODE_HOLDS_VALUE (vf) ||
      (json_node_get_value_type (vf) != G_TYPE_DOUBLE &&
       json_node_get_value_type (vf) != G_TYPE_INT64) ||
      !(json_node_get_double (vf) > 0 && json_node_get_double (vf) < 1))
    return bad_key (error, path, "val_fraction", "a number between 0 and 1");
  if (*dir == '\0')
    return bad_key (error, path, "data_dir", "a folder");
  g_autoptr (GError) local = NULL;
  if (!graft_filter_from_string (f, filter, &local) ||
      !graft_split_mode_from_string (sp, split, &local))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: %s", path, local->message);
      return FALSE;
    }
  *data_dir = g_strdup (dir);
  *val_fraction = json_node_get_double (vf);
  *seed = (guint32) s;
  return TRUE;
}

char *
graft_run_read_log (GraftRun *run, gsize max_bytes, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_LOG_FILE);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) rerr = NULL;
  if (!g_file_get_contents (path, &text, &len, &rerr))
    {
      if (g_error_matches (rerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_strdup ("");
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot read %s: %s", path, rerr->message);
      return NULL;
    }
  const char *start = text;
  if (max_bytes > 0 && len > max_bytes)
    {
      start = text + len - max_bytes;
      const char *nl = memchr (start, '\n', text + len - start);
      if (nl)
        start = nl + 1;
    }
  /* Messages may quote file names that are not UTF-8. */
  return g_utf8_make_valid (start, text + len - start);
}

char *
graft_run_evaluation_path (GraftRun *run)
{
  return run_path (run, GRAFT_RUN_EVALUATION_FILE);
}

JsonObject *
graft_run_read_evaluation (GraftRun *run, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_EVALUATION_FILE);
  JsonObject *root = NULL;
  if (!read_json_object (path, &root, error))
    return NULL;
  return root;
}

gboolean
graft_run_write_evaluation (GraftRun *run, JsonNode *node, GError **error)
{
  g_autofree char *path = run_path (run, GRAFT_RUN_EVALUATION_FILE);
  return write_json_file (path, node, FALSE, error);
}
