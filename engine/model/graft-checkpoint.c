/* Model weights and optimizer state in safetensors files, Keras names and layouts. */
#include "graft-checkpoint.h"
#include "graft-json.h"

#include <json-glib/json-glib.h>

gboolean
graft_checkpoint_save (GraftModel *m, const char *path, const char *const *class_names,
                       GError **error)
{
  const GraftModelSpec *spec = graft_model_spec (m);
  g_autoptr (GraftSafetensorsWriter) w = graft_safetensors_writer_new ();
  char buf[64];
  graft_safetensors_writer_set_metadata (w, "format", GRAFT_CHECKPOINT_FORMAT);
  graft_safetensors_writer_set_metadata (w, "producer", "graft");
  graft_safetensors_writer_set_metadata (w, "architecture", "keras-image-classification-from-scratch");
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

gboolean
graft_checkpoint_load_strict (GraftModel *m, GraftSafetensors *st, GError **error)
{
  float *host = graft_model_host_params (m);
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
meta_int (GraftSafetensors *st, const char *key, int *out, GError **error)
{
  const char *v = graft_safetensors_metadata (st, key);
  gint64 x;
  if (v == NULL || !g_ascii_string_to_signed (v, 10, 1, G_MAXINT, &x, NULL))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s: metadata “%s” is missing or not a positive integer (not a Graft checkpoint?)",
                   graft_safetensors_path (st), key);
      return FALSE;
    }
  *out = (int) x;
  return TRUE;
}

GraftModel *
graft_checkpoint_load (const char *path, char ***class_names, GError **error)
{
  g_autoptr (GraftSafetensors) st = graft_safetensors_read (path, error);
  if (st == NULL)
    return NULL;
  GraftModelSpec spec = { 0, 0, 1.0, 0.5 };
  if (!meta_int (st, "image_size", &spec.image_size, error) ||
      !meta_int (st, "classes", &spec.classes, error))
    return NULL;
  const char *w = graft_safetensors_metadata (st, "width");
  const char *d = graft_safetensors_metadata (st, "dropout");
  if (w)
    spec.width = g_ascii_strtod (w, NULL);
  if (d)
    spec.dropout = g_ascii_strtod (d, NULL);
  g_autoptr (GraftModel) m = graft_model_new (&spec, error);
  if (m == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (!graft_checkpoint_load_strict (m, st, error))
    return NULL;
  if (class_names)
    {
      *class_names = NULL;
      const char *names = graft_safetensors_metadata (st, "class_names");
      g_autoptr (JsonParser) parser = json_parser_new ();
      if (names && json_parser_load_from_data (parser, names, -1, NULL) &&
          JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
        {
          JsonArray *a = json_node_get_array (json_parser_get_root (parser));
          GPtrArray *v = g_ptr_array_new ();
          for (guint i = 0; i < json_array_get_length (a); i++)
            g_ptr_array_add (v, g_strdup (json_array_get_string_element (a, i)));
          g_ptr_array_add (v, NULL);
          *class_names = (char **) g_ptr_array_free (v, FALSE);
        }
    }
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
