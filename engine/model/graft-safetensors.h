/* safetensors files (the format ML tools read): float32 tensors plus string metadata. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GraftSafetensors GraftSafetensors;

/* What a reader accepts, so that a crafted file costs bounded memory and time. */
#define GRAFT_SAFETENSORS_MAX_HEADER  (100 * 1024 * 1024)  /* bytes of JSON */
#define GRAFT_SAFETENSORS_MAX_TENSORS 100000
#define GRAFT_SAFETENSORS_MAX_RANK    8

/* Reads and validates @path: header size, JSON (graft_json_parse: bounded
 * depth; no duplicate names), metadata values are strings, dtypes (F32 only),
 * rank and dimensions, shapes against byte ranges, and the tensors tile the
 * data section exactly (no overlap, no gap, nothing outside). Errors name the
 * file and the tensor at fault. */
GraftSafetensors *graft_safetensors_read      (const char *path, GError **error);
/* The same on bytes in memory (kept referenced); @path names them in messages. */
GraftSafetensors *graft_safetensors_new_from_bytes (GBytes *bytes, const char *path,
                                                    GError **error);
void              graft_safetensors_free      (GraftSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftSafetensors, graft_safetensors_free)

const char       *graft_safetensors_path      (GraftSafetensors *st);
/* NULL when absent. */
const char       *graft_safetensors_metadata  (GraftSafetensors *st, const char *key);
guint             graft_safetensors_n_tensors (GraftSafetensors *st);
/* Bytes of the data section, which the tensors tile exactly. */
gsize             graft_safetensors_data_size (GraftSafetensors *st);
const char       *graft_safetensors_name      (GraftSafetensors *st, guint i);
gboolean          graft_safetensors_has       (GraftSafetensors *st, const char *name);
/* Shape of tensor @name; returns ndim, or −1 when absent. */
int               graft_safetensors_shape     (GraftSafetensors *st, const char *name, int shape[8]);
/* Copies tensor @name (must have @count floats) into @dst. */
gboolean          graft_safetensors_copy      (GraftSafetensors *st, const char *name, float *dst,
                                               gsize count, GError **error);

typedef struct _GraftSafetensorsWriter GraftSafetensorsWriter;

GraftSafetensorsWriter *graft_safetensors_writer_new (void);
void     graft_safetensors_writer_free        (GraftSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftSafetensorsWriter, graft_safetensors_writer_free)
void     graft_safetensors_writer_set_metadata (GraftSafetensorsWriter *w, const char *key,
                                                const char *value);
/* @data must stay valid until save. */
void     graft_safetensors_writer_add          (GraftSafetensorsWriter *w, const char *name,
                                                int ndim, const int *shape, const float *data);
/* Writes atomically (temporary file, then rename). */
gboolean graft_safetensors_writer_save         (GraftSafetensorsWriter *w, const char *path,
                                                GError **error);

G_END_DECLS
