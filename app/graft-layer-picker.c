/* A checklist of the model's layers with weights, with the study's presets as shortcuts. */
#include "graft-config.h"
#include "graft-layer-picker.h"

#include "graft-layer-presets.h"

#include <string.h>

struct _GraftLayerPicker {
  GtkBox      parent_instance;
  GtkBox     *preset_box;
  GtkGrid    *layer_grid;
  GStrv       model_layers; /* the model's, in network order */
  char       *arch;         /* whose presets the buttons offer; NULL = keras-cnn */
  GPtrArray  *infos;        /* GraftLayerInfo* of the model's layers (borrowed array, ref) */
  GStrv       layers;       /* shown: the model's, then extra names from the study */
  GPtrArray  *checks;       /* GtkCheckButton*, parallel to layers */
  GPtrArray  *states;       /* GtkLabel* "in training" column, parallel to layers */
  gboolean    frozen;
  gboolean    updating;
};

G_DEFINE_FINAL_TYPE (GraftLayerPicker, graft_layer_picker, GTK_TYPE_BOX)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
update_states (GraftLayerPicker *self)
{
  for (guint i = 0; i < self->checks->len; i++)
    {
      gboolean on = gtk_check_button_get_active (self->checks->pdata[i]);
      gtk_label_set_text (self->states->pdata[i],
                          on ? "re-initialised, trained"
                             : self->frozen ? "transferred, frozen" : "transferred, trained");
    }
}

static void
check_toggled_cb (GtkCheckButton *check, GraftLayerPicker *self)
{
  update_states (self);
  if (!self->updating)
    g_signal_emit (self, signals[CHANGED], 0);
}

static GtkWidget *
cell (const char *text, float xalign, gboolean dim)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), xalign);
  gtk_widget_add_css_class (l, "numeric");
  if (dim)
    gtk_widget_add_css_class (l, "dim-label");
  return l;
}

/* 2731065 → "2,731,065", as Keras' summary writes parameter counts. */
static char *
group_digits (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *s = g_string_new (NULL);
  gsize len = strlen (digits);
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, digits[i]);
    }
  return g_string_free (s, FALSE);
}

static const GraftLayerInfo *
find_info (GraftLayerPicker *self, const char *name)
{
  for (guint i = 0; self->infos && i < self->infos->len; i++)
    if (g_str_equal (((GraftLayerInfo *) self->infos->pdata[i])->name, name))
      return self->infos->pdata[i];
  return NULL;
}

/* One line per layer, in network order from the top: a single column that reads one way. */
static void
rebuild (GraftLayerPicker *self, const char *const *layers)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layer_grid))) != NULL)
    gtk_grid_remove (self->layer_grid, child);
  g_ptr_array_set_size (self->checks, 0);
  g_ptr_array_set_size (self->states, 0);
  g_auto (GStrv) names = g_strdupv ((char **) layers);
  g_strfreev (self->layers);
  self->layers = g_steal_pointer (&names);
  const char *heads[] = { "Layer", "Kind", "Output", "Parameters", "In training" };
  for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
    {
      GtkWidget *h = cell (heads[c], c == 3 ? 1 : 0, TRUE);
      gtk_widget_add_css_class (h, "caption-heading");
      gtk_grid_attach (self->layer_grid, h, c, 0, 1, 1);
    }
  for (guint i = 0; self->layers && self->layers[i]; i++)
    {
      const GraftLayerInfo *info = find_info (self, self->layers[i]);
      GtkWidget *check = gtk_check_button_new_with_label (self->layers[i]);
      gtk_widget_set_name (check, self->layers[i]);
      g_signal_connect (check, "toggled", G_CALLBACK (check_toggled_cb), self);
      /* Per image, as Keras prints it without the batch: a dense layer's units alone. */
      g_autofree char *shape = info == NULL ? g_strdup ("—")
                               : info->h == 1 && info->w == 1 ? g_strdup_printf ("%d", info->c)
                               : g_strdup_printf ("%d × %d × %d", info->h, info->w, info->c);
      g_autofree char *params = info ? group_digits (info->params) : g_strdup ("—");
      GtkWidget *state = cell ("", 0, TRUE);
      gtk_grid_attach (self->layer_grid, check, 0, i + 1, 1, 1);
      gtk_grid_attach (self->layer_grid, cell (info ? info->kind : "not in this model", 0, TRUE),
                       1, i + 1, 1, 1);
      gtk_grid_attach (self->layer_grid, cell (shape, 0, FALSE), 2, i + 1, 1, 1);
      gtk_grid_attach (self->layer_grid, cell (params, 1, FALSE), 3, i + 1, 1, 1);
      gtk_grid_attach (self->layer_grid, state, 4, i + 1, 1, 1);
      g_ptr_array_add (self->checks, check);
      g_ptr_array_add (self->states, state);
    }
  update_states (self);
}

void
graft_layer_picker_set_layers (GraftLayerPicker *self, GPtrArray *layers)
{
  g_return_if_fail (GRAFT_IS_LAYER_PICKER (self));
  g_auto (GStrv) selected = graft_layer_picker_get_selected (self);
  g_clear_pointer (&self->infos, g_ptr_array_unref);
  self->infos = layers ? g_ptr_array_ref (layers) : NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; layers && i < layers->len; i++)
    g_strv_builder_add (b, ((GraftLayerInfo *) layers->pdata[i])->name);
  g_strfreev (self->model_layers);
  self->model_layers = g_strv_builder_end (b);
  self->updating = TRUE;
  rebuild (self, (const char *const *) self->model_layers);
  self->updating = FALSE;
  graft_layer_picker_set_selected (self, (const char *const *) selected);
}

