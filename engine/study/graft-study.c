/* Study files: presets, study.json reading/writing, derived run configs and run state on disk. */
#include "graft-study.h"
#include "graft-json.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "graft-arch.h"
#include "graft-error.h"
#include "graft-run.h"

/* The data area owns graft_filter/split_mode_to_string; study.json keeps its
 * own spelling so that the file format does not move with another module. */
static const char *
split_name (GraftSplitMode m)
{
  return m == GRAFT_SPLIT_KERAS ? "keras" : "seeded";
}

static const char *
filter_name (GraftFilter f)
{
  return f == GRAFT_FILTER_KERAS_JFIF ? "keras-jfif" : "decode";
}

void
graft_study_hyper_init_paper (GraftStudyHyper *h)
{
  *h = (GraftStudyHyper) {
    .epochs = 25, .batch = 64, .lr = 1e-4, .image_size = 180, .seed = 1337, .width = 1.0,
    .dropout = 0.5, .val_fraction = 0.2, .split = GRAFT_SPLIT_KERAS,
    .filter = GRAFT_FILTER_KERAS_JFIF, .patience = 0, .augment = TRUE, .bn_momentum = 0.99,
  };
}

void
graft_study_hyper_init_demo (GraftStudyHyper *h)
{
  *h = (GraftStudyHyper) {
    .epochs = 6, .batch = 64, .lr = 1e-3, .image_size = 32, .seed = 1337, .width = 0.25,
    .dropout = 0.5, .val_fraction = 0.2, .split = GRAFT_SPLIT_SEEDED,
    .filter = GRAFT_FILTER_DECODE, .patience = 0, .augment = TRUE, .bn_momentum = 0.9,
  };
}

gboolean
graft_study_preset_from_string (const char *s, GraftStudyPreset *out, GError **error)
{
  if (g_strcmp0 (s, "paper") == 0)
    *out = GRAFT_STUDY_PRESET_PAPER;
  else if (g_strcmp0 (s, "demo") == 0)
    *out = GRAFT_STUDY_PRESET_DEMO;
  else if (g_strcmp0 (s, "empty") == 0)
    *out = GRAFT_STUDY_PRESET_EMPTY;
  else
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Unknown study preset “%s” (expected paper, demo or empty)", s ? s : "");
      return FALSE;
    }
  return TRUE;
}

static void
run_free (gpointer p)
{
  GraftStudyRun *r = p;
  g_free (r->id);
  g_free (r->name);
  g_free (r->from);
  g_strfreev (r->reinit);
  g_free (r->group);
  g_free (r->init);
  g_free (r->saved_id);
  g_free (r);
}

GraftStudy *
graft_study_new (void)
{
  GraftStudy *s = g_new0 (GraftStudy, 1);
  s->seeds = g_array_new (FALSE, FALSE, sizeof (guint32));
  s->name = g_strdup ("study");
  s->architecture = g_strdup (GRAFT_ARCH_DEFAULT);
  s->source = g_strdup ("");
  s->target = g_strdup ("");
  graft_study_hyper_init_paper (&s->hyper);
  s->runs = g_ptr_array_new_with_free_func (run_free);
  return s;
}

void
graft_study_free (GraftStudy *s)
{
  if (s == NULL)
    return;
  g_free (s->dir);
  g_free (s->name);
  g_free (s->architecture);
  g_free (s->source);
  g_free (s->target);
  g_free (s->base);
  g_free (s->baseline);
  g_ptr_array_unref (s->runs);
  g_array_unref (s->seeds);
  g_free (s);
}

static GraftStudyRun *
run_new (const char *id, const char *name, int experiment, GraftStudyData data,
         const char *from, const char *const *reinit, gboolean freeze)
{
  GraftStudyRun *r = g_new0 (GraftStudyRun, 1);
  r->id = g_strdup (id);
  r->name = g_strdup (name ? name : id);
  r->experiment = experiment;
  r->data = data;
  r->from = g_strdup (from);
  r->reinit = reinit ? g_strdupv ((char **) reinit) : NULL;
  r->freeze = freeze;
  return r;
}

GraftStudyRun *
graft_study_add_run (GraftStudy *study, const char *id, const char *name, int experiment,
                     GraftStudyData data, const char *from, const char *const *reinit,
                     gboolean freeze)
{
  GraftStudyRun *r = run_new (id, name, experiment, data, from, reinit, freeze);
  g_ptr_array_add (study->runs, r);
  return r;
}

/* The study without its runs. */
static GraftStudy *
copy_settings (const GraftStudy *study)
{
  GraftStudy *c = graft_study_new ();
  g_free (c->name);
  g_free (c->source);
  g_free (c->target);
  c->dir = g_strdup (study->dir);
  c->name = g_strdup (study->name);
  g_free (c->architecture);
  c->architecture = g_strdup (study->architecture);
  c->source = g_strdup (study->source);
  c->target = g_strdup (study->target);
  c->hyper = study->hyper;
  c->base = g_strdup (study->base);
  c->baseline = g_strdup (study->baseline);
  g_array_append_vals (c->seeds, study->seeds->data, study->seeds->len);
  return c;
}

GraftStudy *
graft_study_copy (const GraftStudy *study)
{
  GraftStudy *c = copy_settings (study);
  for (guint i = 0; i < study->runs->len; i++)
    {
      const GraftStudyRun *r = study->runs->pdata[i];
      GraftStudyRun *n = graft_study_add_run (c, r->id, r->name, r->experiment, r->data, r->from,
                                              (const char *const *) r->reinit, r->freeze);
      n->seed = r->seed;
      n->group = g_strdup (r->group);
      n->init = g_strdup (r->init);
      n->saved_id = g_strdup (r->saved_id);
    }
  return c;
}

GraftStudyRun *
graft_study_find_run (const GraftStudy *study, const char *id)
{
  if (id == NULL)
    return NULL;
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      if (g_str_equal (r->id, id))
        return r;
    }
  return NULL;
}

char *
graft_study_slug (const char *name)
{
  GString *s = g_string_new (NULL);
  gboolean dash = FALSE;
  for (const char *p = name; p && *p; p++)
    {
      char c = g_ascii_tolower (*p);
      if (g_ascii_isalnum (c))
        {
          if (dash && s->len > 0)
            g_string_append_c (s, '-');
          dash = FALSE;
          g_string_append_c (s, c);
        }
      else
        dash = TRUE;
    }
  return g_string_free (s, FALSE);
}

