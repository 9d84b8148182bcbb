/* init.c — the initialisers of init.h, drawn from the seeded RNG in a fixed order. */
#include "init.h"
#include <math.h>
#include <stddef.h>
#include <string.h>

static const char *const names[INIT_KIND_COUNT] = {
    [INIT_ZEROS] = "zeros", [INIT_CONST] = "const",   [INIT_UNIFORM] = "uniform",
    [INIT_NORMAL] = "normal", [INIT_LECUN] = "lecun", [INIT_LECUN_NORMAL] = "lecun_normal",
    [INIT_XAVIER] = "xavier", [INIT_XAVIER_NORMAL] = "xavier_normal", [INIT_HE] = "he",
    [INIT_HE_UNIFORM] = "he_uniform",
};

const char *dlrt_init_name(DlrtInitKind k) {
  return (unsigned)k < INIT_KIND_COUNT ? names[k] : NULL;
}

static void fill_uniform(float *d, int64_t n, double lo, double hi, DlrtRng *rng) {
  for (int64_t i = 0; i < n; i++) d[i] = (float)(lo + (hi - lo) * dlrt_rng_uniform(rng));
}

static void fill_normal(float *d, int64_t n, double mean, double std, DlrtRng *rng) {
  for (int64_t i = 0; i < n; i++) d[i] = (float)(mean + std * dlrt_rng_normal(rng));
}

void dlrt_init_fill(const DlrtInit *init, float *d, int64_t numel, DlrtRng *rng) {
  double r, fan_in = (double)(init->fan_in > 0 ? init->fan_in : 1), fan_out = (double)(init->fan_out > 0 ? init->fan_out : 1);
  switch (init->kind) {
  case INIT_ZEROS:
  case INIT_CONST:
    for (int64_t i = 0; i < numel; i++) d[i] = init->kind == INIT_CONST ? init->a : 0.0f;
    break;
  case INIT_UNIFORM: fill_uniform(d, numel, init->a, init->b, rng); break;
  case INIT_NORMAL: fill_normal(d, numel, init->a, init->b, rng); break;
  case INIT_LECUN:
    r = sqrt(3.0 / fan_in);
    fill_uniform(d, numel, -r, r, rng);
    break;
  case INIT_XAVIER:
    r = sqrt(6.0 / (fan_in + fan_out));
    fill_uniform(d, numel, -r, r, rng);
    break;
  case INIT_LECUN_NORMAL: fill_normal(d, numel, 0.0, sqrt(1.0 / fan_in), rng); break;
  case INIT_XAVIER_NORMAL: fill_normal(d, numel, 0.0, sqrt(2.0 / (fan_in + fan_out)), rng); break;
  case INIT_HE: fill_normal(d, numel, 0.0, sqrt(2.0 / fan_in), rng); break;
  case INIT_HE_UNIFORM:
    r = sqrt(6.0 / fan_in);
    fill_uniform(d, numel, -r, r, rng);
    break;
  case INIT_DATA: memcpy(d, init->data, sizeof(float) * (size_t)numel); break;
  case INIT_KIND_COUNT: break;
  }
}