void
graft_layer_picker_set_selected (GraftLayerPicker *self, const char *const *names)
{
  g_return_if_fail (GRAFT_IS_LAYER_PICKER (self));
  /* A study may name layers this model does not list (another width, a hand
   * edit): show them as extra rows rather than drop them silently. */
  for (guint i = 0; names && names[i]; i++)
    if (self->layers == NULL || !g_strv_contains ((const char *const *) self->layers, names[i]))
      {
        g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
        if (self->layers)
          g_strv_builder_addv (b, (const char **) self->layers);
        g_strv_builder_add (b, names[i]);
        g_auto (GStrv) more = g_strv_builder_end (b);
        self->updating = TRUE;
        rebuild (self, (const char *const *) more);
        self->updating = FALSE;
      }
  gboolean changed = FALSE;
  self->updating = TRUE;
  for (guint i = 0; i < self->checks->len; i++)
    {
      gboolean on = names && g_strv_contains (names, self->layers[i]);
      GtkCheckButton *check = self->checks->pdata[i];
      if (gtk_check_button_get_active (check) != on)
        {
          gtk_check_button_set_active (check, on);
          changed = TRUE;
        }
    }
  self->updating = FALSE;
  if (changed)
    g_signal_emit (self, signals[CHANGED], 0);
}

GStrv
graft_layer_picker_get_selected (GraftLayerPicker *self)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < self->checks->len; i++)
    if (gtk_check_button_get_active (self->checks->pdata[i]))
      g_strv_builder_add (b, self->layers[i]);
  return g_strv_builder_end (b);
}

void
graft_layer_picker_set_frozen (GraftLayerPicker *self, gboolean frozen)
{
  self->frozen = frozen;
  update_states (self);
}

char *
graft_layer_picker_describe (GraftLayerPicker *self)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < self->checks->len; i++)
    {
      GtkWidget *check = self->checks->pdata[i];
      graphene_point_t p = GRAPHENE_POINT_INIT (0, 0), at;
      if (!gtk_widget_compute_point (check, GTK_WIDGET (self), &p, &at))
        at = GRAPHENE_POINT_INIT (-1, -1);
      GtkWidget *kind = gtk_widget_get_next_sibling (check);
      GtkWidget *shape = gtk_widget_get_next_sibling (kind);
      GtkWidget *params = gtk_widget_get_next_sibling (shape);
      g_string_append_printf (s, "%s | %s | %s | %s | %s | %s | %.0f %.0f\n", self->layers[i],
                              gtk_label_get_text (GTK_LABEL (kind)),
                              gtk_label_get_text (GTK_LABEL (shape)),
                              gtk_label_get_text (GTK_LABEL (params)),
                              gtk_label_get_text (self->states->pdata[i]),
                              gtk_check_button_get_active (GTK_CHECK_BUTTON (check)) ? "ticked"
                                                                                     : "not ticked",
                              at.x, at.y);
    }
  return g_string_free (s, FALSE);
}

static void
preset_action_cb (GtkWidget *widget, const char *action_name, GVariant *param)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (widget);
  guint preset = (guint) g_variant_get_int32 (param);
  /* Presets pick from the model's own layers, never from extra rows. */
  g_auto (GStrv) picked = graft_layer_preset_pick_for (self->arch,
                                                       (const char *const *) self->model_layers,
                                                       preset);
  graft_layer_picker_set_selected (self, (const char *const *) picked);
}

static void
graft_layer_picker_dispose (GObject *object)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_LAYER_PICKER);
  G_OBJECT_CLASS (graft_layer_picker_parent_class)->dispose (object);
}

static void
graft_layer_picker_finalize (GObject *object)
{
  GraftLayerPicker *self = GRAFT_LAYER_PICKER (object);
  g_strfreev (self->layers);
  g_strfreev (self->model_layers);
  g_free (self->arch);
  g_clear_pointer (&self->infos, g_ptr_array_unref);
  g_ptr_array_unref (self->checks);
  g_ptr_array_unref (self->states);
  G_OBJECT_CLASS (graft_layer_picker_parent_class)->finalize (object);
}

static void
graft_layer_picker_class_init (GraftLayerPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = graft_layer_picker_dispose;
  object_class->finalize = graft_layer_picker_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/graft/Graft/ui/graft-layer-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftLayerPicker, preset_box);
  gtk_widget_class_bind_template_child (widget_class, GraftLayerPicker, layer_grid);
  gtk_widget_class_install_action (widget_class, "picker.preset", "i", preset_action_cb);
}

/* None and the architecture's presets (on the Keras CNN, the reference study's experiment
 * names). */
static void
add_preset_buttons (GraftLayerPicker *self)
{
  for (guint p = 0; p <= graft_layer_presets_n (self->arch); p++)
    {
      GtkWidget *button = gtk_button_new_with_label (graft_layer_preset_label_for (self->arch, p));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "picker.preset");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "i", (gint32) p);
      gtk_box_append (self->preset_box, button);
    }
}

static void
graft_layer_picker_init (GraftLayerPicker *self)
{
  self->checks = g_ptr_array_new ();
  self->states = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  add_preset_buttons (self);
  rebuild (self, NULL);
}

void
graft_layer_picker_set_architecture (GraftLayerPicker *self, const char *arch)
{
  g_return_if_fail (GRAFT_IS_LAYER_PICKER (self));
  if (g_strcmp0 (self->arch, arch) == 0)
    return;
  g_free (self->arch);
  self->arch = g_strdup (arch);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->preset_box))))
    gtk_box_remove (self->preset_box, child);
  add_preset_buttons (self);
}

GtkWidget *
graft_layer_picker_new (void)
{
  return g_object_new (GRAFT_TYPE_LAYER_PICKER, NULL);
}