GraftStudy *
graft_study_new_preset (GraftStudyPreset preset, const char *source, const char *target,
                        const GraftStudyHyper *hyper)
{
  GraftStudy *s = graft_study_new ();
  gboolean paper = preset == GRAFT_STUDY_PRESET_PAPER;
  g_free (s->name);
  s->name = g_strdup (paper ? "paper" : "demo");
  g_free (s->source);
  s->source = g_strdup (source ? source : "");
  g_free (s->target);
  s->target = g_strdup (target ? target : "");
  if (hyper)
    s->hyper = *hyper;
  else if (preset == GRAFT_STUDY_PRESET_DEMO)
    graft_study_hyper_init_demo (&s->hyper);
  else
    graft_study_hyper_init_paper (&s->hyper);
  if (preset == GRAFT_STUDY_PRESET_EMPTY)
    {
      g_free (s->name);
      s->name = g_strdup ("untitled");
      return s;
    }

  const char *base = paper ? "dogs120-base" : "source-base";
  const char *baseline = paper ? "dogs-cats-base" : "target-base";
  s->base = g_strdup (base);
  s->baseline = g_strdup (baseline);
  graft_study_add_run (s, base, base, 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL, FALSE);
  graft_study_add_run (s, baseline, baseline, 1, GRAFT_STUDY_DATA_TARGET, NULL, NULL, FALSE);

  /* KERAS-MODEL.md, "The study's experiments": the presets of the default architecture. */
  const GraftArch *arch = graft_arch_find (GRAFT_ARCH_DEFAULT, NULL);
  static const struct {
    const char *name;
    const char *preset;
  } exps[] = {
    { "only output", "only-output" },
    { "3-first-conv2d & output", "first3-output" },
    { "2-last-conv2d & output", "last2-output" },
  };
  for (guint e = 0; e < G_N_ELEMENTS (exps); e++)
    for (int frozen = 1; frozen >= 0; frozen--)
      {
        g_autofree char *slug = graft_study_slug (exps[e].name);
        g_autofree char *id = g_strdup_printf ("%s-%s", slug, frozen ? "frozen" : "trainable");
        graft_study_add_run (s, id, exps[e].name, (int) e + 2, GRAFT_STUDY_DATA_TARGET, base,
                             graft_arch_preset (arch, exps[e].preset)->layers, frozen);
      }
  return s;
}

gboolean
graft_study_set_architecture (GraftStudy *study, const char *arch, GError **error)
{
  const GraftArch *a = graft_arch_find (arch, error);
  if (a == NULL)
    return FALSE;
  g_free (study->architecture);
  study->architecture = g_strdup (a->name);
  return TRUE;
}

void
graft_study_set_base_init (GraftStudy *study, const char *init)
{
  GraftStudyRun *base = graft_study_find_run (study, study->base);
  if (base == NULL && init == NULL)
    return;
  if (base == NULL)
    {
      g_autofree char *id = graft_study_unique_run_id (study, "pretrained");
      base = run_new (id, id, 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL, FALSE);
      g_ptr_array_insert (study->runs, 0, base);
      study->base = g_strdup (id);
    }
  g_free (base->init);
  base->init = g_strdup (init);
  if (init)
    {
      /* A checkpoint run transfers from nothing. */
      g_clear_pointer (&base->from, g_free);
      g_clear_pointer (&base->reinit, g_strfreev);
      base->freeze = FALSE;
      base->data = GRAFT_STUDY_DATA_SOURCE;
    }
}

gboolean
graft_study_run_is_checkpoint (const GraftStudyRun *run)
{
  return run->init != NULL;
}

GraftStudy *
graft_study_new_arch (GraftStudyPreset preset, const char *arch, const char *init,
                      const char *source, const char *target, const GraftStudyHyper *hyper,
                      GError **error)
{
  const GraftArch *a = graft_arch_find (arch, error);
  if (a == NULL)
    return NULL;
  g_autoptr (GraftStudy) s = graft_study_new_preset (GRAFT_STUDY_PRESET_EMPTY, source, target,
                                                     NULL);
  g_free (s->name);
  s->name = g_strdup (a->name);
  g_free (s->architecture);
  s->architecture = g_strdup (a->name);
  if (hyper)
    s->hyper = *hyper;
  else
    {
      if (preset == GRAFT_STUDY_PRESET_DEMO)
        graft_study_hyper_init_demo (&s->hyper);
      else
        graft_study_hyper_init_paper (&s->hyper);
      if (!g_str_equal (a->name, GRAFT_ARCH_DEFAULT))
        s->hyper.bn_momentum = 0.9;
    }

  const char *base = init ? "pretrained" : "source-base";
  GraftStudyRun *b = graft_study_add_run (s, base, base, 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL,
                                          FALSE);
  b->init = g_strdup (init);
  graft_study_add_run (s, "target-base", "target-base", 1, GRAFT_STUDY_DATA_TARGET, NULL, NULL,
                       FALSE);
  s->base = g_strdup (base);
  s->baseline = g_strdup ("target-base");

  int e = 2;
  for (const GraftArchPreset *p = a->presets; p && p->id; p++, e++)
    {
      /* The registry's "all" re-initialises every layer: frozen it would freeze nothing. */
      gboolean everything = g_str_equal (p->id, "all");
      for (int frozen = everything ? 0 : 1; frozen >= 0; frozen--)
        {
          g_autofree char *id = g_strdup_printf ("%s-%s", p->id,
                                                 frozen ? "frozen" : "trainable");
          graft_study_add_run (s, id, p->label, e, GRAFT_STUDY_DATA_TARGET, base, p->layers,
                               frozen);
        }
    }
  return g_steal_pointer (&s);
}

static gboolean
is_slug (const char *id)
{
  if (id == NULL || *id == '\0' || *id == '.' || strlen (id) > 100)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_' || *p == '.'))
      return FALSE;
  return TRUE;
}

