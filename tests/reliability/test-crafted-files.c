/* Crafted checkpoints and study files: each is refused with a message naming the file, never a crash. */
#include "graft-test.h"
#include "graft-checkpoint.h"
#include "graft-dataset.h"
#include "graft-json.h"
#include "graft-study.h"

#include <glib/gstdio.h>
#include <string.h>

static char *dir;

/* A small valid checkpoint written by Graft, taken apart into header and data. */
static char     *base_text;
static JsonNode *base_header;
static GBytes   *base_data;

/* A deep copy (json_node_copy shares the object). */
static JsonNode *
fresh_header (void)
{
  return json_from_string (base_text, NULL);
}

static void
make_base (void)
{
  GraftModelSpec spec = { 32, 3, 0.0625, 0.5 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  g_assert_no_error (error);
  graft_model_init_layer (m, -1, 7);
  g_autofree char *path = g_build_filename (dir, "base.safetensors", NULL);
  const char *names[] = { "cat", "dog", "bird", NULL };
  g_assert_true (graft_checkpoint_save (m, path, names, &error));
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | (guint8) text[i];
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, text + 8, (gssize) hlen, NULL));
  base_header = json_node_copy (json_parser_get_root (p));
  base_text = json_to_string (base_header, FALSE);
  base_data = g_bytes_new (text + 8 + hlen, len - 8 - hlen);
  g_unlink (path);
}

/* Writes NAME.safetensors from @header (JSON text) and @data. */
static char *
write_file (const char *name, const char *header, const guint8 *data, gsize data_len)
{
  g_autofree char *file = g_strdup_printf ("%s.safetensors", name);
  char *path = g_build_filename (dir, file, NULL);
  gsize hlen = strlen (header);
  GByteArray *out = g_byte_array_new ();
  for (int i = 0; i < 8; i++)
    {
      guint8 b = (guint8) ((guint64) hlen >> (8 * i));
      g_byte_array_append (out, &b, 1);
    }
  g_byte_array_append (out, (const guint8 *) header, hlen);
  g_byte_array_append (out, data, data_len);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
  g_byte_array_unref (out);
  return path;
}

static JsonObject *
tensor (JsonObject *root, const char *name)
{
  return json_object_get_object_member (root, name);
}

static JsonObject *
metadata (JsonObject *root)
{
  return json_object_get_object_member (root, "__metadata__");
}

static void
set_offsets (JsonObject *t, gint64 b, gint64 e)
{
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, b);
  json_array_add_int_element (a, e);
  json_object_set_array_member (t, "data_offsets", a);
}

static gint64
offset (JsonObject *t, guint i)
{
  return json_array_get_int_element (json_object_get_array_member (t, "data_offsets"), i);
}

