/* Small json-glib helpers shared by the engine and the CLI. */
#include "graft-json.h"
#include "graft-error.h"

#include <string.h>

/* Deepest nesting of @text, stopping as soon as it passes @limit. Brackets
 * inside strings do not count; the scan does not validate anything else. */
static int
nesting_depth (const char *text, gsize len, int limit)
{
  int depth = 0, max = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > max)
            max = depth;
          if (max > limit)
            return max;
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return max;
}

/* json-glib keeps the last of two members with the same name; a file that
 * names something twice is refused instead, since either reading could be
 * the wrong one. After k members of an object, it has k names unless one
 * repeated. */
typedef struct {
  GHashTable *counts;   /* JsonObject * → members seen */
  char       *repeated;
} Repeats;

static void
object_member_cb (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  Repeats *r = user_data;
  guint k = GPOINTER_TO_UINT (g_hash_table_lookup (r->counts, object)) + 1;
  g_hash_table_insert (r->counts, object, GUINT_TO_POINTER (k));
  if (k > json_object_get_size (object) && r->repeated == NULL)
    r->repeated = g_strdup (name);
}

/* json-glib checks that the text is UTF-8 but decodes a lone surrogate escape ("\ud800")
 * into bytes that are not, which every writer then emits and every reader refuses: a study
 * saved with such a name could not be opened again. Depth is bounded, so recursion is fine. */
static const char *
invalid_utf8 (JsonNode *n)
{
  if (JSON_NODE_HOLDS_OBJECT (n))
    {
      JsonObject *o = json_node_get_object (n);
      g_autoptr (GList) names = json_object_get_members (o);
      for (GList *l = names; l; l = l->next)
        {
          if (!g_utf8_validate (l->data, -1, NULL))
            return "a member name";
          const char *bad = invalid_utf8 (json_object_get_member (o, l->data));
          if (bad)
            return bad;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          const char *bad = invalid_utf8 (json_array_get_element (a, i));
          if (bad)
            return bad;
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING &&
           !g_utf8_validate (json_node_get_string (n), -1, NULL))
    return "a string";
  return NULL;
}

JsonNode *
graft_json_parse (const char *text, gssize len, const char *what, GError **error)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  if (n > GRAFT_JSON_MAX_BYTES)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: %" G_GSIZE_FORMAT " bytes of JSON is more than the %d MiB Graft reads",
                   what, n, GRAFT_JSON_MAX_BYTES / (1024 * 1024));
      return NULL;
    }
  if (nesting_depth (text, n, GRAFT_JSON_MAX_DEPTH) > GRAFT_JSON_MAX_DEPTH)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: nested deeper than %d levels",
                   what, GRAFT_JSON_MAX_DEPTH);
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) perr = NULL;
  g_autoptr (GHashTable) counts = g_hash_table_new (NULL, NULL);
  Repeats repeats = { counts, NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), &repeats);
  gboolean ok = json_parser_load_from_data (parser, text, (gssize) n, &perr);
  g_autofree char *repeated = repeats.repeated;
  if (!ok)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: not valid JSON: %s", what,
                   perr->message);
      return NULL;
    }
  if (repeated)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: “%s” appears twice in one object",
                   what, repeated);
      return NULL;
    }
  g_autoptr (JsonNode) root = json_parser_steal_root (parser);
  if (root == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: empty", what);
      return NULL;
    }
  const char *bad = invalid_utf8 (root);
  if (bad)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: %s is not valid Unicode (a lone surrogate escape such as \\ud800)",
                   what, bad);
      return NULL;
    }
  return g_steal_pointer (&root);
}

char *
graft_json_builder_to_text (JsonBuilder *b, gboolean pretty, gsize *length)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, length);
}