gboolean
graft_study_check_run_id (const GraftStudy *study, const GraftStudyRun *except, const char *id,
                          GError **error)
{
#define BAD_ID(...) G_STMT_START { \
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, __VA_ARGS__); \
    return FALSE; } G_STMT_END
  if (id == NULL || *id == '\0')
    BAD_ID ("The id is empty: it names the run’s folder under runs/");
  if (strlen (id) > 100)
    BAD_ID ("The id is longer than 100 characters");
  if (*id == '.')
    BAD_ID ("The id “%s” starts with “.”", id);
  if (!is_slug (id))
    BAD_ID ("The id “%s” may hold only a–z, 0–9, “-”, “_” and “.”", id);
  const GraftStudyRun *other = graft_study_find_run (study, id);
  if (other && other != except)
    BAD_ID ("Another run already has the id “%s”", id);
#undef BAD_ID
  return TRUE;
}

char *
graft_study_unique_run_id (const GraftStudy *study, const char *stem)
{
  if (graft_study_find_run (study, stem) == NULL)
    return g_strdup (stem);
  for (guint n = 2;; n++)
    {
      char *id = g_strdup_printf ("%s-%u", stem, n);
      if (graft_study_find_run (study, id) == NULL)
        return id;
      g_free (id);
    }
}

static GraftStudyRun *
find_run_or_fail (const GraftStudy *study, const char *id, GError **error)
{
  GraftStudyRun *r = graft_study_find_run (study, id);
  if (r == NULL)
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "The study has no run “%s”",
                 id ? id : "");
  return r;
}

GraftStudyRun *
graft_study_add_experiment (GraftStudy *study)
{
  GraftStudyRun *base = graft_study_find_run (study, study->base);
  if (base == NULL)
    {
      g_autofree char *id = graft_study_unique_run_id (study, "source-base");
      base = graft_study_add_run (study, id, id, 1, GRAFT_STUDY_DATA_SOURCE, NULL, NULL, FALSE);
      g_free (study->base);
      study->base = g_strdup (id);
    }
  int experiment = 1;
  for (guint i = 0; i < study->runs->len; i++)
    experiment = MAX (experiment, ((GraftStudyRun *) study->runs->pdata[i])->experiment + 1);
  g_autofree char *stem = g_strdup_printf ("experiment-%d", experiment);
  g_autofree char *id = graft_study_unique_run_id (study, stem);
  g_autofree char *name = g_strdup_printf ("Experiment %d", experiment);
  /* The architecture's first preset is its output layer alone: "dense" on the Keras CNN at
   * every width (KERAS-MODEL.md), the classifier on the others. */
  static const char *const dense[] = { "dense", NULL };
  const GraftArch *arch = graft_arch_find (study->architecture, NULL);
  const char *const *output = arch && arch->presets && arch->presets[0].id
                                ? arch->presets[0].layers : dense;
  return graft_study_add_run (study, id, name, experiment, GRAFT_STUDY_DATA_TARGET, base->id,
                              output, FALSE);
}

GraftStudyRun *
graft_study_duplicate_run (GraftStudy *study, const char *id, GError **error)
{
  GraftStudyRun *r = find_run_or_fail (study, id, error);
  if (r == NULL)
    return NULL;
  g_autofree char *stem = g_strdup_printf ("%.95s-copy", r->id);
  g_autofree char *new_id = graft_study_unique_run_id (study, stem);
  g_autofree char *name = g_strdup_printf ("%s (copy)", r->name);
  GraftStudyRun *c = run_new (new_id, name, r->experiment, r->data, r->from,
                              (const char *const *) r->reinit, r->freeze);
  c->init = g_strdup (r->init);
  guint i = 0;
  while (study->runs->pdata[i] != r)
    i++;
  g_ptr_array_insert (study->runs, (int) i + 1, c);
  return c;
}

gboolean
graft_study_rename_run (GraftStudy *study, const char *id, const char *new_id,
                        const char *new_name, GError **error)
{
  GraftStudyRun *r = find_run_or_fail (study, id, error);
  if (r == NULL || !graft_study_check_run_id (study, r, new_id, error))
    return FALSE;
  g_autofree char *name = new_name ? g_strstrip (g_strdup (new_name)) : NULL;
  if (name && *name == '\0')
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT, "The name is empty");
      return FALSE;
    }
  if (name)
    {
      g_free (r->name);
      r->name = g_steal_pointer (&name);
    }
  if (g_str_equal (r->id, new_id))
    return TRUE;
  g_autofree char *old = g_steal_pointer (&r->id);
  r->id = g_strdup (new_id);
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *o = study->runs->pdata[i];
      if (g_strcmp0 (o->from, old) == 0)
        {
          g_free (o->from);
          o->from = g_strdup (new_id);
        }
    }
  char **refs[] = { &study->base, &study->baseline };
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    if (g_strcmp0 (*refs[i], old) == 0)
      {
        g_free (*refs[i]);
        *refs[i] = g_strdup (new_id);
      }
  return TRUE;
}

/* Marks run @id and every run starting from a marked run. */
static GHashTable *
dependants_set (const GraftStudy *study, const char *id)
{
  GHashTable *set = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_add (set, (gpointer) id);
  for (gboolean more = TRUE; more;)
    {
      more = FALSE;
      for (guint i = 0; i < study->runs->len; i++)
        {
          GraftStudyRun *r = study->runs->pdata[i];
          if (r->from && g_hash_table_contains (set, r->from) && !g_hash_table_contains (set, r->id))
            more = g_hash_table_add (set, r->id);
        }
    }
  return set;
}

GStrv
graft_study_run_dependants (const GraftStudy *study, const char *id)
{
  g_autoptr (GHashTable) set = dependants_set (study, id);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      if (g_hash_table_contains (set, r->id) && !g_str_equal (r->id, id))
        g_strv_builder_add (b, r->id);
    }
  return g_strv_builder_end (b);
}

gboolean
graft_study_remove_run (GraftStudy *study, const char *id, GraftStudyRemoveFlags flags,
                        GError **error)
{
  GraftStudyRun *r = find_run_or_fail (study, id, error);
  if (r == NULL)
    return FALSE;
  g_auto (GStrv) deps = graft_study_run_dependants (study, id);
  if (deps[0] && !(flags & GRAFT_STUDY_REMOVE_DEPENDANTS))
    {
      g_autoptr (GString) names = g_string_new (NULL);
      for (guint i = 0; deps[i]; i++)
        g_string_append_printf (names, "%s“%s”", i == 0 ? "" : deps[i + 1] ? ", " : " and ",
                                deps[i]);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Run “%s” cannot be removed alone: %s start%s from its weights", id,
                   names->str, deps[1] ? "" : "s");
      return FALSE;
    }
  g_autofree char *removed = g_strdup (id);
  for (guint i = study->runs->len; i-- > 0;)
    {
      GraftStudyRun *o = study->runs->pdata[i];
      if (g_str_equal (o->id, removed) || g_strv_contains ((const char *const *) deps, o->id))
        g_ptr_array_remove_index (study->runs, i);
    }
  char **refs[] = { &study->base, &study->baseline };
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    if (*refs[i] && graft_study_find_run (study, *refs[i]) == NULL)
      g_clear_pointer (refs[i], g_free);
  return TRUE;
}