/* The edits: each turns the valid header (and data) into one crafted file. */
static void dtype_number (JsonObject *r, GByteArray *d)
{ json_object_set_int_member (tensor (r, "dense/bias"), "dtype", 5); }
static void classes_huge (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "classes", "2147483647"); }
static void classes_above_bound (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "classes", "100001"); }
static void image_size_huge (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "image_size", "65536"); }
static void width_trailing (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "width", "0.0625x"); }
static void dropout_negative (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "dropout", "-0.5"); }
/* Metadata alone asking for gigabytes of parameters (width 8, 100 000 classes). */
static void model_huge (JsonObject *r, GByteArray *d)
{
  json_object_set_string_member (metadata (r), "width", "8");
  json_object_set_string_member (metadata (r), "classes", "100000");
  json_object_remove_member (metadata (r), "class_names");
}
static void metadata_number (JsonObject *r, GByteArray *d)
{ json_object_set_int_member (metadata (r), "classes", 3); }
static void names_short (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "class_names", "[\"cat\"]"); }
static void names_long (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "class_names", "[\"a\", \"b\", \"c\", \"d\"]"); }
static void names_not_strings (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (metadata (r), "class_names", "[1, 2, 3]"); }
static void shape_string (JsonObject *r, GByteArray *d)
{ json_object_set_string_member (tensor (r, "dense/bias"), "shape", "3"); }
static void shape_element_string (JsonObject *r, GByteArray *d)
{
  JsonArray *a = json_array_new ();
  json_array_add_string_element (a, "3");
  json_object_set_array_member (tensor (r, "dense/bias"), "shape", a);
}
static void offsets_object (JsonObject *r, GByteArray *d)
{ json_object_set_object_member (tensor (r, "dense/bias"), "data_offsets", json_object_new ()); }
static void offsets_double (JsonObject *r, GByteArray *d)
{
  JsonObject *t = tensor (r, "dense/bias");
  JsonArray *a = json_array_new ();
  json_array_add_double_element (a, (double) offset (t, 0));
  json_array_add_double_element (a, (double) offset (t, 1));
  json_object_set_array_member (t, "data_offsets", a);
}
static void rank_nine (JsonObject *r, GByteArray *d)
{
  JsonArray *a = json_array_new ();
  for (int i = 0; i < 9; i++)
    json_array_add_int_element (a, 1);
  json_object_set_array_member (tensor (r, "dense/bias"), "shape", a);
}
/* 2^30 · 2^30 · 2^4 elements wrap a 64-bit count to 0, matching an empty range. */
static void count_overflow (JsonObject *r, GByteArray *d)
{
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, 1 << 30);
  json_array_add_int_element (a, 1 << 30);
  json_array_add_int_element (a, 16);
  JsonObject *t = json_object_new ();
  json_object_set_string_member (t, "dtype", "F32");
  json_object_set_array_member (t, "shape", a);
  set_offsets (t, 0, 0);
  json_object_set_object_member (r, "huge", t);
}
/* The dense bias reads the bytes of the dense kernel's start: the same size, another place. */
static void overlap (JsonObject *r, GByteArray *d)
{
  JsonObject *k = tensor (r, "dense/kernel"), *b = tensor (r, "dense/bias");
  gint64 len = offset (b, 1) - offset (b, 0);
  set_offsets (b, offset (k, 0), offset (k, 0) + len);
}
static void outside (JsonObject *r, GByteArray *d)
{
  JsonObject *b = tensor (r, "dense/bias");
  gint64 len = offset (b, 1) - offset (b, 0);
  set_offsets (b, (gint64) d->len, (gint64) d->len + len);
}
static void trailing_data (JsonObject *r, GByteArray *d)
{
  static const guint8 junk[4] = { 1, 2, 3, 4 };
  g_byte_array_append (d, junk, sizeof junk);
}
static void extra_tensor (JsonObject *r, GByteArray *d)
{
  static const guint8 one[4] = { 0, 0, 0x80, 0x3f };
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, 1);
  JsonObject *t = json_object_new ();
  json_object_set_string_member (t, "dtype", "F32");
  json_object_set_array_member (t, "shape", a);
  set_offsets (t, (gint64) d->len, (gint64) d->len + 4);
  json_object_set_object_member (r, "extra/kernel", t);
  g_byte_array_append (d, one, sizeof one);
}

/* Same bytes, a name the model does not have. */
static void unknown_tensor (JsonObject *r, GByteArray *d)
{
  JsonNode *b = json_object_dup_member (r, "dense/bias");
  json_object_remove_member (r, "dense/bias");
  json_object_set_member (r, "extra/bias", b);
}

typedef struct {
  const char *name;
  void      (*edit) (JsonObject *root, GByteArray *data);
  const char *expect;   /* in the message, besides the file name */
} Case;

static const Case cases[] = {
  { "dtype-number", dtype_number, "“dense/bias” has no dtype" },
  { "classes-huge", classes_huge, "“classes” is “2147483647”" },
  { "classes-above-bound", classes_above_bound, "“classes” is “100001”" },
  { "image-size-huge", image_size_huge, "“image_size” is “65536”" },
  { "width-trailing", width_trailing, "“width” is “0.0625x”" },
  { "dropout-negative", dropout_negative, "“dropout” is “-0.5”" },
  { "metadata-number", metadata_number, "“classes” is not a string" },
  { "class-names-short", names_short, "“class_names” lists 1 names" },
  { "class-names-long", names_long, "“class_names” lists 4 names" },
  { "class-names-not-strings", names_not_strings, "“class_names”: entry 0" },
  { "shape-string", shape_string, "“dense/bias” has no shape" },
  { "shape-element-string", shape_element_string, "“dense/bias”: dimension 0" },
  { "offsets-object", offsets_object, "“dense/bias” has no data_offsets" },
  { "offsets-double", offsets_double, "“dense/bias”: data_offsets are not" },
  { "rank-nine", rank_nine, "“dense/bias” has 9 dimensions" },
  { "count-overflow", count_overflow, "“huge” has more elements" },
  { "overlap", overlap, "overlaps tensor “dense/bias”" },
  { "outside", outside, "“dense/bias”: data_offsets [56532, 56544] are outside" },
  { "trailing-data", trailing_data, "belong to no tensor" },
  { "extra-tensor", extra_tensor, "holds 56536 bytes of tensors but the model" },
  { "model-huge", model_huge, "holds 56532 bytes of tensors but the model" },
  { "unknown-tensor", unknown_tensor, "“extra/bias” is not a parameter" },
};

static void
expect_refused (const char *path, const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (GraftModel) m = graft_checkpoint_load (path, &names, &error);
  g_assert_null (m);
  g_assert_null (names);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == GRAFT_ERROR);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, expect));
}

