/* safetensors reading and atomic writing: 8-byte little-endian header length, JSON header, data. */
#include "graft-safetensors.h"
#include "graft-json.h"
#include "graft-error.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  char  *name;
  int    ndim;
  int    shape[8];
  gsize  begin, end;   /* bytes into the data section */
} Entry;

struct _GraftSafetensors {
  char         *path;
  GMappedFile  *map;
  const guint8 *data;
  gsize         data_len;
  GArray       *entries;   /* Entry */
  GHashTable   *metadata;
};

static void
entry_clear (gpointer p)
{
  g_free (((Entry *) p)->name);
}

void
graft_safetensors_free (GraftSafetensors *st)
{
  if (st == NULL)
    return;
  g_free (st->path);
  g_clear_pointer (&st->map, g_mapped_file_unref);
  g_clear_pointer (&st->entries, g_array_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_free (st);
}

static gboolean
fail (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s is not a valid safetensors file: %s",
               path, msg);
  return FALSE;
}

GraftSafetensors *
graft_safetensors_read (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  GMappedFile *map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot open %s: %s", path, local->message);
      return NULL;
    }
  g_autoptr (GraftSafetensors) st = g_new0 (GraftSafetensors, 1);
  st->path = g_strdup (path);
  st->map = map;
  st->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (st->entries, entry_clear);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gsize len = g_mapped_file_get_length (map);
  const guint8 *bytes = (const guint8 *) g_mapped_file_get_contents (map);
  if (len < 8)
    {
      fail (error, path, "only %zu bytes long", len);
      return NULL;
    }
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | bytes[i];
  if (hlen < 2 || hlen > len - 8 || hlen > 100 * 1024 * 1024)
    {
      fail (error, path, "header length %" G_GUINT64_FORMAT " does not fit a %zu-byte file", hlen,
            len);
      return NULL;
    }
  st->data = bytes + 8 + hlen;
  st->data_len = len - 8 - hlen;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) bytes + 8, (gssize) hlen, &local))
    {
      fail (error, path, "header is not JSON (%s)", local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      fail (error, path, "header is not a JSON object");
      return NULL;
    }
  JsonObject *obj = json_node_get_object (root);
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);
      if (g_str_equal (name, "__metadata__"))
        {
          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              fail (error, path, "__metadata__ is not an object");
              return NULL;
            }
          JsonObject *md = json_node_get_object (node);
          g_autoptr (GList) keys = json_object_get_members (md);
          for (GList *k = keys; k; k = k->next)
            {
              JsonNode *v = json_object_get_member (md, k->data);
              if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
                g_hash_table_insert (st->metadata, g_strdup (k->data),
                                     g_strdup (json_node_get_string (v)));
            }
          continue;
        }
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          fail (error, path, "tensor “%s” is not described by an object", name);
          return NULL;
        }
      JsonObject *t = json_node_get_object (node);
      const char *dtype = json_object_get_string_member_with_default (t, "dtype", "");
      if (!g_str_equal (dtype, "F32"))
        {
          fail (error, path, "tensor “%s” has dtype “%s”; Graft reads F32 tensors", name, dtype);
          return NULL;
        }
      JsonArray *shape = json_object_has_member (t, "shape") ? json_object_get_array_member (t, "shape") : NULL;
      JsonArray *offs = json_object_has_member (t, "data_offsets") ? json_object_get_array_member (t, "data_offsets") : NULL;
      if (shape == NULL || offs == NULL || json_array_get_length (offs) != 2 ||
          json_array_get_length (shape) > 8)
        {
          fail (error, path, "tensor “%s” lacks a shape or data_offsets", name);
          return NULL;
        }
      Entry e = { g_strdup (name), (int) json_array_get_length (shape) };
      guint64 count = 1;
      gboolean bad = FALSE;
      for (int i = 0; i < e.ndim; i++)
        {
          gint64 d = json_array_get_int_element (shape, i);
          if (d < 0 || d > G_MAXINT)
            bad = TRUE;
          e.shape[i] = (int) d;
          count *= (guint64) MAX (d, 0);
        }
      gint64 b = json_array_get_int_element (offs, 0), en = json_array_get_int_element (offs, 1);
      if (bad || b < 0 || en < b || (guint64) en > st->data_len || (guint64) (en - b) != count * 4)
        {
          g_free (e.name);
          fail (error, path, "tensor “%s”: shape and data_offsets [%" G_GINT64_FORMAT ", %"
                G_GINT64_FORMAT "] disagree or run past the end of the file", name, b, en);
          return NULL;
        }
      e.begin = b;
      e.end = en;
      g_array_append_val (st->entries, e);
    }
  return g_steal_pointer (&st);
}

const char *graft_safetensors_path (GraftSafetensors *st) { return st->path; }
guint graft_safetensors_n_tensors (GraftSafetensors *st) { return st->entries->len; }

const char *
graft_safetensors_name (GraftSafetensors *st, guint i)
{
  return g_array_index (st->entries, Entry, i).name;
}