gboolean
graft_study_validate (const GraftStudy *study, const char *what, GError **error)
{
  const GraftStudyHyper *h = &study->hyper;
#define BAD(...) G_STMT_START { \
    g_autofree char *_m = g_strdup_printf (__VA_ARGS__); \
    g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: %s", what, _m); \
    return FALSE; } G_STMT_END
  if (graft_arch_find (study->architecture, NULL) == NULL)
    {
      g_autofree char *known = graft_arch_list ();
      BAD ("“architecture” names no architecture: “%s” (known: %s)", study->architecture,
           known);
    }
  /* The trainer's limits (graft-train.h): a study it would refuse is refused here. */
  if (h->epochs < 1 || h->epochs > GRAFT_TRAIN_MAX_EPOCHS)
    BAD ("“train.epochs” must be between 1 and %d (got %d)", GRAFT_TRAIN_MAX_EPOCHS, h->epochs);
  if (h->batch < 1 || h->batch > GRAFT_TRAIN_MAX_BATCH)
    BAD ("“train.batch” must be between 1 and %d (got %d)", GRAFT_TRAIN_MAX_BATCH, h->batch);
  if (!(h->lr > 0 && h->lr <= 1))
    BAD ("“train.lr” must be above 0 and at most 1 (got %g)", h->lr);
  if (h->image_size < GRAFT_TRAIN_MIN_IMAGE_SIZE || h->image_size > GRAFT_TRAIN_MAX_IMAGE_SIZE)
    BAD ("“train.image_size” must be between %d and %d (got %d)", GRAFT_TRAIN_MIN_IMAGE_SIZE,
         GRAFT_TRAIN_MAX_IMAGE_SIZE, h->image_size);
  if (!(h->width > 0 && h->width <= 4))
    BAD ("“train.width” must be in (0, 4] (got %g)", h->width);
  if (!(h->dropout >= 0 && h->dropout < 1))
    BAD ("“train.dropout” must be in [0, 1) (got %g)", h->dropout);
  if (!(h->bn_momentum >= 0 && h->bn_momentum < 1))
    BAD ("“train.bn_momentum” must be in [0, 1) (got %g)", h->bn_momentum);
  if (!(h->val_fraction > 0 && h->val_fraction < 1))
    BAD ("“train.val_fraction” must be in (0, 1) (got %g)", h->val_fraction);
  if (h->patience < 0 || h->patience > GRAFT_TRAIN_MAX_EPOCHS)
    BAD ("“train.patience” must be between 0 and %d (got %d)", GRAFT_TRAIN_MAX_EPOCHS,
         h->patience);
  for (guint i = 0; i < study->seeds->len; i++)
    for (guint j = 0; j < i; j++)
      if (g_array_index (study->seeds, guint32, i) == g_array_index (study->seeds, guint32, j))
        BAD ("“seeds” lists %u twice", g_array_index (study->seeds, guint32, i));
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      if (!is_slug (r->id))
        BAD ("“runs[%u].id” “%s” must be a folder name of a–z, 0–9, “-”, “_”, “.”", i,
             r->id ? r->id : "");
      for (guint j = 0; j < i; j++)
        if (g_str_equal (((GraftStudyRun *) study->runs->pdata[j])->id, r->id))
          BAD ("“runs[%u].id” “%s” is used twice", i, r->id);
    }
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      if (r->from && graft_study_find_run (study, r->from) == NULL)
        BAD ("“runs[%u].from” names no run: “%s”", i, r->from);
      if (r->freeze && r->from == NULL)
        BAD ("“runs[%u].freeze” is “transferred” but the run has no “from”", i);
      if (r->init && *r->init == '\0')
        BAD ("“runs[%u].init” is empty: it names a .safetensors file", i);
      if (r->init && (r->from || r->reinit))
        BAD ("“runs[%u].init” makes a checkpoint run: it takes no “from” or “reinit”", i);
      /* Follow "from" links: more than runs->len steps means a cycle. */
      const GraftStudyRun *p = r;
      for (guint steps = 0; p && p->from; steps++)
        {
          if (steps > study->runs->len)
            BAD ("“runs[%u].from” makes a cycle through “%s”", i, r->id);
          p = graft_study_find_run (study, p->from);
        }
    }
  if (study->base && graft_study_find_run (study, study->base) == NULL)
    BAD ("“base” names no run: “%s”", study->base);
  if (study->baseline && graft_study_find_run (study, study->baseline) == NULL)
    BAD ("“baseline” names no run: “%s”", study->baseline);
#undef BAD
  return TRUE;
}

