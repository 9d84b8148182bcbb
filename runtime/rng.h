/* rng.h — seeded random numbers for weight init and data shuffling. xoshiro256** seeded via
 * splitmix64, so one seed gives the same stream on every machine and libc (no rand()). */
#ifndef DLRT_RNG_H
#define DLRT_RNG_H
#include <stdbool.h>
#include <stdint.h>

typedef struct DlrtRng {
  uint64_t s[4];
} DlrtRng; /* xoshiro256** seeded via splitmix64 */

void dlrt_rng_seed(DlrtRng *r, uint64_t seed);
/* False for the all-zero state, the one state xoshiro256** cannot leave (it then returns 0
 * forever) and so the one that no seed produces: a state read from a file must pass this.
 * Given it, dlrt_rng_normal and dlrt_rng_below (so dlrt_rng_shuffle), whose rejection loops
 * would never end, abort with a message instead. */
bool dlrt_rng_valid(const DlrtRng *r);
/* The state as 64 lowercase hex digits (s[0] first, 16 each) and a NUL: how checkpoints
 * store it. */
void dlrt_rng_to_hex(const DlrtRng *r, char hex[65]);
/* Reads that form back (either case): 0, or -1 with r unchanged unless hex is exactly 64
 * hex digits spelling a valid state. */
int dlrt_rng_from_hex(DlrtRng *r, const char *hex);
uint64_t dlrt_rng_next(DlrtRng *r);
/* Uniform in [0,1) with 53 random bits: every value is a multiple of 2^-53. */
double dlrt_rng_uniform(DlrtRng *r);
/* Standard normal (Marsaglia polar method). Stateless beyond *r: the method's second
 * variate is discarded so the struct stays four words and the stream stays simple. */
double dlrt_rng_normal(DlrtRng *r);
/* Unbiased integer in [0,n) (Lemire's multiply-and-reject); returns 0 when n is 0. */
uint32_t dlrt_rng_below(DlrtRng *r, uint32_t n);
/* Fisher-Yates shuffle of perm[0..n) in place; the caller fills perm (e.g. 0..n-1). */
void dlrt_rng_shuffle(DlrtRng *r, int *perm, int n);
#endif
