/* Batches for one split: per-epoch shuffle, a prefetch thread filling host batches, upload and on-device augmentation. */
#include "graft-dataset.h"
#include "graft-data-private.h"
#include "graft-rng.h"
#include "graft-error.h"

#include <string.h>

#define N_BUFFERS 3

typedef enum { BUF_FREE, BUF_FILLING, BUF_READY } BufState;

typedef struct {
  BufState state;
  guint    gen;        /* epoch generation it was filled for */
  guint    batch;      /* batch number within the epoch */
  guint    count;
  guint8  *pixels;     /* batch·S·S·3 */
  guint32 *keys;       /* dataset indices */
  float   *labels;
} HostBatch;

struct _GraftLoader {
  GraftContext    *ctx;
  GraftImageCache *cache;
  GraftDataset    *ds;
  guint           *indices;
  guint            n;
  int              batch;
  gboolean         training;
  gboolean         augment;     /* training batches are augmented unless turned off */
  guint32          seed;
  int              S;

  GThread         *thread;
  GMutex           lock;
  GCond            cond;
  gboolean         quit;
  gboolean         active;      /* an epoch has been started */
  guint            gen;
  guint            epoch;
  guint           *order;       /* this epoch's order (indices into the dataset) */
  guint            next_fill;
  guint            next_take;
  HostBatch        buf[N_BUFFERS];

  cl_mem           dev_pixels;
  cl_mem           dev_keys;
};

/* Fisher–Yates keyed by (seed, epoch): the same order on every machine. */
static void
epoch_order (GraftLoader *l, guint epoch)
{
  memcpy (l->order, l->indices, sizeof (guint) * l->n);
  if (!l->training)
    return;
  guint32 key = graft_hash (l->seed ^ graft_hash (epoch * 0x9e3779b9U + 0x632be5abU));
  for (guint i = l->n; i > 1; i--)
    {
      guint j = (guint) (((guint64) graft_hash (key ^ graft_hash (i)) * i) >> 32);
      guint t = l->order[i - 1];
      l->order[i - 1] = l->order[j];
      l->order[j] = t;
    }
}

static HostBatch *
find_buf (GraftLoader *l, BufState state, gboolean match, guint gen, guint batch)
{
  for (int i = 0; i < N_BUFFERS; i++)
    if (l->buf[i].state == state &&
        (!match || (l->buf[i].gen == gen && l->buf[i].batch == batch)))
      return &l->buf[i];
  return NULL;
}

static gpointer
prefetch_thread (gpointer data)
{
  GraftLoader *l = data;
  gsize img = (gsize) l->S * l->S * 3;
  guint nb = graft_loader_n_batches (l);
  g_mutex_lock (&l->lock);
  for (;;)
    {
      HostBatch *b = NULL;
      while (!l->quit && !(l->active && l->next_fill < nb &&
                           (b = find_buf (l, BUF_FREE, FALSE, 0, 0)) != NULL))
        g_cond_wait (&l->cond, &l->lock);
      if (l->quit)
        break;
      b->state = BUF_FILLING;
      b->gen = l->gen;
      b->batch = l->next_fill++;
      guint start = b->batch * (guint) l->batch;
      b->count = MIN ((guint) l->batch, l->n - start);
      /* Copy the keys under the lock: start_epoch may rewrite the order. */
      memcpy (b->keys, l->order + start, sizeof (guint) * b->count);
      g_mutex_unlock (&l->lock);
      for (guint k = 0; k < b->count; k++)
        {
          memcpy (b->pixels + k * img, graft_image_cache_pixels (l->cache, b->keys[k]), img);
          b->labels[k] = (float) graft_dataset_file_label (l->ds, b->keys[k]);
        }
      g_mutex_lock (&l->lock);
      b->state = b->gen == l->gen ? BUF_READY : BUF_FREE;
      g_cond_broadcast (&l->cond);
    }
  g_mutex_unlock (&l->lock);
  return NULL;
}

GraftLoader *
graft_loader_new (GraftContext *ctx, GraftImageCache *cache, GraftDataset *ds,
                  const guint *indices, guint n, int batch, gboolean training, guint32 seed,
                  GError **error)
{
  if (batch < 1)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Batch size %d must be at least 1", batch);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (indices[i] >= graft_dataset_n_files (ds))
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "Loader index %u is past the %u files of dataset %s", indices[i],
                     graft_dataset_n_files (ds), graft_dataset_dir (ds));
        return NULL;
      }
  GraftLoader *l = g_new0 (GraftLoader, 1);
  l->ctx = ctx;
  l->cache = cache;
  l->ds = ds;
  l->indices = g_memdup2 (indices, sizeof (guint) * MAX (n, 1));
  l->order = g_new0 (guint, MAX (n, 1));
  l->n = n;
  l->batch = batch;
  l->training = training;
  l->augment = training;
  l->seed = seed;
  l->S = graft_image_cache_size (cache);
  gsize img = (gsize) l->S * l->S * 3;
  for (int i = 0; i < N_BUFFERS; i++)
    {
      l->buf[i].pixels = g_malloc (img * batch);
      l->buf[i].keys = g_new0 (guint32, batch);
      l->buf[i].labels = g_new0 (float, batch);
    }
  g_mutex_init (&l->lock);
  g_cond_init (&l->cond);
  l->dev_pixels = graft_context_alloc (ctx, img * batch, error);
  l->dev_keys = l->dev_pixels ? graft_context_alloc (ctx, sizeof (guint32) * batch, error) : NULL;
  if (l->dev_keys == NULL)
    {
      graft_loader_free (l);
      return NULL;
    }
  l->thread = g_thread_new ("graft-prefetch", prefetch_thread, l);
  return l;
}