char *
graft_study_to_json (const GraftStudy *study)
{
  const GraftStudyHyper *h = &study->hyper;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, GRAFT_STUDY_FORMAT);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, study->name ? study->name : "");
  json_builder_set_member_name (b, "architecture");
  json_builder_add_string_value (b, study->architecture ? study->architecture
                                                        : GRAFT_ARCH_DEFAULT);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, study->source ? study->source : "");
  json_builder_set_member_name (b, "target");
  json_builder_add_string_value (b, study->target ? study->target : "");

  json_builder_set_member_name (b, "train");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, h->epochs);
  json_builder_set_member_name (b, "batch");
  json_builder_add_int_value (b, h->batch);
  json_builder_set_member_name (b, "lr");
  json_builder_add_double_value (b, h->lr);
  json_builder_set_member_name (b, "image_size");
  json_builder_add_int_value (b, h->image_size);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, h->seed);
  json_builder_set_member_name (b, "width");
  json_builder_add_double_value (b, h->width);
  json_builder_set_member_name (b, "dropout");
  json_builder_add_double_value (b, h->dropout);
  json_builder_set_member_name (b, "val_fraction");
  json_builder_add_double_value (b, h->val_fraction);
  json_builder_set_member_name (b, "split");
  json_builder_add_string_value (b, split_name (h->split));
  json_builder_set_member_name (b, "filter");
  json_builder_add_string_value (b, filter_name (h->filter));
  json_builder_set_member_name (b, "patience");
  json_builder_add_int_value (b, h->patience);
  json_builder_set_member_name (b, "augment");
  json_builder_add_boolean_value (b, h->augment);
  json_builder_set_member_name (b, "bn_momentum");
  json_builder_add_double_value (b, h->bn_momentum);
  json_builder_end_object (b);

  if (study->base)
    {
      json_builder_set_member_name (b, "base");
      json_builder_add_string_value (b, study->base);
    }
  if (study->baseline)
    {
      json_builder_set_member_name (b, "baseline");
      json_builder_add_string_value (b, study->baseline);
    }
  if (study->seeds->len > 0)
    {
      json_builder_set_member_name (b, "seeds");
      json_builder_begin_array (b);
      for (guint i = 0; i < study->seeds->len; i++)
        json_builder_add_int_value (b, g_array_index (study->seeds, guint32, i));
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, r->id);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, r->name);
      json_builder_set_member_name (b, "experiment");
      json_builder_add_int_value (b, r->experiment);
      json_builder_set_member_name (b, "data");
      json_builder_add_string_value (b, r->data == GRAFT_STUDY_DATA_SOURCE ? "source" : "target");
      if (r->from)
        {
          json_builder_set_member_name (b, "from");
          json_builder_add_string_value (b, r->from);
        }
      if (r->init)
        {
          json_builder_set_member_name (b, "init");
          json_builder_add_string_value (b, r->init);
        }
      if (r->reinit)
        {
          json_builder_set_member_name (b, "reinit");
          json_builder_begin_array (b);
          for (char **l = r->reinit; *l; l++)
            json_builder_add_string_value (b, *l);
          json_builder_end_array (b);
        }
      json_builder_set_member_name (b, "freeze");
      json_builder_add_string_value (b, r->freeze ? "transferred" : "none");
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  char *text = graft_json_builder_to_text (b, TRUE, NULL);
  char *out = g_strconcat (text, "\n", NULL);
  g_free (text);
  return out;
}

/* Readers of typed members; @key is the full dotted name used in messages. */
static gboolean
fail_key (GError **error, const char *what, const char *key, const char *expect)
{
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: “%s” must be %s", what, key, expect);
  return FALSE;
}

static JsonNode *
member (JsonObject *o, const char *name)
{
  /* null reads as absent: writers use it for "not known yet". */
  JsonNode *n = json_object_has_member (o, name) ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_NULL (n) ? NULL : n;
}

static gboolean
read_int (JsonObject *o, const char *name, const char *key, gint64 *out, const char *what,
          GError **error)
{
  JsonNode *n = member (o, name);
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return fail_key (error, what, key, "an integer");
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
read_double (JsonObject *o, const char *name, const char *key, double *out, const char *what,
             GError **error)
{
  JsonNode *n = member (o, name);
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) ||
      (json_node_get_value_type (n) != G_TYPE_INT64 && json_node_get_value_type (n) != G_TYPE_DOUBLE))
    return fail_key (error, what, key, "a number");
  *out = json_node_get_double (n);
  return TRUE;
}

