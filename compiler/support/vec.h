/* vec.h — typed growable arrays on malloc (for data whose size is not known up front and
 * that outlives no arena: work lists, output buffers). VEC(T) declares the struct inline. */
#ifndef DLC_VEC_H
#define DLC_VEC_H
#include <stdlib.h>
#include "diag.h"

#define VEC(T) struct { T *data; int len, cap; }

#define vec_push(v, x)                                                              \
  do {                                                                              \
    if ((v)->len == (v)->cap) {                                                     \
      (v)->cap = (v)->cap ? 2 * (v)->cap : 16;                                      \
      void *vec_p_ = realloc((v)->data, sizeof(*(v)->data) * (size_t)(v)->cap);     \
      if (!vec_p_) dlc_fatal("out of memory");                                      \
      (v)->data = vec_p_;                                                           \
    }                                                                               \
    (v)->data[(v)->len++] = (x);                                                    \
  } while (0)

#define vec_free(v) (free((v)->data), (v)->data = NULL, (v)->len = (v)->cap = 0)
#endif
