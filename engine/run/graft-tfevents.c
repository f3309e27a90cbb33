/* TensorBoard event files from a run's committed epochs (protobuf-c messages, TFRecord frames). */
#include "graft-tfevents.h"

#include <string.h>

#include "graft-run.h"
#include "graft-tfevents.pb-c.h"

/* No Debian library offers CRC-32C to C programs; this is the reflected table form of the
 * Castagnoli polynomial 0x82F63B78, checked against published test vectors in the tests. */
guint32
graft_crc32c (const guint8 *data, gsize len)
{
  static guint32 table[256];
  static gsize init;
  if (g_once_init_enter (&init))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;
          for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&init, 1);
    }
  guint32 crc = 0xFFFFFFFFU;
  for (gsize i = 0; i < len; i++)
    crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFU;
}

static guint32
masked_crc (const guint8 *data, gsize len)
{
  guint32 c = graft_crc32c (data, len);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8U;
}

static void
put_le (GByteArray *out, guint64 v, int bytes)
{
  for (int i = 0; i < bytes; i++)
    {
      guint8 b = (guint8) (v >> (8 * i));
      g_byte_array_append (out, &b, 1);
    }
}

static void
append_record (GByteArray *out, const GraftTensorboard__Event *ev)
{
  gsize n = graft_tensorboard__event__get_packed_size (ev);
  g_autofree guint8 *buf = g_malloc (MAX (n, 1));
  graft_tensorboard__event__pack (ev, buf);
  guint8 len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (guint8) ((guint64) n >> (8 * i));
  g_byte_array_append (out, len, 8);
  put_le (out, masked_crc (len, 8), 4);
  g_byte_array_append (out, buf, (guint) n);
  put_le (out, masked_crc (buf, n), 4);
}

GBytes *
graft_tfevents_encode (double start, const GArray *metrics)
{
  GByteArray *out = g_byte_array_new ();
  GraftTensorboard__Event head = GRAFT_TENSORBOARD__EVENT__INIT;
  head.has_wall_time = TRUE;
  head.wall_time = start;
  head.file_version = (char *) "brain.Event:2";
  append_record (out, &head);
  double t = start;
  for (guint i = 0; metrics && i < metrics->len; i++)
    {
      const GraftEpochMetrics *m = &g_array_index (metrics, GraftEpochMetrics, i);
      t += m->seconds;
      const struct {
        const char *tag;
        double      v;
      } scalars[] = {
        { "train/loss", m->train_loss }, { "train/accuracy", m->train_acc },
        { "val/loss", m->val_loss },     { "val/accuracy", m->val_acc },
        { "lr", m->lr },                 { "images_per_second", m->images_per_second },
      };
      GraftTensorboard__SummaryValue values[G_N_ELEMENTS (scalars)];
      GraftTensorboard__SummaryValue *ptrs[G_N_ELEMENTS (scalars)];
      for (guint k = 0; k < G_N_ELEMENTS (scalars); k++)
        {
          graft_tensorboard__summary_value__init (&values[k]);
          values[k].tag = (char *) scalars[k].tag;
          values[k].has_simple_value = TRUE;
          values[k].simple_value = (float) scalars[k].v;
          ptrs[k] = &values[k];
        }
      GraftTensorboard__Summary summary = GRAFT_TENSORBOARD__SUMMARY__INIT;
      summary.n_value = G_N_ELEMENTS (scalars);
      summary.value = ptrs;
      GraftTensorboard__Event ev = GRAFT_TENSORBOARD__EVENT__INIT;
      ev.has_wall_time = TRUE;
      ev.wall_time = t;
      ev.has_step = TRUE;
      ev.step = m->epoch;
      ev.summary = &summary;
      append_record (out, &ev);
    }
  return g_byte_array_free_to_bytes (out);
}

char *
graft_tfevents_name (double start)
{
  return g_strdup_printf ("events.out.tfevents.%" G_GINT64_FORMAT ".graft", (gint64) start);
}