static gboolean
read_string (JsonObject *o, const char *name, const char *key, gboolean required, char **out,
             const char *what, GError **error)
{
  JsonNode *n = member (o, name);
  if (n == NULL)
    {
      if (required)
        {
          g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: “%s” is missing", what, key);
          return FALSE;
        }
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return fail_key (error, what, key, "a string");
  g_free (*out);
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
read_hyper (JsonObject *t, GraftStudyHyper *h, const char *what, GError **error)
{
  gint64 v;
  g_autofree char *split = NULL, *filter = NULL;
#define INT_FIELD(field, lo)                                                      \
  v = h->field;                                                                   \
  if (!read_int (t, #field, "train." #field, &v, what, error))                    \
    return FALSE;                                                                 \
  if (v < (lo) || v > G_MAXINT32)                                                 \
    return fail_key (error, what, "train." #field, "an integer ≥ " #lo);          \
  h->field = (int) v;
  INT_FIELD (epochs, 1)
  INT_FIELD (batch, 1)
  INT_FIELD (image_size, 1)
  INT_FIELD (patience, 0)
#undef INT_FIELD
  v = h->seed;
  if (!read_int (t, "seed", "train.seed", &v, what, error))
    return FALSE;
  if (v < 0 || v > G_MAXUINT32)
    return fail_key (error, what, "train.seed", "an integer from 0 to 4294967295");
  h->seed = (guint32) v;
  if (!read_double (t, "lr", "train.lr", &h->lr, what, error) ||
      !read_double (t, "width", "train.width", &h->width, what, error) ||
      !read_double (t, "dropout", "train.dropout", &h->dropout, what, error) ||
      !read_double (t, "val_fraction", "train.val_fraction", &h->val_fraction, what, error) ||
      !read_double (t, "bn_momentum", "train.bn_momentum", &h->bn_momentum, what, error) ||
      !read_string (t, "split", "train.split", FALSE, &split, what, error) ||
      !read_string (t, "filter", "train.filter", FALSE, &filter, what, error))
    return FALSE;
  if (split)
    {
      if (g_str_equal (split, "keras"))
        h->split = GRAFT_SPLIT_KERAS;
      else if (g_str_equal (split, "seeded"))
        h->split = GRAFT_SPLIT_SEEDED;
      else
        return fail_key (error, what, "train.split", "“keras” or “seeded”");
    }
  if (filter)
    {
      if (g_str_equal (filter, "keras-jfif"))
        h->filter = GRAFT_FILTER_KERAS_JFIF;
      else if (g_str_equal (filter, "decode"))
        h->filter = GRAFT_FILTER_DECODE;
      else
        return fail_key (error, what, "train.filter", "“decode” or “keras-jfif”");
    }
  JsonNode *aug = member (t, "augment");
  if (aug)
    {
      if (!JSON_NODE_HOLDS_VALUE (aug) || json_node_get_value_type (aug) != G_TYPE_BOOLEAN)
        return fail_key (error, what, "train.augment", "true or false");
      h->augment = json_node_get_boolean (aug);
    }
  return TRUE;
}

static gboolean
read_run (GraftStudy *s, JsonNode *n, guint i, const char *what, GError **error)
{
  g_autofree char *k = g_strdup_printf ("runs[%u]", i);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    return fail_key (error, what, k, "an object");
  JsonObject *o = json_node_get_object (n);
  g_autofree char *id = NULL, *name = NULL, *data = NULL, *from = NULL, *freeze = NULL;
  g_autofree char *init = NULL;
  g_autofree char *kinit = g_strdup_printf ("runs[%u].init", i);
  g_autofree char *kid = g_strdup_printf ("runs[%u].id", i);
  g_autofree char *kname = g_strdup_printf ("runs[%u].name", i);
  g_autofree char *kdata = g_strdup_printf ("runs[%u].data", i);
  g_autofree char *kfrom = g_strdup_printf ("runs[%u].from", i);
  g_autofree char *kfreeze = g_strdup_printf ("runs[%u].freeze", i);
  g_autofree char *kexp = g_strdup_printf ("runs[%u].experiment", i);
  g_autofree char *kreinit = g_strdup_printf ("runs[%u].reinit", i);
  gint64 exp = 0;
  if (!read_string (o, "id", kid, TRUE, &id, what, error) ||
      !read_string (o, "name", kname, FALSE, &name, what, error) ||
      !read_string (o, "init", kinit, FALSE, &init, what, error) ||
      !read_string (o, "data", kdata, init == NULL, &data, what, error) ||
      !read_string (o, "from", kfrom, FALSE, &from, what, error) ||
      !read_string (o, "freeze", kfreeze, FALSE, &freeze, what, error) ||
      !read_int (o, "experiment", kexp, &exp, what, error))
    return FALSE;
  GraftStudyData d;
  if (data == NULL || g_str_equal (data, "source"))
    d = GRAFT_STUDY_DATA_SOURCE;
  else if (g_str_equal (data, "target"))
    d = GRAFT_STUDY_DATA_TARGET;
  else
    return fail_key (error, what, kdata, "“source” or “target”");
  gboolean frozen = FALSE;
  if (freeze && g_str_equal (freeze, "transferred"))
    frozen = TRUE;
  else if (freeze && !g_str_equal (freeze, "none") && !g_str_equal (freeze, "trainable"))
    return fail_key (error, what, kfreeze, "“transferred” or “none”");
  if (exp < 0 || exp > G_MAXINT32)
    return fail_key (error, what, kexp, "an integer ≥ 0");
  g_autoptr (GPtrArray) reinit = NULL;
  JsonNode *rn = member (o, "reinit");
  if (rn)
    {
      if (!JSON_NODE_HOLDS_ARRAY (rn))
        return fail_key (error, what, kreinit, "an array of layer names");
      JsonArray *a = json_node_get_array (rn);
      reinit = g_ptr_array_new ();
      for (guint j = 0; j < json_array_get_length (a); j++)
        {
          JsonNode *e = json_array_get_element (a, j);
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING ||
              *json_node_get_string (e) == '\0')
            return fail_key (error, what, kreinit, "an array of layer names");
          g_ptr_array_add (reinit, (gpointer) json_node_get_string (e));
        }
      g_ptr_array_add (reinit, NULL);
    }
  GraftStudyRun *r = graft_study_add_run (s, id, name, (int) exp, d, from,
                                          reinit ? (const char *const *) reinit->pdata : NULL,
                                          frozen);
  r->init = g_steal_pointer (&init);
  return TRUE;
}

GraftStudy *
graft_study_from_json (const char *text, gssize len, const char *what, GError **error)
{
  g_autoptr (JsonNode) root = graft_json_parse (text, len, what, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: the top level must be an object",
                   what);
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  gint64 format = -1;
  if (!read_int (o, "format", "format", &format, what, error))
    return NULL;
  if (format != GRAFT_STUDY_FORMAT)
    {
      if (format == -1)
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT, "%s: “format” is missing", what);
      else
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_FORMAT,
                     "%s: “format” %" G_GINT64_FORMAT " is not supported (this version reads %d)",
                     what, format, GRAFT_STUDY_FORMAT);
      return NULL;
    }
  g_autoptr (GraftStudy) s = graft_study_new ();
  if (!read_string (o, "name", "name", FALSE, &s->name, what, error) ||
      !read_string (o, "architecture", "architecture", FALSE, &s->architecture, what, error) ||
      !read_string (o, "source", "source", TRUE, &s->source, what, error) ||
      !read_string (o, "target", "target", TRUE, &s->target, what, error) ||
      !read_string (o, "base", "base", FALSE, &s->base, what, error) ||
      !read_string (o, "baseline", "baseline", FALSE, &s->baseline, what, error))
    return NULL;
  JsonNode *t = member (o, "train");
  if (t)
    {
      if (!JSON_NODE_HOLDS_OBJECT (t))
        {
          fail_key (error, what, "train", "an object");
          return NULL;
        }
      if (!read_hyper (json_node_get_object (t), &s->hyper, what, error))
        return NULL;
    }
  JsonNode *seeds = member (o, "seeds");
  if (seeds)
    {
      if (!JSON_NODE_HOLDS_ARRAY (seeds) ||
          json_array_get_length (json_node_get_array (seeds)) > GRAFT_STUDY_MAX_SEEDS)
        {
          fail_key (error, what, "seeds", "an array of at most " G_STRINGIFY (GRAFT_STUDY_MAX_SEEDS)
                    " seeds");
          return NULL;
        }
      JsonArray *sa = json_node_get_array (seeds);
      for (guint i = 0; i < json_array_get_length (sa); i++)
        {
          JsonNode *e = json_array_get_element (sa, i);
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64 ||
              json_node_get_int (e) < 1 || json_node_get_int (e) > G_MAXUINT32)
            {
              fail_key (error, what, "seeds", "integers from 1 to 4294967295");
              return NULL;
            }
          guint32 v = (guint32) json_node_get_int (e);
          g_array_append_val (s->seeds, v);
        }
    }
  JsonNode *runs = member (o, "runs");
  if (runs == NULL || !JSON_NODE_HOLDS_ARRAY (runs))
    {
      fail_key (error, what, "runs", "an array of runs");
      return NULL;
    }
  JsonArray *a = json_node_get_array (runs);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!read_run (s, json_array_get_element (a, i), i, what, error))
      return NULL;
  if (!graft_study_validate (s, what, error))
    return NULL;
  return g_steal_pointer (&s);
}

