/* rng.c — xoshiro256** generator (Blackman & Vigna) and the derived distributions declared
 * in rng.h. Only integer arithmetic, exact scaling, sqrt and log are used so that a seed
 * reproduces the same numbers across machines. */
#include "rng.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* splitmix64 spreads any seed (even 0 or small consecutive ones) over the full state;
 * xoshiro must never start from the all-zero state, which splitmix64 cannot produce here. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void dlrt_rng_seed(DlrtRng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

bool dlrt_rng_valid(const DlrtRng *r) { return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0; }

void dlrt_rng_to_hex(const DlrtRng *r, char hex[65]) {
  static const char digit[] = "0123456789abcdef";
  for (int i = 0; i < 64; i++) hex[i] = digit[r->s[i / 16] >> (60 - 4 * (i % 16)) & 15];
  hex[64] = 0;
}

int dlrt_rng_from_hex(DlrtRng *r, const char *hex) {
  DlrtRng x = {{0, 0, 0, 0}};
  for (int i = 0; i < 64; i++) {
    char c = hex[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1; /* also the end of a string too short */
    x.s[i / 16] = x.s[i / 16] << 4 | (uint64_t)d;
  }
  if (hex[64] != 0 || !dlrt_rng_valid(&x)) return -1;
  *r = x;
  return 0;
}

/* Called where a rejection loop is about to draw again: on the all-zero state it would draw
 * zeros forever, so that is the caller's bug, reported instead of a hang. Never true for a
 * valid state, so the numbers drawn do not change. */
static bool draw_again(const DlrtRng *r, const char *fn) {
  if (!dlrt_rng_valid(r)) {
    fprintf(stderr, "dlrt: %s called on the all-zero RNG state, which never changes (check states with dlrt_rng_valid)\n", fn);
    abort();
  }
  return true;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dlrt_rng_next(DlrtRng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits are the best ones of xoshiro256** and fill a double's mantissa exactly;
 * multiplying by 2^-53 is exact, so this is bit-identical everywhere. */
double dlrt_rng_uniform(DlrtRng *r) { return (double)(dlrt_rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in (-1,1), on the same exact 2^-52 grid. */
static double uniform_pm1(DlrtRng *r) { return 2.0 * dlrt_rng_uniform(r) - 1.0; }

/* Polar method rather than Box-Muller: it needs no sin/cos, whose last-bit results differ
 * more between libms than log and the correctly rounded sqrt do. s uses an explicit fma
 * because compilers may contract u*u + v*v into one on some targets and not others; fma is
 * correctly rounded by the standard, so it pins one answer everywhere. */
double dlrt_rng_normal(DlrtRng *r) {
  double u, v, s;
  do {
    u = uniform_pm1(r);
    v = uniform_pm1(r);
    s = fma(u, u, v * v);
  } while ((s >= 1.0 || s == 0.0) && draw_again(r, "dlrt_rng_normal"));
  return u * sqrt(-2.0 * log(s) / s);
}

/* Lemire, "Fast Random Integer Generation in an Interval" (2019): the high word of x*n is
 * uniform once the few low words below 2^32 mod n are rejected. Uses the top 32 bits. */
uint32_t dlrt_rng_below(DlrtRng *r, uint32_t n) {
  if (n == 0) return 0;
  uint64_t m = (dlrt_rng_next(r) >> 32) * (uint64_t)n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)-n % n; /* 2^32 mod n */
    while (low < threshold && draw_again(r, "dlrt_rng_below")) {
      m = (dlrt_rng_next(r) >> 32) * (uint64_t)n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

void dlrt_rng_shuffle(DlrtRng *r, int *perm, int n) {
  if (!perm) return;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)dlrt_rng_below(r, (uint32_t)i + 1);
    int tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}
