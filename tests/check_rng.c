/* check_rng.c — the random number generator's state (runtime/rng.c), as checkpoints carry
 * it: valid states and their hex form, streams unchanged from those the reference runs were
 * trained with, and no operation on the all-zero state (which would repeat forever) but an
 * abort. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "rng.h"

/* ---- RNG state ----------------------------------------------------------------------- */

START_TEST(rng_valid_and_hex) {
  DlrtRng r, zero = {{0, 0, 0, 0}}, one = {{0, 0, 0, 1}};
  dlrt_rng_seed(&r, 42);
  ck_assert(dlrt_rng_valid(&r));
  ck_assert(!dlrt_rng_valid(&zero));
  ck_assert(dlrt_rng_valid(&one));
  for (uint64_t seed = 0; seed < 1000; seed++) { /* no seed gives the invalid state */
    dlrt_rng_seed(&r, seed);
    ck_assert(dlrt_rng_valid(&r));
  }
  char hex[65];
  dlrt_rng_seed(&r, 42);
  dlrt_rng_to_hex(&r, hex);
  char want[65];
  snprintf(want, sizeof want, "%016llx%016llx%016llx%016llx", (unsigned long long)r.s[0], (unsigned long long)r.s[1],
           (unsigned long long)r.s[2], (unsigned long long)r.s[3]);
  ck_assert_str_eq(hex, want); /* the form compiler/cli/snapshot.c has always written */
  DlrtRng back;
  ck_assert_int_eq(dlrt_rng_from_hex(&back, hex), 0);
  ck_assert_mem_eq(&back, &r, sizeof r);
  DlrtRng kept = back;
  const char *bad[] = {"0000000000000000000000000000000000000000000000000000000000000000",
                       "000000000000000000000000000000000000000000000000000000000000001", /* 63 digits */
                       "00000000000000000000000000000000000000000000000000000000000000001",
                       "000000000000000000000000000000000000000000000000000000000000000g", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(dlrt_rng_from_hex(&back, bad[i]), -1);
    ck_assert_mem_eq(&back, &kept, sizeof back);
  }
  ck_assert_int_eq(dlrt_rng_from_hex(&back, "000000000000000000000000000000000000000000000000000000000000000A"), 0);
  ck_assert(back.s[3] == 10 && back.s[0] == 0);
}
END_TEST

/* Values the generators gave before the all-zero guard went in (computed then): the guard
 * changes no stream, so seeded runs and trained weights stay bit-identical. */
START_TEST(rng_streams_are_unchanged) {
  DlrtRng r;
  dlrt_rng_seed(&r, 5);
  static const uint32_t below10[8] = {2, 6, 6, 8, 5, 7, 5, 8};
  static const uint32_t below_half[4] = {778542765, 818068844, 538136910, 760024028};
  static const uint64_t normal[3] = {0x3ff9d989010d2197ull, 0x3fe9183df49c88c6ull, 0x3ff4f5ba600f968full};
  static const int shuffled[10] = {1, 2, 6, 4, 9, 5, 0, 8, 3, 7};
  for (int i = 0; i < 8; i++) ck_assert_uint_eq(dlrt_rng_below(&r, 10), below10[i]);
  for (int i = 0; i < 4; i++) ck_assert_uint_eq(dlrt_rng_below(&r, 0x80000001u), below_half[i]);
  for (int i = 0; i < 3; i++) {
    double x = dlrt_rng_normal(&r);
    uint64_t bits;
    memcpy(&bits, &x, 8);
    ck_assert_uint_eq(bits, normal[i]);
  }
  int p[10];
  for (int i = 0; i < 10; i++) p[i] = i;
  dlrt_rng_shuffle(&r, p, 10);
  for (int i = 0; i < 10; i++) ck_assert_int_eq(p[i], shuffled[i]);
  /* many rejections: 10,000 bounds of every size, 10,000 normals, hashed */
  dlrt_rng_seed(&r, 5);
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 10000; i++) h = (h ^ dlrt_rng_below(&r, (uint32_t)i * 2654435761u | 1u)) * 1099511628211ull;
  for (int i = 0; i < 10000; i++) {
    double x = dlrt_rng_normal(&r);
    uint64_t bits;
    memcpy(&bits, &x, 8);
    h = (h ^ bits) * 1099511628211ull;
  }
  ck_assert_uint_eq(h, 0xb14442c962466eb6ull);
}
END_TEST

/* On the all-zero state the rejection loops would spin forever: they abort instead (the
 * test case's short timeout turns a hang into a quick failure). */
START_TEST(rng_below_on_the_zero_state_aborts) {
  DlrtRng zero = {{0, 0, 0, 0}};
  ck_assert_uint_eq(dlrt_rng_below(&zero, 8), 0); /* a power of two rejects nothing */
  dlrt_rng_below(&zero, 10);
}
END_TEST

START_TEST(rng_normal_on_the_zero_state_aborts) {
  DlrtRng zero = {{0, 0, 0, 0}};
  dlrt_rng_normal(&zero);
}
END_TEST

START_TEST(rng_shuffle_on_the_zero_state_aborts) {
  DlrtRng zero = {{0, 0, 0, 0}};
  int p[5] = {0, 1, 2, 3, 4};
  dlrt_rng_shuffle(&zero, p, 5);
}
END_TEST

/* ---- suite --------------------------------------------------------------------------- */

static Suite *rng_suite(void) {
  Suite *s = suite_create("rng");
  TCase *rng = tcase_create("rng");
  tcase_set_timeout(rng, 10);
  tcase_add_test(rng, rng_valid_and_hex);
  tcase_add_test(rng, rng_streams_are_unchanged);
  tcase_add_test_raise_signal(rng, rng_below_on_the_zero_state_aborts, SIGABRT);
  tcase_add_test_raise_signal(rng, rng_normal_on_the_zero_state_aborts, SIGABRT);
  tcase_add_test_raise_signal(rng, rng_shuffle_on_the_zero_state_aborts, SIGABRT);
  suite_add_tcase(s, rng);
  return s;
}

int main(void) { return run_suite(rng_suite()); }
