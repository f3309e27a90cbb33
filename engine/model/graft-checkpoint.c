/* Model weights and optimizer state in safetensors files, Keras names and layouts. */
#include "graft-checkpoint.h"
#include "graft-arch.h"
#include "graft-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

gboolean
graft_checkpoint_save (GraftModel *m, const char *path, const char *const *class_names,
                       GError **error)
{
  const GraftModelSpec *spec = graft_model_spec (m);
  g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
  char buf[64];
  graft_safetensors_writer_set_metadata (w, "format", GRAFT_CHECKPOINT_FORMAT);
  graft_safetensors_writer_set_metadata (w, "producer", "graft");
  graft_safetensors_writer_set_metadata (w, "architecture", spec->architecture);
  g_snprintf (buf, sizeof buf, "%d", spec->image_size);
  graft_safetensors_writer_set_metadata (w, "image_size", buf);
  g_snprintf (buf, sizeof buf, "%d", spec->classes);
  graft_safetensors_writer_set_metadata (w, "classes", buf);
  g_ascii_dtostr (buf, sizeof buf, spec->width);
  graft_safetensors_writer_set_metadata (w, "width", buf);
  g_ascii_dtostr (buf, sizeof buf, spec->dropout);
  graft_safetensors_writer_set_metadata (w, "dropout", buf);
  if (class_names)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (int i = 0; class_names[i]; i++)
        json_builder_add_string_value (b, class_names[i]);
      json_builder_end_array (b);
      g_autofree char *s = graft_json_builder_to_text (b, FALSE, NULL);
      graft_safetensors_writer_set_metadata (w, "class_names", s);
    }
  const float *host = graft_model_host_params (m);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      graft_safetensors_writer_add (w, p->full_name, p->ndim, p->shape, host + p->offset);
    }
  return graft_safetensors_writer_save (w, path, error);
}

static gboolean
same_shape (GraftSafetensors *st, const GraftParam *p)
{
  int shape[8];
  int nd = graft_safetensors_shape (st, p->full_name, shape);
  if (nd != p->ndim)
    return FALSE;
  for (int i = 0; i < nd; i++)
    if (shape[i] != p->shape[i])
      return FALSE;
  return TRUE;
}

static char *
shape_text (int nd, const int *shape)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < nd; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", shape[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* A tensor of @st that is not one of @m's parameters (with @suffixes appended), or NULL. */
static const char *
unknown_tensor (GraftModel *m, GraftSafetensors *st, const char *const *suffixes)
{
  for (guint i = 0; i < graft_safetensors_n_tensors (st); i++)
    {
      const char *name = graft_safetensors_name (st, i);
      gboolean known = FALSE;
      for (guint s = 0; suffixes[s] && !known; s++)
        {
          gsize n = strlen (name), k = strlen (suffixes[s]);
          if (n < k || !g_str_has_suffix (name, suffixes[s]))
            continue;
          g_autofree char *base = g_strndup (name, n - k);
          const GraftParam *p = graft_model_param_find (m, base);
          known = p != NULL && (*suffixes[s] == '\0' || p->trainable);
        }
      if (!known)
        return name;
    }
  return NULL;
}

/* The registry's name of @name (aliases resolved), else @name itself. */
static const char *
arch_name (const char *name)
{
  const GraftArch *a = graft_arch_find (name, NULL);
  return a ? a->name : name;
}

gboolean
graft_checkpoint_check_architecture (GraftModel *m, GraftSafetensors *st, GError **error)
{
  const char *stored = graft_safetensors_metadata (st, "architecture");
  const char *file = arch_name (stored ? stored : GRAFT_ARCH_DEFAULT);
  const char *model = arch_name (graft_model_spec (m)->architecture);
  if (g_str_equal (file, model))
    return TRUE;
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
               "%s holds weights of architecture “%s”, but the model is a “%s”: use a checkpoint "
               "of a %s model, or set architecture to %s", graft_safetensors_path (st), file, model,
               model, file);
  return FALSE;
}

gboolean
graft_checkpoint_load_strict (GraftModel *m, GraftSafetensors *st, GError **error)
{
  float *host = graft_model_host_params (m);
  if (!graft_checkpoint_check_architecture (m, st, error))
    return FALSE;
  static const char *const plain[] = { "", NULL };
  const char *extra = unknown_tensor (m, st, plain);
  if (extra)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: tensor “%s” is not a parameter of this model",
                   graft_safetensors_path (st), extra);
      return FALSE;
    }
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (!graft_safetensors_has (st, p->full_name))
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s has no tensor “%s”",
                       graft_safetensors_path (st), p->full_name);
          return FALSE;
        }
      if (!same_shape (st, p))
        {
          int shape[8];
          int nd = graft_safetensors_shape (st, p->full_name, shape);
          g_autofree char *got = shape_text (nd, shape);
          g_autofree char *want = shape_text (p->ndim, p->shape);
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s: tensor “%s” has shape %s, the model needs %s",
                       graft_safetensors_path (st), p->full_name, got, want);
          return FALSE;
        }
      if (!graft_safetensors_copy (st, p->full_name, host + p->offset, p->count, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
meta_int (GraftSafetensors *st, const char *key, int lo, int hi, int *out, GError **error)
{
  const char *v = graft_safetensors_metadata (st, key);
  gint64 x;
  if (v == NULL)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: metadata “%s” is missing (not a Graft checkpoint?)",
                   graft_safetensors_path (st), key);
      return FALSE;
    }
  if (!g_ascii_string_to_signed (v, 10, lo, hi, &x, NULL))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: metadata “%s” is “%s”, not an integer from %d to %d",
                   graft_safetensors_path (st), key, v, lo, hi);
      return FALSE;
    }
  *out = (int) x;
  return TRUE;
}

