/* graft: the GTK 4 desktop app. */
#include "graft-config.h"
#include "graft-application.h"

#include <locale.h>

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autoptr (GraftApplication) app = graft_application_new ();
  int status = g_application_run (G_APPLICATION (app), argc, argv);
  return status ? status : graft_application_get_status (app);
}
