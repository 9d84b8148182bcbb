/* classify.c — a program that embeds a network compiled ahead of time by dlc:
 *
 *   dlc train examples/mlp.net --save mlp.ck          # train, keep the parameters
 *   dlc compile examples/mlp.net -o model.o           # model.o + model.h
 *   cc -I. -I$DLC/runtime classify.c model.o $DLC/build/runtime/libdlrt.a -lopenblas -lz -lm
 *   (or, with dlc installed: cc -I. classify.c model.o $(pkg-config --cflags --libs dlc))
 *   ./a.out mlp.ck data                               # test error on MNIST's test set
 *
 * It allocates the arena model.h asks for, copies each parameter from the checkpoint to its
 * offset, and calls dlc_forward on batches of test images: no JIT, no LLVM, no dlc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "mnist.h"
#include "model.h"

/* Copies every parameter (and any state the checkpoint holds: batch-norm statistics) into
 * the arena; false if the checkpoint lacks a parameter or has another size for it. */
static int load_parameters(const char *path, float *arena) {
  Ckpt c;
  char err[1024];
  if (dlrt_ckpt_load(path, &c, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 0;
  }
  int ok = 1;
  for (int i = 0; i < DLC_MODEL_TENSORS && ok; i++) {
    const DlcModelTensor *t = &dlc_model_tensors[i];
    const CkptTensor *ct = dlrt_ckpt_tensor(&c, t->name);
    int64_t numel = 1;
    for (int d = 0; ct && d < ct->rank; d++) numel *= ct->dim[d];
    if (!ct || numel != t->numel) {
      if (!t->is_param && !ct) continue; /* optimiser state: not needed to classify */
      fprintf(stderr, "%s: no tensor '%s' of %lld values (is it another model's checkpoint?)\n", path, t->name,
              (long long)t->numel);
      ok = 0;
    } else {
      memcpy(arena + t->offset, ct->data, sizeof(float) * (size_t)numel);
    }
  }
  dlrt_ckpt_free(&c);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CHECKPOINT DATA_DIR (MNIST in DATA_DIR/mnist/)\n", argv[0]);
    return 1;
  }
  size_t arena_bytes = ((size_t)DLC_MODEL_ARENA_FLOATS * sizeof(float) + 63) / 64 * 64;
  float *arena = aligned_alloc(64, arena_bytes);
  float *x = malloc(sizeof(float) * DLC_MODEL_BATCH * DLC_MODEL_INPUTS);
  float *out = malloc(sizeof(float) * DLC_MODEL_BATCH * DLC_MODEL_OUTPUTS);
  if (!arena || !x || !out) return 1;
  memset(arena, 0, arena_bytes);
  if (!load_parameters(argv[1], arena)) return 1;
  DlrtDataset test;
  char err[1024];
  if (dlrt_mnist_load(argv[2], "t10k", &test, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  const float *feeds[DLC_MODEL_FEEDS] = {0};
  float *results[DLC_MODEL_RESULTS] = {0};
  static const float inference = 0;
  feeds[DLC_FEED_INPUT] = x;
#if DLC_FEED_TRAINING >= 0
  feeds[DLC_FEED_TRAINING] = &inference; /* dropout off, batch norm on running statistics */
#endif
  (void)inference;
  results[DLC_RESULT_OUTPUT] = out;
  int wrong = 0;
  float scale = (DLC_MODEL_PIXEL_HI - DLC_MODEL_PIXEL_LO) / 255.0f;
  for (int done = 0; done < test.count; done += DLC_MODEL_BATCH) {
    int n = test.count - done < DLC_MODEL_BATCH ? test.count - done : DLC_MODEL_BATCH;
    for (int i = 0; i < n * DLC_MODEL_INPUTS; i++)
      x[i] = DLC_MODEL_PIXEL_LO + scale * test.pixels[(size_t)done * DLC_MODEL_INPUTS + (size_t)i];
    dlc_forward(arena, arena + DLC_MODEL_STATE_FLOATS, feeds, results, n);
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int k = 1; k < DLC_MODEL_OUTPUTS; k++)
        if (out[i * DLC_MODEL_OUTPUTS + k] > out[i * DLC_MODEL_OUTPUTS + best]) best = k;
      wrong += best != test.labels[done + i];
    }
  }
  printf("test_error %.2f%% (%d of %d test images)\n", 100.0 * wrong / test.count, wrong, test.count);
  dlrt_dataset_free(&test);
  free(arena);
  free(x);
  free(out);
  return 0;
}