/* An optional number in (@lo, @hi] or [@lo, @hi) as @lo_open says. */
static gboolean
meta_double (GraftSafetensors *st, const char *key, double lo, double hi, gboolean lo_open,
             double *out, GError **error)
{
  const char *v = graft_safetensors_metadata (st, key);
  if (v == NULL)
    return TRUE;
  char *end = NULL;
  double x = g_ascii_strtod (v, &end);
  gboolean in = lo_open ? (x > lo && x <= hi) : (x >= lo && x < hi);
  if (end == v || *end != '\0' || !in)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: metadata “%s” is “%s”, not a number in %s%g, %g%s",
                   graft_safetensors_path (st), key, v, lo_open ? "(" : "[", lo, hi,
                   lo_open ? "]" : ")");
      return FALSE;
    }
  *out = x;
  return TRUE;
}

/* Exactly @classes strings, or NULL when the checkpoint names none. */
static gboolean
meta_class_names (GraftSafetensors *st, int classes, char ***out, GError **error)
{
  *out = NULL;
  const char *names = graft_safetensors_metadata (st, "class_names");
  if (names == NULL)
    return TRUE;
  g_autofree char *what = g_strdup_printf ("%s: metadata “class_names”",
                                           graft_safetensors_path (st));
  g_autoptr (JsonNode) root = graft_json_parse (names, -1, what, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s is not an array of names", what);
      return FALSE;
    }
  JsonArray *a = json_node_get_array (root);
  if (json_array_get_length (a) != (guint) classes)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s lists %u names but metadata “classes” is %d", what,
                   json_array_get_length (a), classes);
      return FALSE;
    }
  g_autoptr (GPtrArray) v = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: entry %u is not a string",
                       what, i);
          return FALSE;
        }
      g_ptr_array_add (v, g_strdup (json_node_get_string (e)));
    }
  g_ptr_array_add (v, NULL);
  *out = (char **) g_ptr_array_steal (v, NULL);
  return TRUE;
}

GraftModel *
graft_checkpoint_load (const char *path, char ***class_names, GError **error)
{
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (path, error);
  if (st == NULL)
    return NULL;
  return graft_checkpoint_load_from (st, class_names, error);
}

GraftModel *
graft_checkpoint_load_from (GraftSafetensors *st, char ***class_names, GError **error)
{
  const char *path = graft_safetensors_path (st);
  GraftModelSpec spec = { 0, 0, 1.0, 0.5 };
  g_auto (GStrv) names = NULL;
  const char *stored = graft_safetensors_metadata (st, "architecture");
  const GraftArch *arch = graft_arch_find (stored, NULL);
  if (arch == NULL)
    {
      g_autofree char *known = graft_arch_list ();
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: metadata “architecture” is “%s”, not an architecture this Graft knows "
                   "(%s)", path, stored, known);
      return NULL;
    }
  spec.architecture = arch->name;
  if (!meta_int (st, "image_size", GRAFT_MODEL_MIN_IMAGE_SIZE, GRAFT_MODEL_MAX_IMAGE_SIZE,
                 &spec.image_size, error) ||
      !meta_int (st, "classes", 2, GRAFT_MODEL_MAX_CLASSES, &spec.classes, error) ||
      !meta_double (st, "width", 0, GRAFT_MODEL_MAX_WIDTH, TRUE, &spec.width, error) ||
      !meta_double (st, "dropout", 0, 1, FALSE, &spec.dropout, error) ||
      !meta_class_names (st, spec.classes, &names, error))
    return NULL;
  /* A file that cannot hold the model is refused before the model is allocated:
   * metadata alone could ask for gigabytes. */
  gsize n_floats = 0;
  if (!graft_model_spec_n_floats (&spec, &n_floats, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (graft_safetensors_data_size (st) != n_floats * 4)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s holds %" G_GSIZE_FORMAT " bytes of tensors but the model its metadata "
                   "describes (architecture %s, image_size %d, classes %d, width %g) has %"
                   G_GSIZE_FORMAT " bytes of parameters", path, graft_safetensors_data_size (st),
                   spec.architecture, spec.image_size, spec.classes, spec.width, n_floats * 4);
      return NULL;
    }
  g_autoptr (GraftModel) m = graft_model_new (&spec, error);
  if (m == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (!graft_checkpoint_load_strict (m, st, error))
    return NULL;
  if (class_names)
    *class_names = g_steal_pointer (&names);
  return g_steal_pointer (&m);
}

