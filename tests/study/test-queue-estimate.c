/* The queue's time left (graft_study_queue_estimate) on fixed inputs, against sums worked out by
 * hand, and what graft_study_queue_run_init takes from a run's status. */
#include <glib.h>
#include <math.h>

#include "graft-study.h"

#define SOURCE GRAFT_STUDY_DATA_SOURCE
#define TARGET GRAFT_STUDY_DATA_TARGET

static void
test_mixed (void)
{
  /* A finished (skipped), B in epoch 3 of 6 at half way with 9 s of it left, C on the target
   * with no timing yet (the target runs' mean: D's 30 s), D stopped after 1 epoch. */
  const GraftQueueRun runs[] = {
    { SOURCE, 6, 6, 10, TRUE },
    { SOURCE, 2, 6, 20, FALSE },
    { TARGET, 0, 6, 0, FALSE },
    { TARGET, 1, 6, 30, FALSE },
  };
  GraftQueueEstimate e;
  graft_study_queue_estimate (runs, G_N_ELEMENTS (runs), 1, 0.5, 9, &e);
  /* B: 9 + 3 × 20; C: 6 × 30; D: 5 × 30. */
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 9 + 60 + 180 + 150, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.epochs_done, 6 + 2.5 + 0 + 1, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.epochs_total, 24, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.fraction, 9.5 / 24, 1e-9);

  /* No estimate from the trainer: the rest of B's epoch at its mean, 0.5 × 20. */
  graft_study_queue_estimate (runs, G_N_ELEMENTS (runs), 1, 0.5, NAN, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 10 + 60 + 180 + 150, 1e-9);

  /* Nothing active (between runs): every remaining epoch counts whole. */
  graft_study_queue_estimate (runs, G_N_ELEMENTS (runs), -1, 0, NAN, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 4 * 20 + 180 + 150, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.fraction, 9.0 / 24, 1e-9);
}

static void
test_fallbacks (void)
{
  /* No run on the target has a timing: the mean over all runs, (10 + 20) / 2. */
  const GraftQueueRun runs[] = {
    { SOURCE, 1, 2, 10, FALSE },
    { SOURCE, 1, 2, 20, FALSE },
    { TARGET, 0, 3, 0, FALSE },
  };
  GraftQueueEstimate e;
  graft_study_queue_estimate (runs, G_N_ELEMENTS (runs), -1, 0, NAN, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 10 + 20 + 3 * 15, 1e-9);

  /* Nothing measured anywhere, first epoch a quarter done with 30 s left: 40 s an epoch. */
  const GraftQueueRun fresh[] = {
    { SOURCE, 0, 2, 0, FALSE },
    { TARGET, 0, 2, 0, FALSE },
    { TARGET, 4, 4, 0, TRUE },
  };
  graft_study_queue_estimate (fresh, G_N_ELEMENTS (fresh), 0, 0.25, 30, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 30 + 40 + 2 * 40, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.epochs_done, 0.25 + 4, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.epochs_total, 8, 1e-9);

  /* Still preparing: nothing to go by. */
  graft_study_queue_estimate (fresh, G_N_ELEMENTS (fresh), 0, 0, NAN, &e);
  g_assert_true (isnan (e.seconds_left));
  g_assert_cmpfloat_with_epsilon (e.fraction, 0.5, 1e-9);

  /* The last epoch of the active run: only the trainer's estimate is left of it. */
  const GraftQueueRun last[] = { { SOURCE, 1, 2, 0, FALSE } };
  graft_study_queue_estimate (last, 1, 0, 0.9, 3, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_left, 3, 1e-9);

  /* An empty queue, and one whose runs are all finished. */
  graft_study_queue_estimate (NULL, 0, -1, 0, NAN, &e);
  g_assert_cmpfloat (e.seconds_left, ==, 0);
  g_assert_cmpfloat (e.fraction, ==, 0);
  const GraftQueueRun done[] = { { SOURCE, 3, 3, 5, TRUE } };
  graft_study_queue_estimate (done, 1, -1, 0, NAN, &e);
  g_assert_cmpfloat (e.seconds_left, ==, 0);
  g_assert_cmpfloat (e.fraction, ==, 1);
}

static void
test_from_status (void)
{
  GraftStudyRun run = { .id = "r", .name = "r", .data = TARGET };
  GraftRunStatus st = { .state = GRAFT_RUN_STATE_STOPPED, .epochs_done = 3, .epochs = 5 };
  st.metrics = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
  const double seconds[] = { 12, 14, 16 };
  for (guint i = 0; i < G_N_ELEMENTS (seconds); i++)
    {
      GraftEpochMetrics m = { .epoch = (int) i + 1, .seconds = seconds[i] };
      g_array_append_val (st.metrics, m);
    }
  GraftQueueRun q;
  graft_study_queue_run_init (&q, &run, &st);
  g_assert_cmpint (q.data, ==, TARGET);
  g_assert_cmpint (q.epochs_done, ==, 3);
  g_assert_cmpint (q.epochs, ==, 5);
  g_assert_cmpfloat_with_epsilon (q.epoch_seconds, 14, 1e-9);
  g_assert_false (q.skip);

  st.state = GRAFT_RUN_STATE_FINISHED;
  graft_study_queue_run_init (&q, &run, &st);
  g_assert_true (q.skip);

  /* An outdated run is trained again from its first epoch; its old timing still guides. */
  st.state = GRAFT_RUN_STATE_OUTDATED;
  graft_study_queue_run_init (&q, &run, &st);
  g_assert_cmpint (q.epochs_done, ==, 0);
  g_assert_false (q.skip);
  g_assert_cmpfloat_with_epsilon (q.epoch_seconds, 14, 1e-9);

  g_array_set_size (st.metrics, 0);
  st.state = GRAFT_RUN_STATE_PENDING;
  graft_study_queue_run_init (&q, &run, &st);
  g_assert_cmpfloat (q.epoch_seconds, ==, 0);
  g_array_unref (st.metrics);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/queue-estimate/mixed", test_mixed);
  g_test_add_func ("/queue-estimate/fallbacks", test_fallbacks);
  g_test_add_func ("/queue-estimate/from-status", test_from_status);
  return g_test_run ();
}
