/* Image datasets: a folder of class folders → validated file list → split →
 * decoded cache → shuffled, augmented batches on the device. */
#pragma once

#include <gio/gio.h>

#include "graft-tensor.h"

G_BEGIN_DECLS

typedef enum {
  GRAFT_FILTER_DECODE,      /* keep files that fully decode as JPEG (default) */
  GRAFT_FILTER_KERAS_JFIF,  /* keep files whose first 4096 bytes contain "JFIF" (Keras example) */
} GraftFilter;

typedef enum {
  GRAFT_SPLIT_SEEDED,       /* Graft's own seeded, class-stratified split */
  GRAFT_SPLIT_KERAS,        /* image_dataset_from_directory: RandomState(seed).shuffle, last int(f·n) */
} GraftSplitMode;

const char *graft_filter_to_string     (GraftFilter f);
gboolean    graft_filter_from_string   (const char *s, GraftFilter *out, GError **error);
const char *graft_split_mode_to_string (GraftSplitMode m);
gboolean    graft_split_mode_from_string (const char *s, GraftSplitMode *out, GError **error);

/* Progress of long data work (scan, cache build): done of total items. */
typedef void (*GraftDataProgressFunc) (const char *stage, guint64 done, guint64 total,
                                       gpointer user_data);

typedef struct _GraftDataset GraftDataset;

/* Scans @dir (one sub-folder per class, sorted names; files sorted per class)
 * and applies @filter. Fails with a message naming @dir when it is missing,
 * not a folder, has fewer than 2 classes, or no usable image; naming the
 * folder when a class has no usable image (graft_dataset_check_classes), a
 * class folder holds a Graft run folder (config.json or commit.json: --out
 * inside --data) or links back to the dataset folder. */
GraftDataset *graft_dataset_scan        (const char *dir, GraftFilter filter,
                                         GraftDataProgressFunc progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);

typedef enum {
  GRAFT_SCAN_FLAGS_NONE          = 0,
  /* Keep classes without a usable image (to report them, as `dataset scan`
   * does); training and evaluation must not use such a dataset. */
  GRAFT_SCAN_ALLOW_EMPTY_CLASSES = 1 << 0,
} GraftScanFlags;

GraftDataset *graft_dataset_scan_full   (const char *dir, GraftFilter filter, GraftScanFlags flags,
                                         GraftDataProgressFunc progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);
/* FALSE with a message naming the first class folder without a usable image
 * (its skipped files and their reasons) and the other empty classes. */
gboolean      graft_dataset_check_classes (GraftDataset *ds, GError **error);
void          graft_dataset_free        (GraftDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftDataset, graft_dataset_free)

const char   *graft_dataset_dir         (GraftDataset *ds);
guint         graft_dataset_n_classes   (GraftDataset *ds);
const char   *graft_dataset_class_name  (GraftDataset *ds, guint i);
guint         graft_dataset_n_files     (GraftDataset *ds);      /* usable files */
const char   *graft_dataset_file_path   (GraftDataset *ds, guint i);
guint         graft_dataset_file_label  (GraftDataset *ds, guint i);
guint         graft_dataset_n_skipped   (GraftDataset *ds);
/* Path and reason ("truncated JPEG", "PNG data named .jpg", ...) of skipped file i. */
const char   *graft_dataset_skipped_path   (GraftDataset *ds, guint i);
const char   *graft_dataset_skipped_reason (GraftDataset *ds, guint i);

/* Splits usable files into training and validation index lists (indices into
 * the dataset's file list), val = int(val_fraction·n) files. */
void          graft_dataset_split       (GraftDataset *ds, GraftSplitMode mode,
                                         double val_fraction, guint32 seed,
                                         GArray **train /* guint */, GArray **val /* guint */);

/* Decoded, resized (bilinear, half-pixel centres, aspect not kept) RGB uint8
 * images, size×size×3 each, in one memory-mapped file under the user cache
 * dir; built on all cores when missing or stale (size/mtime changed). */
typedef struct _GraftImageCache GraftImageCache;

GraftImageCache *graft_image_cache_open (GraftDataset *ds, int image_size,
                                         GraftDataProgressFunc progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);
void          graft_image_cache_free    (GraftImageCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftImageCache, graft_image_cache_free)
int           graft_image_cache_size    (GraftImageCache *cache);   /* image side */
/* Pixels of dataset file i (size·size·3 bytes, RGB, row-major). */
const guint8 *graft_image_cache_pixels  (GraftImageCache *cache, guint i);

/* Batches for one split. Training loaders shuffle each epoch (seeded by
 * (seed, epoch)) and augment on the device (horizontal flip p=0.5, rotation
 * uniform in ±0.1·2π, reflect fill, bilinear); validation loaders keep order
 * and never augment. The last partial batch is delivered, not dropped. A
 * prefetch thread prepares the next host batch while the device works. */
typedef struct _GraftLoader GraftLoader;

