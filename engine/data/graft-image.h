/* Data-pipeline building blocks shared by the dataset code and its tests:
 * numpy-compatible shuffling, JPEG decode, bilinear resize, augmentation reference. */
#pragma once

#include <glib.h>
#include <turbojpeg.h>

G_BEGIN_DECLS

/* MT19937 as numpy's legacy RandomState(seed) seeds and draws it. */
typedef struct {
  guint32 mt[624];
  int     pos;
} GraftMT19937;

void     graft_mt19937_seed      (GraftMT19937 *s, guint32 seed);
guint32  graft_mt19937_next      (GraftMT19937 *s);
/* numpy's random_interval(): uniform in [0, max] by masked rejection. */
guint64  graft_numpy_random_interval (GraftMT19937 *s, guint64 max);
/* Permutes @v[0..n-1] as numpy.random.RandomState(seed).shuffle(v) does. */
void     graft_numpy_shuffle     (guint32 seed, guint *v, guint n);

/* Image files larger than this are refused unread. */
#define GRAFT_MAX_IMAGE_FILE_BYTES ((gsize) 1 << 30)

/* Opens @path for reading if it is a regular file (a named pipe, device or
 * socket named .jpg would block or never end): a descriptor, or −1 with
 * *@reason ("cannot be read: …", "not a regular file (a named pipe)"). */
int      graft_image_open_regular (const char *path, char **reason);
/* Reads all of the regular file @path (at most GRAFT_MAX_IMAGE_FILE_BYTES).
 * Returns FALSE with *@reason when it cannot. */
gboolean graft_image_read_file    (const char *path, guint8 **data, gsize *len, char **reason);

/* Why @buf (the first bytes of a file named @name) is not a JPEG, or NULL when
 * it starts like one. */
char    *graft_image_sniff       (const guint8 *buf, gsize len, const char *name);

/* Decodes a JPEG to RGB (grayscale replicated, CMYK/YCCK converted as Adobe's
 * inverted CMYK: r = c·k/255). With @min_side > 0 TurboJPEG's DCT scaling picks
 * the smallest scale whose sides are both ≥ @min_side. Refuses headers above
 * GRAFT_MAX_IMAGE_PIXELS before allocating. Returns NULL with *@reason set
 * when the file is not usable (truncated, corrupt, too large).
 * After a failure @tj may be unusable (see GraftJpegDecoder): code that
 * decodes more than one file uses a GraftJpegDecoder instead. */
guint8  *graft_jpeg_decode_rgb   (tjhandle tj, const guint8 *buf, gsize len, int min_side,
                                  int *width, int *height, char **reason);

/* A TurboJPEG decompressor for a sequence of untrusted files, one per thread.
 * TurboJPEG 2.1 leaves a handle half-way through a header after some header
 * errors ("Bogus Huffman table definition", truncated or byte-flipped
 * headers), and every later file on that handle then fails with the same
 * error; the decoder replaces its handle after any failure, so no state
 * passes from one file to the next. Every decoding loop (dataset scan, image
 * cache build, predict) goes through it. */
typedef struct _GraftJpegDecoder GraftJpegDecoder;

GraftJpegDecoder *graft_jpeg_decoder_new  (void);
void              graft_jpeg_decoder_free (GraftJpegDecoder *dec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftJpegDecoder, graft_jpeg_decoder_free)
/* graft_jpeg_decode_rgb() on the decoder's handle, which is replaced when the
 * decode fails (or TurboJPEG only warned). */
guint8  *graft_jpeg_decoder_decode_rgb (GraftJpegDecoder *dec, const guint8 *buf, gsize len,
                                        int min_side, int *width, int *height, char **reason);
/* Reads, decodes and resizes the file at @path into @dst (size·size·3).
 * Returns FALSE with *@reason when it cannot. */
gboolean graft_jpeg_decoder_load_resized (GraftJpegDecoder *dec, const char *path, int size,
                                          gboolean fast, guint8 *dst, char **reason);
/* Times the decoder replaced its handle (for tests). */
guint    graft_jpeg_decoder_n_resets (GraftJpegDecoder *dec);

/* Bilinear resize of packed 8-bit RGB with half-pixel centres and no
 * antialiasing (tf.image.resize bilinear, torch interpolate align_corners=False),
 * rounded to the nearest level. */
void     graft_resize_bilinear_rgb8 (const guint8 *src, int sw, int sh,
                                     guint8 *dst, int dw, int dh);

/* graft_jpeg_decoder_load_resized() with a decoder of its own for this one
 * file. @tj is not used: it stays in the signature for callers that still
 * hold a handle, since a failed decode could leave a shared handle unusable. */
gboolean graft_image_load_resized (tjhandle tj, const char *path, int size, gboolean fast,
                                   guint8 *dst, char **reason);

/* The random augmentation of one training image, drawn from the counter RNG
 * keyed by (seed, epoch, key) exactly as cl-kernels/augment.cl draws it. */
void     graft_augment_params    (guint32 seed, guint32 epoch, guint32 key,
                                  gboolean *flip, float *angle);
/* Plain-C reference of augment.cl: uint8 S×S×3 → float [0, 1]; when
 * @training, horizontal flip then rotation about the centre with reflect
 * fill and bilinear sampling (Keras RandomFlip + RandomRotation). */
void     graft_augment_ref       (const guint8 *src, float *dst, int S, gboolean training,
                                  guint32 seed, guint32 epoch, guint32 key);

G_END_DECLS
