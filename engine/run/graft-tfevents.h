/* TensorBoard event files: a run's committed epochs as scalars, so that
 * `tensorboard --logdir STUDY` shows every run of a study side by side.
 *
 * The file is a TFRecord stream (uint64 length, masked CRC-32C of the length, the bytes, masked
 * CRC-32C of the bytes) of tensorflow.Event messages: first {wall_time, file_version
 * "brain.Event:2"}, then one event per epoch (step = epoch) with the scalars train/loss,
 * train/accuracy, val/loss, val/accuracy, lr and images_per_second. The run module rewrites it
 * whole from the committed rows at each commit, so a resumed run continues the same log with
 * no step twice. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The bytes of the event file for @metrics (GraftEpochMetrics); @start is the run's start in
 * seconds since the epoch (wall times are start + the epochs' cumulative seconds). */
GBytes  *graft_tfevents_encode  (double start, const GArray *metrics);
/* "events.out.tfevents.<start>.graft" */
char    *graft_tfevents_name    (double start);
/* CRC-32C (Castagnoli), as TFRecord uses it before masking. */
guint32  graft_crc32c           (const guint8 *data, gsize len);

G_END_DECLS
