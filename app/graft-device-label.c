/* Short names for OpenCL devices, for the header bar (the full name goes in a tooltip). */
#include "graft-config.h"
#include "graft-device-label.h"

#include <string.h>

#define MAX_CHARS 40

static gboolean
is_pocl_cpu (const char *name, const char *type, const char *platform)
{
  gboolean pocl = (platform && (strstr (platform, "Portable Computing Language")
                                || strstr (platform, "PoCL") || strstr (platform, "pocl")))
                  || g_str_has_prefix (name, "pthread-") || g_str_has_prefix (name, "cpu-");
  return pocl && (type == NULL || g_ascii_strcasecmp (type, "CPU") == 0);
}

char *
graft_device_short_label (const char *name, const char *type, const char *platform)
{
  if (name == NULL || *name == '\0')
    name = "Unknown device";
  if (is_pocl_cpu (name, type, platform))
    return g_strdup ("CPU (PoCL)");
  g_autoptr (GString) s = g_string_new (name);
  static const char *const noise[] = { "(R)", "(r)", "(TM)", "(tm)", "(C)", NULL };
  for (guint i = 0; noise[i]; i++)
    g_string_replace (s, noise[i], "", 0);
  /* "Intel Core i7-8650U CPU @ 1.90GHz": the clock says nothing here. */
  char *at = strstr (s->str, " @ ");
  if (at)
    g_string_truncate (s, at - s->str);
  if (g_str_has_suffix (s->str, " CPU"))
    g_string_truncate (s, s->len - 4);
  g_autofree char *collapsed = NULL;
  {
    g_auto (GStrv) words = g_strsplit_set (s->str, " \t", -1);
    g_autoptr (GString) out = g_string_new (NULL);
    for (guint i = 0; words[i]; i++)
      if (*words[i])
        g_string_append_printf (out, "%s%s", out->len ? " " : "", words[i]);
    collapsed = g_string_free (g_steal_pointer (&out), FALSE);
  }
  if (g_utf8_strlen (collapsed, -1) > MAX_CHARS)
    {
      g_autofree char *cut = g_utf8_substring (collapsed, 0, MAX_CHARS - 1);
      g_free (collapsed);
      collapsed = g_strconcat (g_strchomp (cut), "…", NULL);
    }
  return type && *type ? g_strdup_printf ("%s (%s)", collapsed, type) : g_steal_pointer (&collapsed);
}
