/* The main window: header bar with the OpenCL device menu, and the study area. */
#include "graft-config.h"
#include "graft-window.h"

#include "graft-device.h"

struct _GraftWindow {
  GtkApplicationWindow parent_instance;
  GtkDropDown *device_dropdown;
  GtkLabel    *device_label;
  GPtrArray   *devices;
};

G_DEFINE_FINAL_TYPE (GraftWindow, graft_window, GTK_TYPE_APPLICATION_WINDOW)

static void
device_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GraftWindow *self)
{
  guint i = gtk_drop_down_get_selected (dropdown);
  if (self->devices == NULL || i >= self->devices->len)
    return;
  GraftDeviceInfo *d = self->devices->pdata[i];
  g_autofree char *mem = graft_format_bytes (d->global_mem);
  g_autofree char *text = g_strdup_printf ("%s · %s · %u compute units · %s · %s", d->type,
                                           d->vendor, d->compute_units, mem, d->opencl_version);
  gtk_label_set_text (self->device_label, text);
}

static void
load_devices (GraftWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  self->devices = graft_device_list_all (&error);
  if (self->devices)
    for (guint i = 0; i < self->devices->len; i++)
      {
        GraftDeviceInfo *d = self->devices->pdata[i];
        g_autofree char *label = g_strdup_printf ("%s (%s)", d->name, d->type);
        gtk_string_list_append (names, label);
      }
  gtk_drop_down_set_model (self->device_dropdown, G_LIST_MODEL (names));
  if (self->devices == NULL || self->devices->len == 0)
    gtk_label_set_text (self->device_label,
                        error ? error->message
                              : "No OpenCL device found: install a GPU driver or pocl-opencl-icd");
  else
    device_selected_cb (self->device_dropdown, NULL, self);
}

static void
graft_window_dispose (GObject *object)
{
  GraftWindow *self = GRAFT_WINDOW (object);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), GRAFT_TYPE_WINDOW);
  G_OBJECT_CLASS (graft_window_parent_class)->dispose (object);
}

static void
graft_window_class_init (GraftWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = graft_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/graft/Graft/ui/graft-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GraftWindow, device_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GraftWindow, device_label);
  gtk_widget_class_bind_template_callback (widget_class, device_selected_cb);
}

static void
graft_window_init (GraftWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  load_devices (self);
}

GraftWindow *
graft_window_new (GraftApplication *app)
{
  return g_object_new (GRAFT_TYPE_WINDOW, "application", app, NULL);
}
