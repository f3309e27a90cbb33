/* Export file names: the default from a study name that may hold "/" or control characters,
 * and the format's extension added to a name typed without one. */
#include "graft-test.h"

#include <string.h>

#include "../../app/graft-export.h"

static void
test_file_name (void)
{
  static const struct { const char *title, *suffix, *ext, *want; } cases[] = {
    { "paper", "-curves", "png", "paper-curves.png" },
    { "cats/dogs", "-curves", "svg", "cats-dogs-curves.svg" },
    { "a\\b\tc\nd\x7f", "", "csv", "a-b-c-d-.csv" },
    { "../../etc/passwd", "-curves", "pdf", "-..-etc-passwd-curves.pdf" },
    { " .hidden", "-curves", "png", "hidden-curves.png" },
    { "", "-curves", "png", "study-curves.png" },
    { NULL, "", "csv", "study.csv" },
    { "Étude № 1 ", "-curves", "png", "Étude № 1-curves.png" },
    { "bad\xff" "utf8", "", "csv", "bad\xef\xbf\xbdutf8.csv" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = graft_export_file_name (cases[i].title, cases[i].suffix,
                                                     cases[i].ext);
      g_assert_cmpstr (got, ==, cases[i].want);
      g_assert_null (strchr (got, '/'));
    }
}

static void
test_extension (void)
{
  const char *plot[] = { "png", "svg", "pdf", NULL };
  static const struct { const char *path, *ext, *want; } cases[] = {
    { "/s/curves", "png", "/s/curves.png" },
    { "/s/curves.svg", "png", "/s/curves.svg" },
    { "/s/curves.PDF", "png", "/s/curves.PDF" },
    { "/s/my.study", "pdf", "/s/my.study.pdf" },
    { "/s.d/curves", "png", "/s.d/curves.png" },
    { "/s/.png", "png", "/s/.png.png" },
    { "/s/curves.", "svg", "/s/curves..svg" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = graft_export_add_extension (cases[i].path, plot, cases[i].ext);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/export/file-name", test_file_name);
  g_test_add_func ("/app/export/extension", test_extension);
  return g_test_run ();
}
