/* Turns OpenCL and CLBlast status codes into messages a user can act on. */
#include "graft-error.h"

#include <clblast_c.h>

G_DEFINE_QUARK (graft-error-quark, graft_error)

const char *
graft_cl_status_name (cl_int status)
{
  switch (status)
    {
#define S(x) case x: return #x;
    S (CL_SUCCESS) S (CL_DEVICE_NOT_FOUND) S (CL_DEVICE_NOT_AVAILABLE)
    S (CL_COMPILER_NOT_AVAILABLE) S (CL_MEM_OBJECT_ALLOCATION_FAILURE)
    S (CL_OUT_OF_RESOURCES) S (CL_OUT_OF_HOST_MEMORY) S (CL_PROFILING_INFO_NOT_AVAILABLE)
    S (CL_MEM_COPY_OVERLAP) S (CL_IMAGE_FORMAT_MISMATCH) S (CL_IMAGE_FORMAT_NOT_SUPPORTED)
    S (CL_BUILD_PROGRAM_FAILURE) S (CL_MAP_FAILURE) S (CL_MISALIGNED_SUB_BUFFER_OFFSET)
    S (CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) S (CL_COMPILE_PROGRAM_FAILURE)
    S (CL_LINKER_NOT_AVAILABLE) S (CL_LINK_PROGRAM_FAILURE) S (CL_DEVICE_PARTITION_FAILED)
    S (CL_KERNEL_ARG_INFO_NOT_AVAILABLE) S (CL_INVALID_VALUE) S (CL_INVALID_DEVICE_TYPE)
    S (CL_INVALID_PLATFORM) S (CL_INVALID_DEVICE) S (CL_INVALID_CONTEXT)
    S (CL_INVALID_QUEUE_PROPERTIES) S (CL_INVALID_COMMAND_QUEUE) S (CL_INVALID_HOST_PTR)
    S (CL_INVALID_MEM_OBJECT) S (CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) S (CL_INVALID_IMAGE_SIZE)
    S (CL_INVALID_SAMPLER) S (CL_INVALID_BINARY) S (CL_INVALID_BUILD_OPTIONS)
    S (CL_INVALID_PROGRAM) S (CL_INVALID_PROGRAM_EXECUTABLE) S (CL_INVALID_KERNEL_NAME)
    S (CL_INVALID_KERNEL_DEFINITION) S (CL_INVALID_KERNEL) S (CL_INVALID_ARG_INDEX)
    S (CL_INVALID_ARG_VALUE) S (CL_INVALID_ARG_SIZE) S (CL_INVALID_KERNEL_ARGS)
    S (CL_INVALID_WORK_DIMENSION) S (CL_INVALID_WORK_GROUP_SIZE) S (CL_INVALID_WORK_ITEM_SIZE)
    S (CL_INVALID_GLOBAL_OFFSET) S (CL_INVALID_EVENT_WAIT_LIST) S (CL_INVALID_EVENT)
    S (CL_INVALID_OPERATION) S (CL_INVALID_GL_OBJECT) S (CL_INVALID_BUFFER_SIZE)
    S (CL_INVALID_MIP_LEVEL) S (CL_INVALID_GLOBAL_WORK_SIZE) S (CL_INVALID_PROPERTY)
    S (CL_INVALID_IMAGE_DESCRIPTOR) S (CL_INVALID_COMPILER_OPTIONS) S (CL_INVALID_LINKER_OPTIONS)
    S (CL_INVALID_DEVICE_PARTITION_COUNT)
#undef S
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver installed)";
    default: return "unknown OpenCL status";
    }
}

const char *
graft_clblast_status_name (int status)
{
  if (status > -1024)
    return graft_cl_status_name (status);
  switch (status)
    {
#define S(x) case x: return #x;
    S (CLBlastNotImplemented) S (CLBlastInvalidMatrixA) S (CLBlastInvalidMatrixB)
    S (CLBlastInvalidMatrixC) S (CLBlastInvalidVectorX) S (CLBlastInvalidVectorY)
    S (CLBlastInvalidDimension) S (CLBlastInvalidLeadDimA) S (CLBlastInvalidLeadDimB)
    S (CLBlastInvalidLeadDimC) S (CLBlastInvalidIncrementX) S (CLBlastInvalidIncrementY)
    S (CLBlastInsufficientMemoryA) S (CLBlastInsufficientMemoryB) S (CLBlastInsufficientMemoryC)
    S (CLBlastInsufficientMemoryX) S (CLBlastInsufficientMemoryY)
    S (CLBlastInsufficientMemoryTemp) S (CLBlastInvalidBatchCount)
    S (CLBlastInvalidOverrideKernel) S (CLBlastMissingOverrideParameter)
    S (CLBlastInvalidLocalMemUsage) S (CLBlastNoHalfPrecision) S (CLBlastNoDoublePrecision)
    S (CLBlastInvalidVectorScalar) S (CLBlastInsufficientMemoryScalar)
    S (CLBlastDatabaseError) S (CLBlastUnknownError) S (CLBlastUnexpectedError)
#undef S
    default: return "unknown CLBlast status";
    }
}

static GraftError
code_for (cl_int status)
{
  switch (status)
    {
    case CL_OUT_OF_RESOURCES:
    case CL_OUT_OF_HOST_MEMORY:
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_INVALID_BUFFER_SIZE:
      return GRAFT_ERROR_OUT_OF_MEMORY;
    case CL_BUILD_PROGRAM_FAILURE:
    case CL_COMPILE_PROGRAM_FAILURE:
      return GRAFT_ERROR_BUILD;
    default:
      return GRAFT_ERROR_OPENCL;
    }
}

gboolean
graft_cl_check_impl (cl_int status, const char *what, const char *file, int line, GError **error)
{
  if (status == CL_SUCCESS)
    return TRUE;
  g_set_error (error, GRAFT_ERROR, code_for (status), "%s failed: %s (%d) at %s:%d%s",
               what, graft_cl_status_name (status), status, file, line,
               code_for (status) == GRAFT_ERROR_OUT_OF_MEMORY
                 ? " (the device ran out of memory: try a smaller batch or image size)" : "");
  return FALSE;
}

gboolean
graft_clblast_check_impl (int status, const char *what, const char *file, int line, GError **error)
{
  if (status == CLBlastSuccess)
    return TRUE;
  g_set_error (error, GRAFT_ERROR, status > -1024 ? code_for (status) : GRAFT_ERROR_OPENCL,
               "%s failed: %s (%d) at %s:%d", what, graft_clblast_status_name (status), status,
               file, line);
  return FALSE;
}
