/* Small json-glib helpers shared by the engine and the CLI. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The text of @b's root value; @pretty indents by two spaces. @length may be NULL. */
char *graft_json_builder_to_text (JsonBuilder *b, gboolean pretty, gsize *length);

G_END_DECLS
