/* cmd_profile.c — `dlc profile FILE.net`: compiles the training step with a timer around
 * every node, runs some steps on the training set on one thread, and prints where a step's
 * time goes per layer and pass, with GFLOP/s and the share of the core's peak
 * (profile_report.c). The same table ends `dlc train --profile`. */
#include <stdlib.h>
#include "cli.h"
#include "profile_report.h"
#include "trainer.h"

int cmd_profile(const Options *o) {
  ModelConfig cfg = options_model_config(o);
  cfg.profile = true;
  cfg.threads = 1; /* the counters belong to one thread */
  Model *m = model_load(o->file, &cfg);
  if (!m) return EXIT_USER;
  DlrtDataset train = {0};
  Trainer *t = NULL;
  int rc = EXIT_USER;
  if (!data_load(m, data_dir(o->data_dir), &train, NULL) || !model_build_training(m) || !(t = trainer_new(m)) ||
      !trainer_check_data(t, &train, "training"))
    goto done;
  int64_t want = (int64_t)o->steps * m->train.batch;
  int images = want < train.count ? (int)want : train.count;
  fprintf(stderr, "dlc: %s: profiling %d steps of batch %d\n", m->file->name, (images + m->train.batch - 1) / m->train.batch,
          m->train.batch);
  /* OpenBLAS on this thread alone, as the counters are: left at its default (every core), its
   * threads spun after each product and slowed the nodes after it, and took a core the
   * table does not count */
  dlrt_set_threads(1);
  trainer_epoch(t, &train, images / 10 + 1, 0, NULL, NULL); /* warm up: caches, pages, branch predictors */
  dlrt_prof_reset();
  t->run_steps = t->run_examples = 0;
  trainer_epoch(t, &train, images, 1, NULL, NULL);
  printf("%s: %lld parameters, batch %d\n", m->file->name, (long long)model_param_count(m), m->train.batch);
  profile_print(m, t->run_steps, t->run_examples, stdout);
  rc = EXIT_OK;
done:
  trainer_free(t);
  dlrt_dataset_free(&train);
  model_free(m);
  return rc;
}
