/* The GtkApplication: app-wide actions and the main window. */
#include "graft-config.h"
#include "graft-application.h"
#include "graft-window.h"

struct _GraftApplication {
  GtkApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (GraftApplication, graft_application, GTK_TYPE_APPLICATION)

static void
graft_application_activate (GApplication *app)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (win == NULL)
    win = GTK_WINDOW (graft_window_new (GRAFT_APPLICATION (app)));
  gtk_window_present (win);
}

static void
quit_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  const char *authors[] = { "The Graft developers", NULL };
  gtk_show_about_dialog (win, "program-name", "Graft", "version", GRAFT_VERSION,
                         "comments", "Transfer-learning studies on any OpenCL device",
                         "logo-icon-name", GRAFT_APP_ID, "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors, NULL);
}

static void
graft_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (graft_application_parent_class)->startup (app);
  static const GActionEntry entries[] = {
    { "quit", quit_action_cb },
    { "about", about_action_cb },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  const char *quit_accels[] = { "<Control>q", NULL };
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
}

static void
graft_application_class_init (GraftApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  app_class->activate = graft_application_activate;
  app_class->startup = graft_application_startup;
}

static void
graft_application_init (GraftApplication *self)
{
}

GraftApplication *
graft_application_new (void)
{
  return g_object_new (GRAFT_TYPE_APPLICATION, "application-id", GRAFT_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS, NULL);
}
