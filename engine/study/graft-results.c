/* The results table (CSV per RFC 4180, or Markdown) from each run's committed state. */
#include "graft-results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graft-error.h"

static void
row_free (gpointer p)
{
  GraftResultRow *r = p;
  g_free (r->id);
  g_free (r->name);
  g_free (r->device);
  g_free (r->outdated);
  g_free (r->group);
  g_free (r);
}

GPtrArray *
graft_study_results (const GraftStudy *study, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (row_free);
  g_autoptr (GraftStudy) expanded = graft_study_expand (study);
  study = expanded;
  for (guint i = 0; i < study->runs->len; i++)
    {
      const GraftStudyRun *run = study->runs->pdata[i];
      GraftRunStatus st;
      if (!graft_study_run_status (study, run, &st, error))
        return NULL;
      GArray *m = st.metrics;
      GraftResultRow *r = g_new0 (GraftResultRow, 1);
      r->id = g_strdup (run->id);
      r->name = g_strdup (run->name);
      r->experiment = run->experiment;
      r->freeze = run->freeze;
      r->state = st.state;
      r->outdated = g_strdup (st.outdated);
      r->best_val_acc = st.best_val_acc;
      r->best_epoch = st.best_epoch;
      r->final_val_acc = m->len ? g_array_index (m, GraftEpochMetrics, m->len - 1).val_acc : NAN;
      r->epochs = (int) m->len;
      r->train_seconds = st.train_seconds;
      r->device = g_strdup (st.device ? st.device : "");
      r->group = g_strdup (run->group);
      r->seed = run->seed;
      graft_run_status_clear (&st);
      g_ptr_array_add (rows, r);
    }
  return g_steal_pointer (&rows);
}

static void
group_free (gpointer p)
{
  GraftResultGroup *g = p;
  g_free (g->id);
  g_free (g->name);
  g_array_unref (g->values);
  g_array_unref (g->seeds);
  g_free (g);
}

GPtrArray *
graft_results_groups (GPtrArray *rows)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func (group_free);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < rows->len; i++)
    {
      const GraftResultRow *r = rows->pdata[i];
      const char *id = r->group ? r->group : r->id;
      GraftResultGroup *g = g_hash_table_lookup (by_id, id);
      if (g == NULL)
        {
          g = g_new0 (GraftResultGroup, 1);
          g->id = g_strdup (id);
          g->name = g_strdup (r->name);
          g->experiment = r->experiment;
          g->freeze = r->freeze;
          g->values = g_array_new (FALSE, FALSE, sizeof (double));
          g->seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
          g_hash_table_insert (by_id, g->id, g);
          g_ptr_array_add (groups, g);
        }
      g_array_append_val (g->values, r->best_val_acc);
      g_array_append_val (g->seeds, r->seed);
    }
  for (guint i = 0; i < groups->len; i++)
    {
      GraftResultGroup *g = groups->pdata[i];
      double sum = 0, sq = 0;
      g->min = INFINITY;
      g->max = -INFINITY;
      for (guint k = 0; k < g->values->len; k++)
        {
          double v = g_array_index (g->values, double, k);
          if (!isfinite (v))
            continue;
          g->n++;
          sum += v;
          g->min = MIN (g->min, v);
          g->max = MAX (g->max, v);
        }
      g->mean = g->n ? sum / g->n : NAN;
      for (guint k = 0; k < g->values->len; k++)
        {
          double v = g_array_index (g->values, double, k);
          if (isfinite (v))
            sq += (v - g->mean) * (v - g->mean);
        }
      g->std = g->n > 1 ? sqrt (sq / (g->n - 1)) : g->n == 1 ? 0 : NAN;
    }
  return groups;
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
  c[9] = r->outdated ? g_strdup_printf ("outdated: %s", r->outdated)
                     : g_strdup (graft_run_state_to_string (r->state));
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

/* The Markdown table of a sweep: one row per run of the study. */
static char *
groups_markdown (GPtrArray *rows)
{
  g_autoptr (GPtrArray) groups = graft_results_groups (rows);
  GString *out = g_string_new ("| Exp. | Freeze | Model | Best val. acc. (mean ± std) | Seeds | "
                               "Per seed |\n|---:|---:|---|---:|---:|---|\n");
  for (guint i = 0; i < groups->len; i++)
    {
      GraftResultGroup *g = groups->pdata[i];
      g_autofree char *exp = g_strdup_printf ("%d", g->experiment);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
      g_autofree char *mean = g->n ? g_strdup_printf ("%s ± %s",
                                                      g_ascii_formatd (a, sizeof a, "%.4f", g->mean),
                                                      g_ascii_formatd (b, sizeof b, "%.4f", g->std))
                                   : g_strdup ("");
      g_autofree char *n = g_strdup_printf ("%u of %u", g->n, g->values->len);
      GString *per = g_string_new (NULL);
      for (guint k = 0; k < g->values->len; k++)
        {
          g_autofree char *v = fmt_acc (g_array_index (g->values, double, k));
          g_string_append_printf (per, "%s%u: %s", k ? ", " : "",
                                  g_array_index (g->seeds, guint32, k), *v ? v : "—");
        }
      const char *cells[] = { exp, g->freeze ? "True" : "False", g->name, mean, n, per->str };
      g_string_append_c (out, '|');
      for (guint c = 0; c < G_N_ELEMENTS (cells); c++)
        md_cell (out, cells[c]);
      g_string_append_c (out, '\n');
      g_string_free (per, TRUE);
    }
  return g_string_free (out, FALSE);
}

char *
graft_results_format (GPtrArray *rows, GraftTableFormat format)
{
  GString *out = g_string_new (NULL);
  guint nc = G_N_ELEMENTS (table_columns);
  gboolean sweep = rows->len && ((GraftResultRow *) rows->pdata[0])->group != NULL;
  if (format == GRAFT_TABLE_CSV)
    {
      for (guint c = 0; c < nc; c++)
        {
          if (c)
            g_string_append_c (out, ',');
          graft_csv_append_field (out, table_columns[c]);
        }
      if (sweep)
        g_string_append (out, ",Seed");
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
          if (sweep)
            g_string_append_printf (out, ",%u", ((GraftResultRow *) rows->pdata[i])->seed);
          g_string_append (out, "\r\n");
        }
      return g_string_free (out, FALSE);
    }
  if (sweep)
    {
      g_string_free (out, TRUE);
      return groups_markdown (rows);
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
