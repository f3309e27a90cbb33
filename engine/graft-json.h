/* Small json-glib helpers shared by the engine and the CLI. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What graft_json_parse accepts: json-glib's parser recurses once per nesting
 * level, so a file of 100 000 '[' overflows the stack; no Graft file nests
 * more than a few levels, nor is larger than a checkpoint header. */
#define GRAFT_JSON_MAX_DEPTH 64
#define GRAFT_JSON_MAX_BYTES (100 * 1024 * 1024)

/* The one way Graft parses JSON that comes from a file: refuses text larger
 * than GRAFT_JSON_MAX_BYTES or nested deeper than GRAFT_JSON_MAX_DEPTH (checked
 * by a scan aware of strings and escapes before json-glib sees it), then
 * parses it, refusing a name repeated in one object and strings that decode to
 * invalid UTF-8 (lone surrogate escapes). @len may be −1 for NUL-terminated
 * text. @what names the file (or the part of it) in messages: "WHAT: nested
 * deeper than 64 levels", "WHAT: not valid JSON: …", "WHAT: “x” appears twice
 * in one object", "WHAT: a string is not valid Unicode …", "WHAT: empty".
 * Returns the root, owned by the caller (never NULL on success). */
JsonNode *graft_json_parse (const char *text, gssize len, const char *what, GError **error);

/* The text of @b's root value; @pretty indents by two spaces. @length may be NULL. */
char *graft_json_builder_to_text (JsonBuilder *b, gboolean pretty, gsize *length);

G_END_DECLS
