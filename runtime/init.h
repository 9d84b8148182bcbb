/* init.h — parameter initialisers. A .net file names one per parameter; the runtime fills
 * the parameter's buffer in the arena from the seeded RNG before the first step. A constant
 * (`constant(...)` in the language) is filled the same way from the values it carries. */
#ifndef DLRT_INIT_H
#define DLRT_INIT_H
#include <stdint.h>
#include "rng.h"

typedef enum DlrtInitKind {
  INIT_ZEROS,    /* 0 */
  INIT_CONST,    /* a */
  INIT_UNIFORM,  /* U(a, b) */
  INIT_NORMAL,   /* N(a, b^2): mean a, standard deviation b */
  INIT_LECUN,         /* U(+-sqrt(3 / fan_in)): variance 1/fan_in (LeCun et al. 1998, "Efficient BackProp") */
  INIT_LECUN_NORMAL,  /* N(0, 1 / fan_in) */
  INIT_XAVIER,        /* U(+-sqrt(6 / (fan_in + fan_out))) (Glorot and Bengio 2010) */
  INIT_XAVIER_NORMAL, /* N(0, 2 / (fan_in + fan_out)) */
  INIT_HE,            /* N(0, 2 / fan_in) (He et al. 2015), for ReLU layers */
  INIT_HE_UNIFORM,    /* U(+-sqrt(6 / fan_in)) */
  INIT_DATA,          /* data[0..numel): a constant's values, copied; draws nothing. Last: no
                         file names it as an initialiser (dlrt_init_name gives NULL) */
  INIT_KIND_COUNT
} DlrtInitKind;

typedef struct DlrtInit {
  DlrtInitKind kind;
  float a, b;
  int64_t fan_in, fan_out; /* inputs feeding each unit, units fed by each input */
  const float *data;       /* INIT_DATA: the values, as many as the tensor has (not owned) */
} DlrtInit;

/* The .net spelling of each kind ("zeros", "lecun", ...), or NULL for INIT_DATA (a
 * constant's values: no initialiser a file names) and past the end. */
const char *dlrt_init_name(DlrtInitKind k);

/* Fills data[0..numel) (the compiler sets the fans: for a weight matrix [m, k], fan_in = k
 * and fan_out = m; for a convolution kernel, fan_in counts the inputs of one output unit).
 * INIT_DATA copies init->data and leaves the stream where it was. */
void dlrt_init_fill(const DlrtInit *init, float *data, int64_t numel, DlrtRng *rng);
#endif