/* The run folders of a run renamed since the last save, old and new paths in pairs: its own
 * and, in a seed sweep, one per seed; only those that exist and whose new path is free. */
static GPtrArray *
renamed_folders (const GraftStudy *study)
{
  GPtrArray *moves = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < study->runs->len; i++)
    {
      const GraftStudyRun *r = study->runs->pdata[i];
      if (r->saved_id == NULL || g_str_equal (r->saved_id, r->id))
        continue;
      g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (ids, g_strdup (r->saved_id));
      g_ptr_array_add (ids, g_strdup (r->id));
      for (guint k = 0; k < study->seeds->len; k++)
        {
          guint32 seed = g_array_index (study->seeds, guint32, k);
          g_ptr_array_add (ids, g_strdup_printf ("%s-seed%u", r->saved_id, seed));
          g_ptr_array_add (ids, g_strdup_printf ("%s-seed%u", r->id, seed));
        }
      for (guint k = 0; k + 1 < ids->len; k += 2)
        {
          g_autofree char *from = g_build_filename (study->dir, "runs", ids->pdata[k], NULL);
          g_autofree char *to = g_build_filename (study->dir, "runs", ids->pdata[k + 1], NULL);
          if (g_file_test (from, G_FILE_TEST_IS_DIR) && !g_file_test (to, G_FILE_TEST_EXISTS))
            {
              g_ptr_array_add (moves, g_steal_pointer (&from));
              g_ptr_array_add (moves, g_steal_pointer (&to));
            }
        }
    }
  return moves;
}

gboolean
graft_study_save (GraftStudy *study, GError **error)
{
  g_return_val_if_fail (study->dir != NULL, FALSE);
  g_autofree char *path = g_build_filename (study->dir, "study.json", NULL);
  if (!graft_study_validate (study, path, error))
    return FALSE;
  /* A renamed run keeps its results: its folders move with it, before study.json names the
   * new id, and move back if study.json cannot be written. */
  g_autoptr (GPtrArray) moves = renamed_folders (study);
  guint moved = 0;
  for (; moved + 1 < moves->len; moved += 2)
    if (!graft_run_move (moves->pdata[moved], moves->pdata[moved + 1], error))
      break;
  g_autofree char *text = moved == moves->len ? graft_study_to_json (study) : NULL;
  g_autoptr (GError) werr = NULL;
  if (text == NULL ||
      !g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &werr))
    {
      if (werr)
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot write %s: %s", path,
                     werr->message);
      while (moved >= 2)
        {
          moved -= 2;
          graft_run_move (moves->pdata[moved + 1], moves->pdata[moved], NULL);
        }
      return FALSE;
    }
  for (guint i = 0; i < study->runs->len; i++)
    {
      GraftStudyRun *r = study->runs->pdata[i];
      g_free (r->saved_id);
      r->saved_id = g_strdup (r->id);
    }
  return TRUE;
}

gboolean
graft_study_create (GraftStudy *study, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "study.json", NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO,
                   "%s already exists; choose another folder or edit that study", path);
      return FALSE;
    }
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  if (g_mkdir_with_parents (runs, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot create %s: %s", runs,
                   g_strerror (e));
      return FALSE;
    }
  g_free (study->dir);
  study->dir = g_strdup (dir);
  return graft_study_save (study, error);
}

GraftStudy *
graft_study_load (const char *path, GError **error)
{
  g_autofree char *file = NULL;
  g_autofree char *dir = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      file = g_build_filename (path, "study.json", NULL);
      dir = g_strdup (path);
    }
  else
    {
      file = g_strdup (path);
      dir = g_path_get_dirname (path);
    }
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) rerr = NULL;
  if (!g_file_get_contents (file, &text, &len, &rerr))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_IO, "Cannot read the study %s: %s", file,
                   rerr->message);
      return NULL;
    }
  GraftStudy *s = graft_study_from_json (text, (gssize) len, file, error);
  if (s == NULL)
    return NULL;
  s->dir = g_steal_pointer (&dir);
  for (guint i = 0; i < s->runs->len; i++)
    {
      GraftStudyRun *r = s->runs->pdata[i];
      r->saved_id = g_strdup (r->id);
    }
  return s;
}

gboolean
graft_study_is_sweep (const GraftStudy *study)
{
  return study->seeds->len >= 2;
}

GraftStudy *
graft_study_expand (const GraftStudy *study)
{
  if (!graft_study_is_sweep (study))
    {
      /* One seed listed: every run trains with it. */
      GraftStudy *c = graft_study_copy (study);
      for (guint i = 0; study->seeds->len == 1 && i < c->runs->len; i++)
        ((GraftStudyRun *) c->runs->pdata[i])->seed = g_array_index (study->seeds, guint32, 0);
      return c;
    }
  GraftStudy *e = copy_settings (study);
  for (guint k = 0; k < study->seeds->len; k++)
    for (guint i = 0; i < study->runs->len; i++)
      {
        const GraftStudyRun *r = study->runs->pdata[i];
        guint32 seed = g_array_index (study->seeds, guint32, k);
        g_autofree char *id = g_strdup_printf ("%s-seed%u", r->id, seed);
        g_autofree char *from = r->from ? g_strdup_printf ("%s-seed%u", r->from, seed) : NULL;
        GraftStudyRun *c = graft_study_add_run (e, id, r->name, r->experiment, r->data, from,
                                                (const char *const *) r->reinit, r->freeze);
        c->seed = seed;
        c->group = g_strdup (r->id);
        c->init = g_strdup (r->init);
      }
  return e;
}

char *
graft_study_run_dir (const GraftStudy *study, const GraftStudyRun *run)
{
  return g_build_filename (study->dir ? study->dir : ".", "runs", run->id, NULL);
}

static char *
data_path (const GraftStudy *study, const char *p)
{
  if (p == NULL || *p == '\0' || g_path_is_absolute (p) || study->dir == NULL)
    return g_strdup (p ? p : "");
  return g_build_filename (study->dir, p, NULL);
}

char *
graft_study_run_init_path (const GraftStudy *study, const GraftStudyRun *run)
{
  return run->init ? data_path (study, run->init) : NULL;
}

