/* safetensors reading and atomic writing: 8-byte little-endian header length, JSON header, data. */
#include "graft-safetensors.h"
#include "graft-json.h"
#include "graft-error.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char  *name;
  int    ndim;
  int    shape[8];
  gsize  begin, end;   /* bytes into the data section */
} Entry;

struct _GraftSafetensors {
  char         *path;
  GBytes       *bytes;
  const guint8 *data;
  gsize         data_len;
  GArray       *entries;   /* Entry */
  GArray       *skipped;   /* Entry: PyTorch's I64 BN counters, only laid out, never read */
  GHashTable   *index;     /* name → position in entries + 1 */
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
  g_clear_pointer (&st->bytes, g_bytes_unref);
  g_clear_pointer (&st->index, g_hash_table_unref);
  g_clear_pointer (&st->entries, g_array_unref);
  g_clear_pointer (&st->skipped, g_array_unref);
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

/* An integer JSON value (not a double, string or bool) in [0, @max]. */
static gboolean
node_uint (JsonNode *n, gint64 max, gint64 *out)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (n);
  if (v < 0 || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

static JsonNode *
member (JsonObject *o, const char *name)
{
  return json_object_has_member (o, name) ? json_object_get_member (o, name) : NULL;
}

static gboolean
read_metadata (GraftSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, st->path, "__metadata__ is not an object");
  JsonObject *md = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (md);
  for (GList *k = keys; k; k = k->next)
    {
      JsonNode *v = json_object_get_member (md, k->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        return fail (error, st->path, "metadata “%s” is not a string", (const char *) k->data);
      g_hash_table_insert (st->metadata, g_strdup (k->data), g_strdup (json_node_get_string (v)));
    }
  return TRUE;
}

/* One tensor's description: F32, at most 8 dimensions, a byte range inside
 * the data that holds exactly the shape's elements. */
static gboolean
read_entry (GraftSafetensors *st, const char *name, JsonNode *node, GError **error)
{
  if (*name == '\0')
    return fail (error, st->path, "a tensor has an empty name");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, st->path, "tensor “%s” is not described by an object", name);
  JsonObject *t = json_node_get_object (node);
  JsonNode *dtype = member (t, "dtype");
  if (dtype == NULL || !JSON_NODE_HOLDS_VALUE (dtype) ||
      json_node_get_value_type (dtype) != G_TYPE_STRING)
    return fail (error, st->path, "tensor “%s” has no dtype string", name);
  /* A PyTorch state dict holds each BN's num_batches_tracked as one I64: skipped. */
  gboolean counter = g_str_equal (json_node_get_string (dtype), "I64") &&
                     g_str_has_suffix (name, ".num_batches_tracked");
  guint64 esize = counter ? 8 : 4;
  if (!counter && !g_str_equal (json_node_get_string (dtype), "F32"))
    return fail (error, st->path, "tensor “%s” has dtype “%s”; Graft reads F32 tensors", name,
                 json_node_get_string (dtype));
  JsonNode *shape = member (t, "shape"), *offs = member (t, "data_offsets");
  if (shape == NULL || !JSON_NODE_HOLDS_ARRAY (shape))
    return fail (error, st->path, "tensor “%s” has no shape array", name);
  if (offs == NULL || !JSON_NODE_HOLDS_ARRAY (offs) ||
      json_array_get_length (json_node_get_array (offs)) != 2)
    return fail (error, st->path, "tensor “%s” has no data_offsets pair", name);
  JsonArray *sa = json_node_get_array (shape), *oa = json_node_get_array (offs);
  guint ndim = json_array_get_length (sa);
  if (ndim > GRAFT_SAFETENSORS_MAX_RANK)
    return fail (error, st->path, "tensor “%s” has %u dimensions; at most %d are read", name,
                 ndim, GRAFT_SAFETENSORS_MAX_RANK);
  Entry e = { NULL, (int) ndim };
  /* Every element needs 4 bytes of data, which bounds the product without overflow. */
  guint64 count = 1, max_count = st->data_len / 4;
  for (guint i = 0; i < ndim; i++)
    {
      gint64 d;
      if (!node_uint (json_array_get_element (sa, i), G_MAXINT, &d))
        return fail (error, st->path, "tensor “%s”: dimension %u is not an integer from 0 to %d",
                     name, i, G_MAXINT);
      e.shape[i] = (int) d;
      if (d != 0 && count > max_count / (guint64) d)
        return fail (error, st->path, "tensor “%s” has more elements than the file holds", name);
      count *= (guint64) d;
    }
  gint64 b, en;
  if (!node_uint (json_array_get_element (oa, 0), G_MAXINT64, &b) ||
      !node_uint (json_array_get_element (oa, 1), G_MAXINT64, &en))
    return fail (error, st->path, "tensor “%s”: data_offsets are not two non-negative integers",
                 name);
  if (en < b || (guint64) en > st->data_len)
    return fail (error, st->path, "tensor “%s”: data_offsets [%" G_GINT64_FORMAT ", %"
                 G_GINT64_FORMAT "] are outside the %" G_GSIZE_FORMAT " data bytes", name, b, en,
                 st->data_len);
  if (count > G_MAXUINT64 / esize || (guint64) (en - b) != count * esize)
    return fail (error, st->path, "tensor “%s”: data_offsets [%" G_GINT64_FORMAT ", %"
                 G_GINT64_FORMAT "] hold %" G_GINT64_FORMAT " bytes, its shape needs %"
                 G_GUINT64_FORMAT, name, b, en, en - b, count * esize);
  e.name = g_strdup (name);
  e.begin = (gsize) b;
  e.end = (gsize) en;
  if (counter)
    {
      g_array_append_val (st->skipped, e);
      return TRUE;
    }
  g_array_append_val (st->entries, e);
  g_hash_table_insert (st->index, e.name, GUINT_TO_POINTER (st->entries->len));
  return TRUE;
}

static int
by_range (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(const Entry *const *) a, *y = *(const Entry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors tile the data section exactly: no overlap, no gap, nothing after the last. */
static gboolean
check_layout (GraftSafetensors *st, GError **error)
{
  guint ne = st->entries->len, n = ne + st->skipped->len;
  g_autofree Entry **order = g_new (Entry *, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    order[i] = i < ne ? &g_array_index (st->entries, Entry, i)
                      : &g_array_index (st->skipped, Entry, i - ne);
  qsort (order, n, sizeof *order, by_range);
  gsize at = 0;
  for (guint i = 0; i < n; i++)
    {
      if (order[i]->begin < at)
        return fail (error, st->path, "tensor “%s” overlaps tensor “%s”", order[i]->name,
                     order[i - 1]->name);
      if (order[i]->begin > at)
        return fail (error, st->path, "data bytes %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
                     " before tensor “%s” belong to no tensor", at, order[i]->begin,
                     order[i]->name);
      at = order[i]->end;
    }
  if (at != st->data_len)
    return fail (error, st->path, "data bytes %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
                 " belong to no tensor", at, st->data_len);
  return TRUE;
}

GraftSafetensors *
graft_safetensors_new_from_bytes (GBytes *bytes, const char *path, GError **error)
{
  g_autoptr (GraftSafetensors) st = g_new0 (GraftSafetensors, 1);
  st->path = g_strdup (path);
  st->bytes = g_bytes_ref (bytes);
  st->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (st->entries, entry_clear);
  st->skipped = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (st->skipped, entry_clear);
  st->index = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  if (len < 8)
    {
      fail (error, path, "only %zu bytes long", len);
      return NULL;
    }
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | data[i];
  if (hlen < 2 || hlen > len - 8 || hlen > GRAFT_SAFETENSORS_MAX_HEADER)
    {
      fail (error, path, "header length %" G_GUINT64_FORMAT " does not fit a %zu-byte file "
            "(at most %d MiB)", hlen, len, GRAFT_SAFETENSORS_MAX_HEADER / (1024 * 1024));
      return NULL;
    }
  st->data = data + 8 + hlen;
  st->data_len = len - 8 - hlen;
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) root = graft_json_parse ((const char *) data + 8, (gssize) hlen,
                                                "the header", &local);
  if (root == NULL)
    {
      fail (error, path, "%s", local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      fail (error, path, "the header is not a JSON object");
      return NULL;
    }
  JsonObject *obj = json_node_get_object (root);
  if (json_object_get_size (obj) > GRAFT_SAFETENSORS_MAX_TENSORS + 1)
    {
      fail (error, path, "the header lists %u tensors; at most %d are read",
            json_object_get_size (obj), GRAFT_SAFETENSORS_MAX_TENSORS);
      return NULL;
    }
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);
      if (g_str_equal (name, "__metadata__") ? !read_metadata (st, node, error)
                                             : !read_entry (st, name, node, error))
        return NULL;
    }
  if (!check_layout (st, error))
    return NULL;
  return g_steal_pointer (&st);
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
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (map);
  g_mapped_file_unref (map);
  return graft_safetensors_new_from_bytes (bytes, path, error);
}

const char *graft_safetensors_path (GraftSafetensors *st) { return st->path; }
guint graft_safetensors_n_tensors (GraftSafetensors *st) { return st->entries->len; }
gsize graft_safetensors_data_size (GraftSafetensors *st) { return st->data_len; }

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
  guint i = GPOINTER_TO_UINT (g_hash_table_lookup (st->index, name));
  return i ? &g_array_index (st->entries, Entry, i - 1) : NULL;
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
