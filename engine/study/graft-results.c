/* metrics.csv reading and the results table (CSV per RFC 4180, or Markdown). */
#include "graft-results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graft-error.h"

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

GArray *
graft_metrics_load (const char *path, GError **error)
{
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return rows;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  /* Column index of each field, −1 when the header lacks it. */
  static const char *const cols[] = { "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                      "lr", "seconds", "images_per_second" };
  int at[G_N_ELEMENTS (cols)];
  gboolean header = FALSE;
  for (guint ln = 0; lines[ln]; ln++)
    {
      g_strchomp (lines[ln]);   /* also drops a CR of CRLF files */
      if (lines[ln][0] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[ln], ",", -1);
      guint nf = g_strv_length (f);
      if (!header)
        {
          for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
            {
              at[c] = -1;
              for (guint k = 0; k < nf; k++)
                if (g_str_equal (g_strstrip (f[k]), cols[c]))
                  at[c] = (int) k;
            }
          if (at[0] < 0)
            {
              g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                           "%s:%u: the header has no “epoch” column", path, ln + 1);
              g_array_unref (rows);
              return NULL;
            }
          header = TRUE;
          continue;
        }
      double v[G_N_ELEMENTS (cols)];
      for (guint c = 0; c < G_N_ELEMENTS (cols); c++)
        {
          v[c] = NAN;
          if (at[c] < 0)
            continue;
          if ((guint) at[c] >= nf)
            {
              g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                           "%s:%u: %u fields, the header has more", path, ln + 1, nf);
              g_array_unref (rows);
              return NULL;
            }
          const char *s = g_strstrip (f[at[c]]);
          if (*s == '\0' || g_ascii_strcasecmp (s, "nan") == 0)
            continue;
          char *end = NULL;
          v[c] = g_ascii_strtod (s, &end);
          if (end == s || *end != '\0')
            {
              g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                           "%s:%u: “%s” is not a number (column %s)", path, ln + 1, s, cols[c]);
              g_array_unref (rows);
              return NULL;
            }
        }
      if (!isfinite (v[0]) || v[0] < 1)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s:%u: epoch must be 1 or more",
                       path, ln + 1);
          g_array_unref (rows);
          return NULL;
        }
      GraftEpochMetrics m = { .epoch = (int) v[0], .train_loss = v[1], .train_acc = v[2],
                              .val_loss = v[3], .val_acc = v[4], .lr = v[5], .seconds = v[6],
                              .images_per_second = v[7] };
      g_array_append_val (rows, m);
    }
  return rows;
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

static void
row_free (gpointer p)
{
  GraftResultRow *r = p;
  g_free (r->id);
  g_free (r->name);
  g_free (r->device);
  g_free (r);
}

GPtrArray *
graft_study_results (const GraftStudy *study, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (row_free);
  for (guint i = 0; i < study->runs->len; i++)
    {
      const GraftStudyRun *run = study->runs->pdata[i];
      GraftRunStatus st;
      if (!graft_study_run_status (study, run, &st, error))
        return NULL;
      g_autofree char *dir = graft_study_run_dir (study, run);
      g_autofree char *mpath = g_build_filename (dir, "metrics.csv", NULL);
      g_autoptr (GArray) m = graft_metrics_load (mpath, error);
      if (m == NULL)
        {
          graft_run_status_clear (&st);
          return NULL;
        }
      GraftResultRow *r = g_new0 (GraftResultRow, 1);
      r->id = g_strdup (run->id);
      r->name = g_strdup (run->name);
      r->experiment = run->experiment;
      r->freeze = run->freeze;
      r->state = st.state;
      graft_metrics_best (m, &r->best_val_acc, &r->best_epoch);
      r->final_val_acc = NAN;
      for (guint k = m->len; k > 0; k--)
        if (isfinite (g_array_index (m, GraftEpochMetrics, k - 1).val_acc))
          {
            r->final_val_acc = g_array_index (m, GraftEpochMetrics, k - 1).val_acc;
            break;
          }
      r->epochs = (int) m->len;
      if (st.train_seconds > 0)
        r->train_seconds = st.train_seconds;
      else
        for (guint k = 0; k < m->len; k++)
          if (isfinite (g_array_index (m, GraftEpochMetrics, k).seconds))
            r->train_seconds += g_array_index (m, GraftEpochMetrics, k).seconds;
      r->device = g_strdup (st.device ? st.device : "");
      graft_run_status_clear (&st);
      g_ptr_array_add (rows, r);
    }
  return g_steal_pointer (&rows);
}

