/* Crafted CLBlast parameter files ($XDG_CONFIG_HOME/graft/clblast/…): refused naming the file. */
#include "graft-test.h"
#include "graft-tune.h"

#include <glib/gstdio.h>
#include <string.h>

static char *
nested (int depth)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < depth; i++)
    g_string_append (s, "{\"Xgemm\":");
  g_string_append (s, "1");
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

int
main (int argc, char **argv)
{
  g_autofree char *home = g_dir_make_tmp ("graft-tune-XXXXXX", NULL);
  /* Before anything asks GLib for the configuration folder, which it then keeps. */
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_unsetenv ("GRAFT_NO_TUNE");
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GraftContext) ctx = graft_test_context ();
  g_autofree char *path = graft_tune_path (graft_context_device (ctx)->id);
  g_autofree char *folder = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_autofree char *deep = nested (100000);
  const struct { const char *text; const char *expect; } rows[] = {
    { deep, "nested deeper than 64 levels" },
    { "{\"Xgemm\": [1, 2]}", "\"Xgemm\" is not an object" },
    { "{\"Xgemm\": {\"GEMMK\": [0]}}", "\"GEMMK\" missing or not a count" },
    { "{\"XGEMM_MIN_INDIRECT_SIZE\": {}}", "XGEMM_MIN_INDIRECT_SIZE must be ≥ 1" },
    { "{\"XGEMM_MIN_INDIRECT_SIZE\": \"64\"}", "XGEMM_MIN_INDIRECT_SIZE must be ≥ 1" },
    { "{\"Xgemm\": 1, \"Xgemm\": {}}", "appears twice" },
  };
  int failed = 0;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_assert_true (g_file_set_contents (path, rows[i].text, -1, NULL));
      g_autoptr (GError) error = NULL;
      gboolean ok = graft_tune_apply (ctx, &error);
      if (ok || strstr (error->message, path) == NULL || strstr (error->message, rows[i].expect) == NULL)
        {
          printf ("not ok: row %u: %s\n", i, ok ? "accepted" : error->message);
          failed++;
        }
      else
        printf ("ok: row %u: %s\n", i, error->message);
    }
  g_unlink (path);
  g_rmdir (folder);
  g_autofree char *graft = g_path_get_dirname (folder);
  g_rmdir (graft);
  g_rmdir (home);
  return failed ? 1 : 0;
}
