/* graft: the GTK 4 desktop app. */
#include "graft-config.h"
#include "graft-application.h"

#include <locale.h>

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autoptr (GraftApplication) app = graft_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