gboolean
graft_table_format_from_string (const char *s, GraftTableFormat *out, GError **error)
{
  if (g_strcmp0 (s, "csv") == 0)
    *out = GRAFT_TABLE_CSV;
  else if (g_strcmp0 (s, "md") == 0 || g_strcmp0 (s, "markdown") == 0)
    *out = GRAFT_TABLE_MARKDOWN;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Unknown table format “%s” (expected csv or md)", s ? s : "");
      return FALSE;
    }
  return TRUE;
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

static char *
fmt_acc (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!isfinite (v))
    return g_strdup ("");
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.4f", v));
}

static char *
fmt_int (int v, gboolean known)
{
  return known ? g_strdup_printf ("%d", v) : g_strdup ("");
}

static const char *const table_columns[] = {
  "Exp.", "Freeze", "Model", "Best val. acc.", "Best epoch", "Final val. acc.", "Epochs",
  "Training time (s)", "Device", "State",
};

/* The cells of one row, in table_columns order. */
static GStrv
row_cells (const GraftResultRow *r)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  GStrv c = g_new0 (char *, G_N_ELEMENTS (table_columns) + 1);
  c[0] = g_strdup_printf ("%d", r->experiment);
  c[1] = g_strdup (r->freeze ? "True" : "False");
  c[2] = g_strdup (r->name);
  c[3] = fmt_acc (r->best_val_acc);
  c[4] = fmt_int (r->best_epoch, r->best_epoch > 0);
  c[5] = fmt_acc (r->final_val_acc);
  c[6] = fmt_int (r->epochs, TRUE);
  c[7] = r->epochs > 0 ? g_strdup (g_ascii_formatd (buf, sizeof buf, "%.1f", r->train_seconds))
                       : g_strdup ("");
  c[8] = g_strdup (r->device ? r->device : "");
  c[9] = g_strdup (graft_run_state_to_string (r->state));
  return c;
}

static void
md_cell (GString *out, const char *s)
{
  g_string_append_c (out, ' ');
  for (const char *p = s; *p; p++)
    {
      if (*p == '|')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append (out, " |");
}

char *
graft_results_format (GPtrArray *rows, GraftTableFormat format)
{
  GString *out = g_string_new (NULL);
  guint nc = G_N_ELEMENTS (table_columns);
  if (format == GRAFT_TABLE_CSV)
    {
      for (guint c = 0; c < nc; c++)
        {
          if (c)
            g_string_append_c (out, ',');
          graft_csv_append_field (out, table_columns[c]);
        }
      g_string_append (out, "\r\n");
      for (guint i = 0; i < rows->len; i++)
        {
          g_auto (GStrv) cells = row_cells (rows->pdata[i]);
          for (guint c = 0; c < nc; c++)
            {
              if (c)
                g_string_append_c (out, ',');
              graft_csv_append_field (out, cells[c]);
            }
          g_string_append (out, "\r\n");
        }
      return g_string_free (out, FALSE);
    }
  g_string_append_c (out, '|');
  for (guint c = 0; c < nc; c++)
    md_cell (out, table_columns[c]);
  g_string_append (out, "\n|");
  for (guint c = 0; c < nc; c++)
    g_string_append (out, c == 2 || c == 8 || c == 9 ? "---|" : "---:|");
  g_string_append_c (out, '\n');
  for (guint i = 0; i < rows->len; i++)
    {
      g_auto (GStrv) cells = row_cells (rows->pdata[i]);
      g_string_append_c (out, '|');
      for (guint c = 0; c < nc; c++)
        md_cell (out, cells[c]);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

gboolean
graft_study_write_table (const GraftStudy *study, const char *path, GraftTableFormat format,
                         GError **error)
{
  g_autoptr (GPtrArray) rows = graft_study_results (study, error);
  if (rows == NULL)
    return FALSE;
  g_autofree char *text = graft_results_format (rows, format);
  g_autoptr (GError) werr = NULL;
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &werr))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path, werr->message);
      return FALSE;
    }
  return TRUE;
}