static void
test_crafted (gconstpointer data)
{
  const Case *c = data;
  JsonNode *root = fresh_header ();
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (base_data, &len);
  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, d, len);
  c->edit (json_node_get_object (root), bytes);
  g_autofree char *header = json_to_string (root, FALSE);
  /* A neutral file name, so that only the message itself can match @expect. */
  g_autofree char *path = write_file ("crafted", header, bytes->data, bytes->len);
  expect_refused (path, c->expect);
  g_unlink (path);
  g_byte_array_unref (bytes);
  json_node_unref (root);
}

/* The unedited header loads, with exactly the three names: the cases above fail for their edit. */
static void
test_base_loads (void)
{
  g_autofree char *header = json_to_string (base_header, FALSE);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (base_data, &len);
  g_autofree char *path = write_file ("base-again", header, d, len);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (GraftModel) m = graft_checkpoint_load (path, &names, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (base_header);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      JsonObject *t = tensor (root, p->full_name);
      g_assert_cmpint (offset (t, 1) - offset (t, 0), ==, p->count * 4);
      g_assert_cmpmem (graft_model_host_params (m) + p->offset, p->count * 4, d + offset (t, 0),
                       p->count * 4);
    }
  const char *want[] = { "cat", "dog", "bird", NULL };
  g_assert_cmpstrv (names, want);
  g_unlink (path);
}

/* A member named twice: json-glib would keep the second silently. */
static void
test_duplicate_tensor (void)
{
  g_autofree char *header = json_to_string (base_header, FALSE);
  JsonObject *bias = tensor (json_node_get_object (base_header), "dense/bias");
  JsonNode *bn = json_node_alloc ();
  json_node_init_object (bn, bias);
  g_autofree char *desc = json_to_string (bn, FALSE);
  json_node_unref (bn);
  g_autofree char *twice = g_strdup_printf ("{\"dense/bias\":%s,%s", desc, header + 1);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (base_data, &len);
  g_autofree char *path = write_file ("duplicate", twice, d, len);
  expect_refused (path, "“dense/bias” appears twice");
  g_unlink (path);
}

static char *
nested (const char *open, const char *close, int depth, const char *inner)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < depth; i++)
    g_string_append (s, open);
  g_string_append (s, inner);
  for (int i = 0; i < depth; i++)
    g_string_append (s, close);
  return g_string_free (s, FALSE);
}

static void
test_deep_header (void)
{
  g_autofree char *deep = nested ("{\"a\":", "}", 100000, "1");
  g_autofree char *path = write_file ("deep", deep, NULL, 0);
  expect_refused (path, "nested deeper than 64 levels");
  g_autofree char *arrays = nested ("[", "]", 100000, "");
  g_autofree char *path2 = write_file ("deep-arrays", arrays, NULL, 0);
  expect_refused (path2, "nested deeper than 64 levels");
  g_unlink (path);
  g_unlink (path2);
}

static void
test_deep_class_names (void)
{
  g_autofree char *deep = nested ("[", "]", 100000, "");
  JsonNode *root = fresh_header ();
  json_object_set_string_member (metadata (json_node_get_object (root)), "class_names", deep);
  g_autofree char *header = json_to_string (root, FALSE);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (base_data, &len);
  g_autofree char *path = write_file ("deep-names", header, d, len);
  expect_refused (path, "nested deeper than 64 levels");
  g_unlink (path);
  json_node_unref (root);
}

static void
test_deep_study (void)
{
  g_autofree char *inner = nested ("[", "]", 100000, "");
  g_autofree char *text = g_strdup_printf ("{\"format\": 1, \"runs\": %s}", inner);
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_from_json (text, -1, "/x/study.json", &error);
  g_assert_null (s);
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_assert_cmpstr (error->message, ==, "/x/study.json: nested deeper than 64 levels");
}

/* json-glib turns "\ud800" into invalid UTF-8; a study holding it could be saved but not
 * read again. Found by fuzz-study-json. */
