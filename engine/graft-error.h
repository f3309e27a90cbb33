/* Error domain of the engine and readable OpenCL / CLBlast status messages. */
#pragma once

#include <glib.h>
#include <CL/cl.h>

G_BEGIN_DECLS

#define GRAFT_ERROR (graft_error_quark ())

typedef enum {
  GRAFT_ERROR_FAILED,
  GRAFT_ERROR_NO_DEVICE,
  GRAFT_ERROR_OPENCL,
  GRAFT_ERROR_BUILD,
  GRAFT_ERROR_INVALID_ARGUMENT,
  GRAFT_ERROR_OUT_OF_MEMORY,
  GRAFT_ERROR_IO,
  GRAFT_ERROR_FORMAT,
  GRAFT_ERROR_CANCELLED,
} GraftError;

GQuark       graft_error_quark        (void);
const char  *graft_cl_status_name     (cl_int status);
const char  *graft_clblast_status_name(int status);

/* Sets @error to "<what>: CL_OUT_OF_RESOURCES (-5) at file:line" style text. */
gboolean     graft_cl_check_impl      (cl_int status, const char *what, const char *file,
                                       int line, GError **error);
gboolean     graft_clblast_check_impl (int status, const char *what, const char *file,
                                       int line, GError **error);

#define graft_cl_check(status, what, error) \
  graft_cl_check_impl ((status), (what), __FILE__, __LINE__, (error))
#define graft_clblast_check(status, what, error) \
  graft_clblast_check_impl ((status), (what), __FILE__, __LINE__, (error))

G_END_DECLS
