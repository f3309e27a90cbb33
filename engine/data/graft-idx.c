/* IDX (MNIST / Fashion-MNIST) import: image and label files → class folders of grayscale JPEGs. */
#include "graft-dataset.h"
#include "graft-error.h"

#include <errno.h>
#include <string.h>
#include <turbojpeg.h>

static const char *const fashion_names[] = {
  "T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot", NULL,
};

const char *const *
graft_fashion_mnist_class_names (void)
{
  return fashion_names;
}

/* Reads the whole file, inflating it when it starts with the gzip magic. */
static GBytes *
read_maybe_gzip (const char *path, GCancellable *cancellable, GError **error)
{
  g_autofree char *raw = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &raw, &len, error))
    return NULL;
  if (len < 2 || (guint8) raw[0] != 0x1f || (guint8) raw[1] != 0x8b)
    return g_bytes_new_take (g_steal_pointer (&raw), len);
  g_autoptr (GInputStream) mem = g_memory_input_stream_new_from_data (raw, (gssize) len, NULL);
  g_autoptr (GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) in = g_converter_input_stream_new (mem, G_CONVERTER (z));
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  GError *err = NULL;
  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, cancellable, &err) < 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s is not a valid gzip file: %s", path,
                   err->message);
      g_error_free (err);
      return NULL;
    }
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Checks an IDX header of unsigned bytes with @ndim dimensions; returns the dims. */
static gboolean
parse_idx (const char *path, GBytes *bytes, guint ndim, guint32 *dims, GError **error)
{
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (bytes, &len);
  if (len < 4 + 4 * ndim)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s is too short (%" G_GSIZE_FORMAT " bytes) for an IDX header", path, len);
      return FALSE;
    }
  if (d[0] != 0 || d[1] != 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s is not an IDX file: its magic number does not start with two zero bytes", path);
      return FALSE;
    }
  if (d[2] != 0x08)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s holds IDX type 0x%02x; only unsigned bytes (0x08) are supported", path, d[2]);
      return FALSE;
    }
  if (d[3] != ndim)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s has %u dimensions; %s need %u", path, d[3],
                   ndim == 3 ? "images" : "labels", ndim);
      return FALSE;
    }
  for (guint i = 0; i < ndim; i++)
    dims[i] = be32 (d + 4 + 4 * i);
  /* The product is checked against the bytes there are as it grows: three 32-bit sizes can
   * wrap 64 bits (4 × 2³¹ × 2³¹ is 0) and match an empty file. */
  guint64 total = 1, room = len - (4 + 4 * ndim);
  for (guint i = 0; i < ndim; i++)
    {
      if (dims[i] != 0 && total > room / dims[i])
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                       "%s is %" G_GSIZE_FORMAT " bytes but its header announces more data than "
                       "that (dimension %u is %u; truncated or corrupt)", path, len, i, dims[i]);
          return FALSE;
        }
      total *= dims[i];
    }
  if (len != 4 + 4 * ndim + total)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s is %" G_GSIZE_FORMAT " bytes but its header announces %" G_GUINT64_FORMAT
                   " data bytes (truncated or corrupt)", path, len, total);
      return FALSE;
    }
  return TRUE;
}

gboolean
graft_idx_import (const char *images_path, const char *labels_path, const char *out_dir,
                  const char *const *class_names, const guint *classes, guint n_classes,
                  guint limit_per_class, guint *n_written, GraftDataProgressFunc progress,
                  gpointer user_data, GCancellable *cancellable, GError **error)
{
  if (n_written)
    *n_written = 0;
  if (class_names == NULL)
    class_names = fashion_names;
  guint n_names = g_strv_length ((char **) class_names);
  g_autoptr (GBytes) ib = read_maybe_gzip (images_path, cancellable, error);
  if (ib == NULL)
    return FALSE;
  g_autoptr (GBytes) lb = read_maybe_gzip (labels_path, cancellable, error);
  if (lb == NULL)
    return FALSE;
  guint32 idim[3], ldim[1];
  if (!parse_idx (images_path, ib, 3, idim, error) || !parse_idx (labels_path, lb, 1, ldim, error))
    return FALSE;
  if (idim[0] != ldim[0])
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                   "%s has %u images but %s has %u labels", images_path, idim[0], labels_path,
                   ldim[0]);
      return FALSE;
    }
  if (idim[1] == 0 || idim[2] == 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s has empty %u×%u images",
                   images_path, idim[1], idim[2]);
      return FALSE;
    }
  const guint8 *pix = (const guint8 *) g_bytes_get_data (ib, NULL) + 16;
  const guint8 *lab = (const guint8 *) g_bytes_get_data (lb, NULL) + 8;
  for (guint i = 0; i < ldim[0]; i++)
    if (lab[i] >= n_names)
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                     "%s: label %u of image %u has no class name (%u names given)", labels_path,
                     lab[i], i, n_names);
        return FALSE;
      }
  gboolean keep[256] = { FALSE };
  for (guint k = 0; k < 256; k++)
    keep[k] = n_classes == 0;
  for (guint k = 0; k < n_classes; k++)
    {
      if (classes[k] >= n_names)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                       "Class %u is out of range (%u classes)", classes[k], n_names);
          return FALSE;
        }
      keep[classes[k]] = TRUE;
    }
  for (guint k = 0; k < n_names; k++)
    if (keep[k] && (strchr (class_names[k], '/') || class_names[k][0] == '\0' ||
                    g_str_equal (class_names[k], ".") || g_str_equal (class_names[k], "..")))
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "Class name “%s” cannot be a folder name", class_names[k]);
        return FALSE;
      }
  guint written[256] = { 0 };
  guint n_digits = 1;
  for (guint v = idim[0]; v >= 10; v /= 10)
    n_digits++;
  int w = (int) idim[1] == 0 ? 0 : (int) idim[2], h = (int) idim[1];
  gsize img = (gsize) w * h;
  tjhandle tj = tjInitCompress ();
  gboolean ok = TRUE;
  for (guint i = 0; i < idim[0] && ok; i++)
    {
      guint k = lab[i];
      if (!keep[k] || (limit_per_class && written[k] >= limit_per_class))
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      g_autofree char *cdir = g_build_filename (out_dir, class_names[k], NULL);
      if (written[k] == 0 && g_mkdir_with_parents (cdir, 0755) != 0)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create folder %s: %s", cdir,
                       g_strerror (errno));
          ok = FALSE;
          break;
        }
      unsigned char *jpeg = NULL;
      unsigned long jlen = 0;
      if (tjCompress2 (tj, pix + img * i, w, 0, h, TJPF_GRAY, &jpeg, &jlen, TJSAMP_GRAY, 95, 0) != 0)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FAILED, "JPEG compression of image %u of %s failed: %s",
                       i, images_path, tjGetErrorStr2 (tj));
          ok = FALSE;
          break;
        }
      g_autofree char *name = g_strdup_printf ("%0*u.jpg", (int) n_digits, i);
      g_autofree char *path = g_build_filename (cdir, name, NULL);
      ok = g_file_set_contents (path, (const char *) jpeg, (gssize) jlen, error);
      tjFree (jpeg);
      written[k]++;
      if (n_written)
        (*n_written)++;
      if (progress && (i % 1000 == 0))
        progress ("Writing JPEGs", i, idim[0], user_data);
    }
  tjDestroy (tj);
  if (ok && progress)
    progress ("Writing JPEGs", idim[0], idim[0], user_data);
  return ok;
}