static void
test_lone_surrogate_study (void)
{
  static const char *const texts[] = {
    "{\"format\": 1, \"source\": \"a\", \"target\": \"d\\ud800t\", "
    "\"runs\": [{\"id\": \"r\", \"data\": \"source\"}]}",
    "{\"format\": 1, \"x\\udc00y\": 1, \"source\": \"a\", \"target\": \"b\", "
    "\"runs\": [{\"id\": \"r\", \"data\": \"source\"}]}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftStudy) s = graft_study_from_json (texts[i], -1, "/x/study.json", &error);
      g_assert_null (s);
      g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
      g_assert_true (g_str_has_prefix (error->message, "/x/study.json: "));
      g_assert_nonnull (strstr (error->message, "not valid Unicode"));
    }
  /* A proper pair is one character, and stays readable. */
  const char *pair = "{\"format\": 1, \"source\": \"a\", \"target\": \"\\ud83d\\ude00\", "
                     "\"runs\": [{\"id\": \"r\", \"data\": \"source\"}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (GraftStudy) s = graft_study_from_json (pair, -1, "/x/study.json", &error);
  g_assert_no_error (error);
  g_autofree char *text = graft_study_to_json (s);
  g_assert_nonnull (strstr (text, "\xf0\x9f\x98\x80"));
  g_autoptr (GraftStudy) back = graft_study_from_json (text, -1, "written", &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
}

/* The depth scan counts only brackets outside strings, so deep-looking text is still read. */
static void
test_json_depth_limit (void)
{
  static const struct { int depth; const char *inner; gboolean ok; } rows[] = {
    { 64, "", TRUE },
    { 65, "", FALSE },
    { 64, "\"[[[[[[\"", TRUE },
    { 63, "\"\\\"[[[\"", TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *text = nested ("[", "]", rows[i].depth, rows[i].inner);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) n = graft_json_parse (text, -1, "row", &error);
      g_assert_cmpint (n != NULL, ==, rows[i].ok);
      if (!rows[i].ok)
        g_assert_cmpstr (error->message, ==, "row: nested deeper than 64 levels");
    }
  g_autoptr (GError) error = NULL;
  g_assert_null (graft_json_parse ("{\"a\": [1,}", -1, "bad", &error));
  g_assert_true (g_str_has_prefix (error->message, "bad: not valid JSON: "));
}

static void
be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* 4 × 2³¹ × 2³¹ pixels wrap a 64-bit byte count to 0, which an empty images file matched
 * (the import then compressed "images" from bytes that are not there). */
static void
test_idx_count_wraps (void)
{
  guint8 images[16] = { 0, 0, 8, 3 }, labels[12] = { 0, 0, 8, 1 };
  be32 (images + 4, 4);
  be32 (images + 8, 1u << 31);
  be32 (images + 12, 1u << 31);
  be32 (labels + 4, 4);
  for (int i = 0; i < 4; i++)
    labels[8 + i] = (guint8) i;
  g_autofree char *ip = g_build_filename (dir, "wrap-images-idx3-ubyte", NULL);
  g_autofree char *lp = g_build_filename (dir, "wrap-labels-idx1-ubyte", NULL);
  g_autofree char *out = g_build_filename (dir, "wrap-out", NULL);
  g_assert_true (g_file_set_contents (ip, (const char *) images, sizeof images, NULL));
  g_assert_true (g_file_set_contents (lp, (const char *) labels, sizeof labels, NULL));
  g_autoptr (GError) error = NULL;
  guint written = 0;
  g_assert_false (graft_idx_import (ip, lp, out, NULL, NULL, 0, 1, &written, NULL, NULL, NULL,
                                    &error));
  g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, ip));
  g_assert_cmpuint (written, ==, 0);
  g_unlink (ip);
  g_unlink (lp);
  g_rmdir (out);
}

static void
test_model_bounds (void)
{
  static const struct { GraftModelSpec spec; const char *setting; } rows[] = {
    { { 32, 100000000, 1.0, 0.5 }, "classes" },
    { { 32, 100001, 1.0, 0.5 }, "classes" },
    { { 100000, 2, 1.0, 0.5 }, "Image size" },
    { { 32, 2, 1e9, 0.5 }, "Width" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GraftModel) m = graft_model_new (&rows[i].spec, &error);
      g_assert_null (m);
      g_assert_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, rows[i].setting));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("graft-crafted-XXXXXX", NULL);
  make_base ();
  g_test_add_func ("/crafted/base-loads", test_base_loads);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/crafted/checkpoint/%s", cases[i].name);
      g_test_add_data_func (name, &cases[i], test_crafted);
    }
  g_test_add_func ("/crafted/checkpoint/duplicate-tensor", test_duplicate_tensor);
  g_test_add_func ("/crafted/checkpoint/deep-header", test_deep_header);
  g_test_add_func ("/crafted/checkpoint/deep-class-names", test_deep_class_names);
  g_test_add_func ("/crafted/study/deep", test_deep_study);
  g_test_add_func ("/crafted/study/lone-surrogate", test_lone_surrogate_study);
  g_test_add_func ("/crafted/json/depth-limit", test_json_depth_limit);
  g_test_add_func ("/crafted/idx/count-wraps", test_idx_count_wraps);
  g_test_add_func ("/crafted/model/bounds", test_model_bounds);
  int rc = g_test_run ();
  json_node_unref (base_header);
  g_free (base_text);
  g_bytes_unref (base_data);
  g_rmdir (dir);
  return rc;
}