GraftLoader  *graft_loader_new          (GraftContext *ctx, GraftImageCache *cache,
                                         GraftDataset *ds, const guint *indices, guint n,
                                         int batch, gboolean training, guint32 seed,
                                         GError **error);
void          graft_loader_free         (GraftLoader *loader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GraftLoader, graft_loader_free)
/* Training loaders augment by default; this turns it off (they still shuffle). */
void          graft_loader_set_augment  (GraftLoader *loader, gboolean augment);
guint         graft_loader_n_batches    (GraftLoader *loader);
gboolean      graft_loader_start_epoch  (GraftLoader *loader, int epoch, GError **error);
/* Fills x {batch, S, S, 3} with floats in [0, 1] (rescaling by 1/255 is done
 * here: it is the model's `rescaling` layer) and labels {batch,1,1,1} with
 * class indices as floats. Returns the number of images (≤ batch; only the
 * first rows are valid), 0 when the epoch is over, −1 on error. */
int           graft_loader_next         (GraftLoader *loader, GraftTensor *x, GraftTensor *labels,
                                         GError **error);

/* ---- Additions beyond the first contract (all additive). ---- */

/* Images whose JPEG header claims more pixels than this are refused before
 * any pixel memory is allocated (decompression bombs). */
#define GRAFT_MAX_IMAGE_PIXELS ((guint64) 100000000)

/* Worker threads for scan and cache builds: 0 (default) = all cores. */
void          graft_data_set_threads    (int n);
int           graft_data_get_threads    (void);

/* Files that had a candidate extension before filtering (Keras' count). */
guint         graft_dataset_n_candidates (GraftDataset *ds);
GraftFilter   graft_dataset_filter      (GraftDataset *ds);
/* Number of usable files of class @label. */
guint         graft_dataset_class_count (GraftDataset *ds, guint label);
guint64       graft_dataset_file_size   (GraftDataset *ds, guint i);
gint64        graft_dataset_file_mtime  (GraftDataset *ds, guint i);   /* µs since the epoch */

typedef enum {
  GRAFT_CACHE_FLAGS_NONE  = 0,
  /* Decode with TurboJPEG's DCT scaling to the smallest scale whose sides are
   * both ≥ the target before the bilinear resize: faster, slightly different. */
  GRAFT_CACHE_FAST_DECODE = 1 << 0,
} GraftCacheFlags;

/* Bytes the cache file for @ds at @image_size will take (index + pixels). */
guint64       graft_image_cache_bytes_for (GraftDataset *ds, int image_size);
/* graft_image_cache_open() with flags. The first progress call of a build
 * names the cache file and its size (with no count: done and total 0). */
GraftImageCache *graft_image_cache_open_full (GraftDataset *ds, int image_size,
                                              GraftCacheFlags flags,
                                              GraftDataProgressFunc progress, gpointer user_data,
                                              GCancellable *cancellable, GError **error);
const char   *graft_image_cache_path    (GraftImageCache *cache);
/* Tests: @hook is called on the worker threads after each image a build wrote, with the number
 * written so far; NULL removes it. The later progress calls of a build, with the count, say
 * "Building image cache". */
typedef void (*GraftImageCacheBuildHook) (guint done, gpointer user_data);
void          graft_image_cache_set_build_hook (GraftImageCacheBuildHook hook, gpointer user_data);
/* TRUE when this open (re)built the file rather than reusing it. */
gboolean      graft_image_cache_was_built (GraftImageCache *cache);
/* Files that passed the scan filter but failed to decode when the cache was
 * built (possible with the keras-jfif filter): their pixels are zero. */
guint         graft_image_cache_n_failed    (GraftImageCache *cache);
guint         graft_image_cache_failed_index (GraftImageCache *cache, guint i);
const char   *graft_image_cache_failed_reason (GraftImageCache *cache, guint i);

/* Converts IDX files (MNIST, Fashion-MNIST; gzip or plain) into @out_dir/<class>/<n>.jpg
 * grayscale JPEGs. @class_names: one per label value (NULL: Fashion-MNIST's
 * names); @classes/@n_classes: labels to keep (NULL/0: all); @limit_per_class:
 * 0 for no limit. @n_written receives the number of images written. */
gboolean      graft_idx_import          (const char *images_path, const char *labels_path,
                                         const char *out_dir, const char *const *class_names,
                                         const guint *classes, guint n_classes,
                                         guint limit_per_class, guint *n_written,
                                         GraftDataProgressFunc progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);
/* Fashion-MNIST's class names, NULL-terminated. */
const char *const *graft_fashion_mnist_class_names (void);

/* SHA-256 over the class folders and every candidate file's relative path, size and mtime,
 * listed as graft_dataset_scan lists them (no decoding): changes whenever the files a scan
 * would see change. NULL when @dir cannot be read. @n_files may be NULL. */
char         *graft_dataset_signature   (const char *dir, guint *n_files);
/* Image files under @path (a file is taken as it is; folders are walked as the scan walks
 * class folders: sorted, symbolic links to folders not followed, image extensions only). */
void          graft_images_collect      (const char *path, GPtrArray *out);

G_END_DECLS