void
graft_loader_free (GraftLoader *l)
{
  if (l == NULL)
    return;
  if (l->thread)
    {
      g_mutex_lock (&l->lock);
      l->quit = TRUE;
      g_cond_broadcast (&l->cond);
      g_mutex_unlock (&l->lock);
      g_thread_join (l->thread);
    }
  g_mutex_clear (&l->lock);
  g_cond_clear (&l->cond);
  for (int i = 0; i < N_BUFFERS; i++)
    {
      g_free (l->buf[i].pixels);
      g_free (l->buf[i].keys);
      g_free (l->buf[i].labels);
    }
  if (l->dev_pixels)
    clReleaseMemObject (l->dev_pixels);
  if (l->dev_keys)
    clReleaseMemObject (l->dev_keys);
  g_free (l->indices);
  g_free (l->order);
  g_free (l);
}

guint
graft_loader_n_batches (GraftLoader *l)
{
  return (l->n + (guint) l->batch - 1) / (guint) l->batch;
}

gboolean
graft_loader_start_epoch (GraftLoader *l, int epoch, GError **error)
{
  if (epoch < 0)
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "Epoch %d is negative", epoch);
      return FALSE;
    }
  g_mutex_lock (&l->lock);
  l->gen++;
  l->epoch = (guint) epoch;
  epoch_order (l, (guint) epoch);
  l->next_fill = 0;
  l->next_take = 0;
  l->active = TRUE;
  /* Batches prefetched for an abandoned epoch are dropped; one being filled
   * is dropped by the prefetch thread when it sees the new generation. */
  for (int i = 0; i < N_BUFFERS; i++)
    if (l->buf[i].state == BUF_READY)
      l->buf[i].state = BUF_FREE;
  g_cond_broadcast (&l->cond);
  g_mutex_unlock (&l->lock);
  return TRUE;
}

int
graft_loader_next (GraftLoader *l, GraftTensor *x, GraftTensor *labels, GError **error)
{
  int S = l->S;
  if (x->ne[0] < l->batch || x->ne[1] != S || x->ne[2] != S || x->ne[3] != 3 ||
      graft_tensor_numel (labels) < (gsize) l->batch)
    {
      g_autofree char *xs = graft_tensor_shape_string (x);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Loader batches are %d×%d×%d×3 images with %d labels; got an input tensor %s",
                   l->batch, S, S, l->batch, xs);
      return -1;
    }
  g_mutex_lock (&l->lock);
  if (!l->active)
    {
      g_mutex_unlock (&l->lock);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "graft_loader_next() called before graft_loader_start_epoch()");
      return -1;
    }
  if (l->next_take >= graft_loader_n_batches (l))
    {
      g_mutex_unlock (&l->lock);
      return 0;
    }
  HostBatch *b;
  while ((b = find_buf (l, BUF_READY, TRUE, l->gen, l->next_take)) == NULL)
    g_cond_wait (&l->cond, &l->lock);
  guint epoch = l->epoch;
  g_mutex_unlock (&l->lock);

  cl_command_queue q = graft_context_queue (l->ctx);
  gsize img = (gsize) S * S * 3;
  int count = (int) b->count;
  gboolean ok =
    graft_cl_check (clEnqueueWriteBuffer (q, l->dev_pixels, CL_TRUE, 0, img * count, b->pixels, 0,
                                          NULL, NULL), "upload of an image batch", error) &&
    graft_cl_check (clEnqueueWriteBuffer (q, l->dev_keys, CL_TRUE, 0, sizeof (guint32) * count,
                                          b->keys, 0, NULL, NULL), "upload of batch keys", error) &&
    graft_cl_check (clEnqueueWriteBuffer (q, labels->mem, CL_TRUE, labels->off * sizeof (float),
                                          sizeof (float) * count, b->labels, 0, NULL, NULL),
                    "upload of batch labels", error);
  /* The blocking writes are done: the host buffer can be refilled. */
  g_mutex_lock (&l->lock);
  b->state = BUF_FREE;
  l->next_take++;
  g_cond_broadcast (&l->cond);
  g_mutex_unlock (&l->lock);
  if (!ok)
    return -1;

  cl_kernel k = graft_context_kernel (l->ctx, "augment", "augment_u8", error);
  if (k == NULL)
    return -1;
  cl_uint off = (cl_uint) x->off;
  cl_int training = l->augment ? 1 : 0;
  cl_uint seed = l->seed, ep = epoch;
  cl_int s = S;
  if (!graft_kernel_args (k, error, GA (l->dev_pixels), GA (x->mem), GA (off), GA (l->dev_keys),
                          GA (s), GA (count), GA (training), GA (seed), GA (ep), 0))
    return -1;
  size_t global[3] = { (size_t) S, (size_t) S, (size_t) count };
  if (!graft_launch (l->ctx, "augment", k, 3, global, NULL, error))
    return -1;
  return count;
}

void
graft_loader_set_augment (GraftLoader *loader, gboolean augment)
{
  loader->augment = loader->training && augment;
}
