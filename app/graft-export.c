/* File names for exports: a default built from the study's name, and the format's extension. */
#include "graft-config.h"
#include "graft-export.h"

#include <string.h>

char *
graft_export_file_name (const char *title, const char *suffix, const char *ext)
{
  g_autofree char *valid = g_utf8_make_valid (title ? title : "", -1);
  g_autoptr (GString) s = g_string_new (NULL);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '/' || c == '\\' || g_unichar_iscntrl (c))
        g_string_append_c (s, '-');
      else if (s->len > 0 || (c != '.' && !g_unichar_isspace (c)))
        g_string_append_unichar (s, c);
    }
  while (s->len > 0 && g_ascii_isspace (s->str[s->len - 1]))
    g_string_truncate (s, s->len - 1);
  if (s->len == 0)
    g_string_assign (s, "study");
  g_string_append_printf (s, "%s.%s", suffix ? suffix : "", ext);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
graft_export_extension (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');
  if (dot == NULL || dot == base || dot[1] == '\0')
    return NULL;
  return g_ascii_strdown (dot + 1, -1);
}

char *
graft_export_add_extension (const char *path, const char *const *known, const char *ext)
{
  g_autofree char *have = graft_export_extension (path);
  if (have && g_strv_contains (known, have))
    return g_strdup (path);
  return g_strdup_printf ("%s.%s", path, ext);
}