void
graft_checkpoint_transfer (GraftModel *m, GraftSafetensors *st, GPtrArray *loaded,
                           GString *report)
{
  float *host = graft_model_host_params (m);
  for (guint l = 0; l < graft_model_n_layers (m); l++)
    {
      if (!graft_model_layer_has_params (m, l))
        continue;
      gboolean all = TRUE;
      for (guint i = 0; i < graft_model_n_params (m) && all; i++)
        {
          const GraftParam *p = graft_model_param (m, i);
          if (p->layer != (int) l)
            continue;
          if (!graft_safetensors_has (st, p->full_name))
            {
              g_string_append_printf (report, "%s: not in %s, keeps its initial values\n",
                                      graft_model_layer_name (m, l), graft_safetensors_path (st));
              all = FALSE;
            }
          else if (!same_shape (st, p))
            {
              int shape[8];
              int nd = graft_safetensors_shape (st, p->full_name, shape);
              g_autofree char *got = shape_text (nd, shape);
              g_autofree char *want = shape_text (p->ndim, p->shape);
              g_string_append_printf (report, "%s: %s is %s in the checkpoint and %s here, so the "
                                      "layer is replaced (new initial values)\n",
                                      graft_model_layer_name (m, l), p->full_name, got, want);
              all = FALSE;
            }
        }
      if (!all)
        continue;
      for (guint i = 0; i < graft_model_n_params (m); i++)
        {
          const GraftParam *p = graft_model_param (m, i);
          if (p->layer == (int) l)
            graft_safetensors_copy (st, p->full_name, host + p->offset, p->count, NULL);
        }
      if (loaded)
        g_ptr_array_add (loaded, (gpointer) graft_model_layer_name (m, l));
    }
}

gboolean
graft_optimizer_save (GraftModel *m, const char *path, gint64 step, GError **error)
{
  gsize n = graft_model_trainable_floats (m);
  g_autofree float *mh = g_new (float, MAX (n, 1));
  g_autofree float *vh = g_new (float, MAX (n, 1));
  if (!graft_model_read_adam (m, mh, vh, error))
    return FALSE;
  g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
  char buf[32];
  g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, step);
  graft_safetensors_writer_set_metadata (w, "format", GRAFT_CHECKPOINT_FORMAT);
  graft_safetensors_writer_set_metadata (w, "optimizer", "adam");
  graft_safetensors_writer_set_metadata (w, "step", buf);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (!p->trainable)
        continue;
      char *mn = g_strdup_printf ("%s/m", p->full_name), *vn = g_strdup_printf ("%s/v", p->full_name);
      g_ptr_array_add (names, mn);
      g_ptr_array_add (names, vn);
      graft_safetensors_writer_add (w, mn, p->ndim, p->shape, mh + p->offset);
      graft_safetensors_writer_add (w, vn, p->ndim, p->shape, vh + p->offset);
    }
  gboolean ok = graft_safetensors_writer_save (w, path, error);
  g_ptr_array_unref (names);
  return ok;
}

gboolean
graft_optimizer_load (GraftModel *m, const char *path, gint64 *step, GError **error)
{
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (path, error);
  if (st == NULL)
    return FALSE;
  const char *s = graft_safetensors_metadata (st, "step");
  if (s == NULL || !g_ascii_string_to_signed (s, 10, 0, G_MAXINT64, step, NULL))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: metadata “step” is missing", path);
      return FALSE;
    }
  static const char *const moments[] = { "/m", "/v", NULL };
  const char *extra = unknown_tensor (m, st, moments);
  if (extra)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: tensor “%s” is not a moment of a trainable parameter of this model", path,
                   extra);
      return FALSE;
    }
  gsize n = graft_model_trainable_floats (m);
  g_autofree float *mh = g_new0 (float, MAX (n, 1));
  g_autofree float *vh = g_new0 (float, MAX (n, 1));
  for (guint i = 0; i < graft_model_n_params (m); i++)
    {
      const GraftParam *p = graft_model_param (m, i);
      if (!p->trainable)
        continue;
      g_autofree char *mn = g_strdup_printf ("%s/m", p->full_name);
      g_autofree char *vn = g_strdup_printf ("%s/v", p->full_name);
      if (!graft_safetensors_copy (st, mn, mh + p->offset, p->count, error) ||
          !graft_safetensors_copy (st, vn, vh + p->offset, p->count, error))
        return FALSE;
    }
  return graft_model_write_adam (m, mh, vh, error);
}
