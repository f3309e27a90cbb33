/* The application (an AdwApplication): actions, settings, windows. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define GRAFT_TYPE_APPLICATION (graft_application_get_type ())
G_DECLARE_FINAL_TYPE (GraftApplication, graft_application, GRAFT, APPLICATION, AdwApplication)

GraftApplication *graft_application_new          (void);
/* The app's settings, or NULL when the schema is not installed. */
GSettings        *graft_application_get_settings (GraftApplication *self);
/* Exit status of a self-test run (0 otherwise). */
int               graft_application_get_status   (GraftApplication *self);

G_END_DECLS