GraftTrainConfig *
graft_study_run_config (const GraftStudy *study, const GraftStudyRun *run, const char *device)
{
  const GraftStudyHyper *h = &study->hyper;
  GraftTrainConfig *c = g_new0 (GraftTrainConfig, 1);
  c->data_dir = data_path (study, run->data == GRAFT_STUDY_DATA_SOURCE ? study->source
                                                                       : study->target);
  c->out_dir = graft_study_run_dir (study, run);
  c->device = g_strdup (device);
  c->epochs = h->epochs;
  c->batch = h->batch;
  c->lr = h->lr;
  c->image_size = h->image_size;
  c->seed = run->seed ? run->seed : h->seed;
  c->width = h->width;
  c->dropout = h->dropout;
  c->val_fraction = h->val_fraction;
  c->split = h->split;
  c->filter = h->filter;
  c->patience = h->patience;
  c->augment = h->augment;
  c->bn_momentum = h->bn_momentum;
  c->architecture = g_strdup (study->architecture);
  if (run->init)
    c->init_checkpoint = graft_study_run_init_path (study, run);
  else if (run->from)
    {
      const GraftStudyRun *from = graft_study_find_run (study, run->from);
      g_autofree char *fdir = from && !from->init ? graft_study_run_dir (study, from) : NULL;
      if (from && from->init)
        c->init_checkpoint = graft_study_run_init_path (study, from);
      else
        c->init_checkpoint = fdir ? g_build_filename (fdir, GRAFT_RUN_BEST_FILE, NULL) : NULL;
      c->reinit_layers = run->reinit ? g_strdupv (run->reinit) : NULL;
      if (run->freeze)
        {
          c->freeze_layers = g_new0 (char *, 2);
          c->freeze_layers[0] = g_strdup ("transferred");
        }
    }
  return c;
}


void
graft_run_status_clear (GraftRunStatus *st)
{
  g_clear_pointer (&st->device, g_free);
  g_clear_pointer (&st->error, g_free);
  g_clear_pointer (&st->outdated, g_free);
  g_clear_pointer (&st->metrics, g_array_unref);
}

static gboolean
run_status (const GraftStudy *study, const GraftStudyRun *run, GraftRunStatus *out, guint depth,
            GError **error)
{
  *out = (GraftRunStatus) { .state = GRAFT_RUN_STATE_PENDING, .epochs = study->hyper.epochs,
                            .best_val_acc = NAN };
  if (run->init)
    {
      /* A checkpoint run trains nothing: it is there when its file is. */
      g_autofree char *path = graft_study_run_init_path (study, run);
      out->epochs = 0;
      out->metrics = g_array_new (FALSE, TRUE, sizeof (GraftEpochMetrics));
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        out->state = GRAFT_RUN_STATE_FINISHED;
      else
        {
          out->state = GRAFT_RUN_STATE_FAILED;
          out->error = g_strdup_printf ("“init”: the checkpoint %s does not exist", path);
        }
      return TRUE;
    }
  g_autofree char *dir = graft_study_run_dir (study, run);
  g_autoptr (GraftRun) r = graft_run_load (dir, error);
  if (r == NULL)
    return FALSE;
  out->state = graft_run_get_state (r);
  out->epochs_done = graft_run_epochs_done (r);
  out->best_val_acc = graft_run_best_val_acc (r);
  out->best_epoch = graft_run_best_epoch (r);
  out->train_seconds = graft_run_train_seconds (r);
  out->device = g_strdup (graft_run_device (r));
  out->error = g_strdup (graft_run_error (r));
  out->metrics = g_array_ref ((GArray *) graft_run_metrics (r));

  g_autoptr (GraftTrainConfig) cfg = graft_study_run_config (study, run, NULL);
  g_autoptr (JsonNode) identity = graft_run_identity_new (cfg);
  out->outdated = graft_run_outdated_reason (r, identity);
  gboolean done = out->epochs_done > 0 &&
                  graft_metrics_done (out->metrics, cfg->epochs, cfg->patience);
  if (out->outdated)
    out->state = GRAFT_RUN_STATE_OUTDATED;
  else if (done)
    out->state = GRAFT_RUN_STATE_FINISHED;   /* also when killed after its last commit */
  else if (out->state == GRAFT_RUN_STATE_FINISHED)
    out->state = GRAFT_RUN_STATE_STOPPED;    /* more epochs asked for */
  if (out->state == GRAFT_RUN_STATE_FINISHED || out->state == GRAFT_RUN_STATE_OUTDATED)
    g_clear_pointer (&out->error, g_free);

  const GraftStudyRun *from = run->from ? graft_study_find_run (study, run->from) : NULL;
  if (from == NULL || depth > study->runs->len)
    return TRUE;
  GraftRunStatus ps = { 0 };
  g_autoptr (GError) perr = NULL;
  gboolean ok = run_status (study, from, &ps, depth + 1, &perr);
  if (ok && ps.state == GRAFT_RUN_STATE_OUTDATED && out->epochs_done > 0 &&
      out->state != GRAFT_RUN_STATE_OUTDATED)
    {
      out->state = GRAFT_RUN_STATE_OUTDATED;
      out->outdated = g_strdup_printf ("the run it transfers from, “%s”, is outdated", from->id);
    }
  else if (out->state != GRAFT_RUN_STATE_FINISHED && out->state != GRAFT_RUN_STATE_OUTDATED &&
           ((ok && (ps.state == GRAFT_RUN_STATE_FAILED || ps.state == GRAFT_RUN_STATE_BLOCKED)) ||
            !ok))
    {
      out->state = GRAFT_RUN_STATE_BLOCKED;
      g_free (out->error);
      out->error = !ok ? g_strdup_printf ("the run it transfers from, “%s”, is damaged", from->id)
                   : ps.state == GRAFT_RUN_STATE_FAILED
                     ? g_strdup_printf ("the run it transfers from, “%s”, failed", from->id)
                     : g_strdup_printf ("the run it transfers from, “%s”, is blocked", from->id);
    }
  graft_run_status_clear (&ps);
  return TRUE;
}

gboolean
graft_study_run_status (const GraftStudy *study, const GraftStudyRun *run, GraftRunStatus *out,
                        GError **error)
{
  if (!run_status (study, run, out, 0, error))
    {
      graft_run_status_clear (out);
      return FALSE;
    }
  return TRUE;
}
