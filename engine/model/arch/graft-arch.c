/* The architecture registry. */
#include "graft-arch.h"

#include "graft-error.h"

static const char *const keras_cnn_aliases[] = { "keras-image-classification-from-scratch", NULL };

static const GraftArch archs[] = {
  { "keras-cnn", "Keras' \"image classification from scratch\" CNN (Xception-like, 2.7 M "
    "parameters at width 1)", graft_arch_keras_cnn_build, graft_arch_keras_cnn_presets,
    keras_cnn_aliases },
};

guint
graft_arch_n (void)
{
  return G_N_ELEMENTS (archs);
}

const GraftArch *
graft_arch_nth (guint i)
{
  return i < G_N_ELEMENTS (archs) ? &archs[i] : NULL;
}

char *
graft_arch_list (void)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", archs[i].name);
  return g_string_free (s, FALSE);
}

const GraftArch *
graft_arch_find (const char *name, GError **error)
{
  if (name == NULL || *name == '\0')
    name = GRAFT_ARCH_DEFAULT;
  for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
    {
      if (g_str_equal (archs[i].name, name))
        return &archs[i];
      for (guint a = 0; archs[i].aliases && archs[i].aliases[a]; a++)
        if (g_str_equal (archs[i].aliases[a], name))
          return &archs[i];
    }
  g_autofree char *known = graft_arch_list ();
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "architecture: there is no architecture “%s” (known: %s)", name, known);
  return NULL;
}

const GraftArchPreset *
graft_arch_preset (const GraftArch *arch, const char *id)
{
  for (const GraftArchPreset *p = arch->presets; p && p->id; p++)
    if (g_str_equal (p->id, id))
      return p;
  return NULL;
}
