/* Figures on a full disk: PNG, SVG and PDF exports fail naming the file and leave the previous file as it was. */
#include "graft-plot.h"
#include "fault-test-util.h"
#include "../data/data-test-util.h"

#include <sys/wait.h>

static char *self;
static char *root;

static GraftPlotFigure *
figure (double shift)
{
  GraftPlotFigure *fig = graft_plot_figure_new ("epoch", "accuracy");
  GraftPlotPanel *p = graft_plot_figure_add_panel (fig, "panel", NULL);
  double x[20], y[20], rgb[3];
  for (int i = 0; i < 20; i++)
    x[i] = i + 1, y[i] = 0.5 + 0.02 * i + shift;
  graft_plot_palette (0, rgb);
  graft_plot_panel_add_series (p, "run", rgb, FALSE, x, y, 20);
  return fig;
}

/* Child: write the figure to argv[2], print the error and exit 1 on failure. */
static int
child_write (const char *path)
{
  g_autoptr (GraftPlotFigure) fig = figure (0.1);
  g_autoptr (GError) error = NULL;
  if (!graft_plot_write (fig, path, 800, 400, 96, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}

static GBytes *
read_bytes (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

static void
assert_only (const char *dir, const char *name)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;
  while ((n = g_dir_read_name (d)) != NULL)
    if (!g_str_equal (n, name))
      g_error ("%s was left in %s", n, dir);
}

static void
test_full_disk (gconstpointer data)
{
  const char *ext = data;
  g_autofree char *dir = g_build_filename (root, ext, NULL);
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *name = g_strdup_printf ("figure.%s", ext);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftPlotFigure) old = figure (0);
  g_assert_true (graft_plot_write (old, path, 800, 400, 96, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) before = read_bytes (path);

  char *argv[] = { self, (char *) "--child-write", path, NULL };
  /* Nothing, one byte, a little, or half of what the file takes. */
  g_autofree char *half = g_strdup_printf ("%" G_GSIZE_FORMAT, g_bytes_get_size (before) / 2);
  const char *afters[] = { "0", "1", "100", half };
  for (guint a = 0; a < G_N_ELEMENTS (afters); a++)
    {
      g_autofree char *err = NULL;
      int status = fault_test_spawn (argv, name, afters[a], &err);
      g_test_message ("%s after %s bytes: status %d, %s", ext, afters[a], status, err);
      if (!fault_test_exited (status, 1))
        g_error ("export of %s on a full disk (after %s bytes) did not fail cleanly (status %d): %s",
                 path, afters[a], status, err);
      g_assert_nonnull (strstr (err, "graft-fault-shim: ENOSPC"));   /* the shim did bite */
      g_assert_nonnull (strstr (err, path));
      g_assert_nonnull (strstr (err, g_strerror (ENOSPC)));
      g_autoptr (GBytes) after = read_bytes (path);
      g_assert_true (g_bytes_equal (before, after));
      assert_only (dir, name);
    }

  /* The same child with the shim loaded but no full disk replaces the file. */
  g_autofree char *err = NULL;
  int status = fault_test_spawn (argv, NULL, NULL, &err);
  g_assert_true (fault_test_exited (status, 0));
  g_autoptr (GBytes) replaced = read_bytes (path);
  g_assert_false (g_bytes_equal (before, replaced));
  assert_only (dir, name);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--child-write"))
    return child_write (argv[2]);
  g_test_init (&argc, &argv, NULL);
  fault_test_shim ();
  self = g_canonicalize_filename (argv[0], NULL);
  root = data_test_tmpdir ();
  g_test_add_data_func ("/fault/plot/png", "png", test_full_disk);
  g_test_add_data_func ("/fault/plot/svg", "svg", test_full_disk);
  g_test_add_data_func ("/fault/plot/pdf", "pdf", test_full_disk);
  int rc = g_test_run ();
  data_test_rm_rf (root);
  g_free (root);
  g_free (self);
  return rc;
}
