/* Small json-glib helpers shared by the engine and the CLI. */
#include "graft-json.h"

char *
graft_json_builder_to_text (JsonBuilder *b, gboolean pretty, gsize *length)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, length);
}