const char *
graft_safetensors_metadata (GraftSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

static Entry *
find (GraftSafetensors *st, const char *name)
{
  for (guint i = 0; i < st->entries->len; i++)
    if (g_str_equal (g_array_index (st->entries, Entry, i).name, name))
      return &g_array_index (st->entries, Entry, i);
  return NULL;
}

gboolean
graft_safetensors_has (GraftSafetensors *st, const char *name)
{
  return find (st, name) != NULL;
}

int
graft_safetensors_shape (GraftSafetensors *st, const char *name, int shape[8])
{
  Entry *e = find (st, name);
  if (e == NULL)
    return -1;
  memcpy (shape, e->shape, sizeof e->shape);
  return e->ndim;
}

gboolean
graft_safetensors_copy (GraftSafetensors *st, const char *name, float *dst, gsize count,
                        GError **error)
{
  Entry *e = find (st, name);
  if (e == NULL)
    return fail (error, st->path, "tensor “%s” is missing", name);
  if (e->end - e->begin != count * 4)
    return fail (error, st->path, "tensor “%s” holds %zu values, %zu expected", name,
                 (e->end - e->begin) / 4, count);
  /* The format is little-endian, as is every machine Graft runs on. */
  memcpy (dst, st->data + e->begin, count * 4);
  return TRUE;
}

typedef struct {
  char        *name;
  int          ndim;
  int          shape[8];
  const float *data;
} WEntry;

struct _GraftSafetensorsWriter {
  GArray     *entries;
  GHashTable *metadata;
};

static void
wentry_clear (gpointer p)
{
  g_free (((WEntry *) p)->name);
}

GraftSafetensorsWriter *
graft_safetensors_writer_new (void)
{
  GraftSafetensorsWriter *w = g_new0 (GraftSafetensorsWriter, 1);
  w->entries = g_array_new (FALSE, TRUE, sizeof (WEntry));
  g_array_set_clear_func (w->entries, wentry_clear);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
graft_safetensors_writer_free (GraftSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_array_unref (w->entries);
  g_hash_table_unref (w->metadata);
  g_free (w);
}

void
graft_safetensors_writer_set_metadata (GraftSafetensorsWriter *w, const char *key,
                                       const char *value)
{
  g_hash_table_insert (w->metadata, g_strdup (key), g_strdup (value));
}

void
graft_safetensors_writer_add (GraftSafetensorsWriter *w, const char *name, int ndim,
                              const int *shape, const float *data)
{
  WEntry e = { g_strdup (name), MIN (ndim, 8) };
  memcpy (e.shape, shape, sizeof (int) * e.ndim);
  e.data = data;
  g_array_append_val (w->entries, e);
}

gboolean
graft_safetensors_writer_save (GraftSafetensorsWriter *w, const char *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (g_hash_table_size (w->metadata) > 0)
    {
      json_builder_set_member_name (b, "__metadata__");
      json_builder_begin_object (b);
      g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (w->metadata),
                                            (GCompareFunc) g_strcmp0);
      for (GList *k = keys; k; k = k->next)
        {
          json_builder_set_member_name (b, k->data);
          json_builder_add_string_value (b, g_hash_table_lookup (w->metadata, k->data));
        }
      json_builder_end_object (b);
    }
  gsize off = 0;
  for (guint i = 0; i < w->entries->len; i++)
    {
      WEntry *e = &g_array_index (w->entries, WEntry, i);
      gsize count = 1;
      json_builder_set_member_name (b, e->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "F32");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < e->ndim; d++)
        {
          json_builder_add_int_value (b, e->shape[d]);
          count *= e->shape[d];
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, off);
      json_builder_add_int_value (b, off + count * 4);
      json_builder_end_array (b);
      json_builder_end_object (b);
      off += count * 4;
    }
  json_builder_end_object (b);
  gsize hlen = 0;
  g_autofree char *header = graft_json_builder_to_text (b, FALSE, &hlen);
  /* Pad with spaces so the data starts 8-byte aligned, as the reference writer does. */
  gsize padded = (hlen + 7) / 8 * 8;
  GString *out = g_string_sized_new (8 + padded + off);
  guint64 le = padded;
  for (int i = 0; i < 8; i++)
    g_string_append_c (out, (char) ((le >> (8 * i)) & 0xff));
  g_string_append_len (out, header, hlen);
  for (gsize i = hlen; i < padded; i++)
    g_string_append_c (out, ' ');
  for (guint i = 0; i < w->entries->len; i++)
    {
      WEntry *e = &g_array_index (w->entries, WEntry, i);
      gsize count = 1;
      for (int d = 0; d < e->ndim; d++)
        count *= e->shape[d];
      g_string_append_len (out, (const char *) e->data, count * 4);
    }
  g_autoptr (GError) local = NULL;
  gboolean ok = g_file_set_contents_full (path, out->str, out->len,
                                          G_FILE_SET_CONTENTS_CONSISTENT |
                                            G_FILE_SET_CONTENTS_DURABLE,
                                          0644, &local);
  g_string_free (out, TRUE);
  if (!ok)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path, local->message);
  return ok;
}
