/* attr.c — equality, hashing, printing and copying of node attributes, by attribute kind. */
#include "attr.h"
#include <string.h>

static bool windows_equal(const Window *a, const Window *b) {
  if (a->c != b->c || a->h != b->h || a->w != b->w || a->k != b->k || a->stride != b->stride || a->pad != b->pad ||
      a->maps != b->maps || (a->connect == NULL) != (b->connect == NULL) || memcmp(a->choice, b->choice, sizeof a->choice))
    return false;
  return !a->connect || memcmp(a->connect, b->connect, (size_t)a->c * (size_t)a->maps) == 0;
}

static unsigned float_bits(float f) {
  unsigned bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

static unsigned mix(unsigned h, unsigned v) { return (h ^ v) * 16777619u; }

bool attr_equal(DlcOp op, const NodeAttr *a, const NodeAttr *b) {
  switch (op_info(op)->attr) {
  case ATTR_NONE: return true;
  case ATTR_SCALAR: return float_bits(a->c) == float_bits(b->c);
  case ATTR_GEMM:
    return a->gemm.ta == b->gemm.ta && a->gemm.tb == b->gemm.tb && a->gemm.per_example == b->gemm.per_example;
  case ATTR_WINDOW: return windows_equal(a->win, b->win);
  case ATTR_FEED:
  case ATTR_RESULT: return a->slot == b->slot;
  case ATTR_AXIS: return a->axis == b->axis;
  case ATTR_AXES: return a->axes.rank == b->axes.rank && memcmp(a->axes.perm, b->axes.perm, (size_t)a->axes.rank) == 0;
  case ATTR_RANGE: return a->range.axis == b->range.axis && a->range.start == b->range.start && a->range.size == b->range.size;
  case ATTR_KINDS: break;
  }
  DLC_UNREACHABLE();
}

unsigned attr_hash(DlcOp op, const NodeAttr *a) {
  switch (op_info(op)->attr) {
  case ATTR_NONE: return 0;
  case ATTR_SCALAR: return float_bits(a->c);
  case ATTR_GEMM: return (unsigned)a->gemm.ta * 4u + (unsigned)a->gemm.tb * 2u + (unsigned)a->gemm.per_example;
  case ATTR_WINDOW: {
    const Window *w = a->win;
    unsigned h = 2166136261u;
    int f[8] = {w->c, w->h, w->w, w->k, w->stride, w->pad, w->maps, w->connect != NULL};
    for (int i = 0; i < 8; i++) h = mix(h, (unsigned)f[i]);
    return h; /* tables are compared, not hashed */
  }
  case ATTR_FEED:
  case ATTR_RESULT: return (unsigned)a->slot;
  case ATTR_AXIS: return (unsigned)a->axis;
  case ATTR_AXES: {
    unsigned h = 2166136261u;
    for (int i = 0; i < a->axes.rank; i++) h = mix(h, (unsigned)a->axes.perm[i]);
    return h;
  }
  case ATTR_RANGE: return mix(mix(mix(2166136261u, (unsigned)a->range.axis), (unsigned)a->range.start), (unsigned)a->range.size);
  case ATTR_KINDS: break;
  }
  DLC_UNREACHABLE();
}

void attr_print(DlcOp op, const NodeAttr *a, FILE *o) {
  switch (op_info(op)->attr) {
  case ATTR_NONE: break;
  case ATTR_SCALAR: fprintf(o, " %g", a->c); break;
  case ATTR_GEMM:
    fprintf(o, "%s%s%s", a->gemm.ta ? " a^T" : "", a->gemm.tb ? " b^T" : "", a->gemm.per_example ? " per example" : "");
    break;
  case ATTR_WINDOW: {
    const Window *w = a->win;
    fprintf(o, " k=%d stride=%d pad=%d", w->k, w->stride, w->pad);
    if (w->maps) fprintf(o, " maps=%d%s", w->maps, w->connect ? " table" : "");
    if (op_info(op)->cls == CONV) {
      const ConvChoice *ch = &w->choice[conv_pass_of(op)];
      if (ch->kernel == CONV_KERNEL_TILED) fprintf(o, " tiled %dx%d", ch->tile_a, ch->tile_b);
      if (ch->kernel == CONV_KERNEL_WINOGRAD) fprintf(o, " winograd");
    }
    break;
  }
  case ATTR_FEED: fprintf(o, " feed %d", a->slot); break;
  case ATTR_RESULT: fprintf(o, " result %d", a->slot); break;
  case ATTR_AXIS: fprintf(o, " axis %d", a->axis); break;
  case ATTR_AXES:
    for (int i = 0; i < a->axes.rank; i++) fprintf(o, i ? ", %d" : " [%d", a->axes.perm[i]);
    fputc(']', o);
    break;
  case ATTR_RANGE: fprintf(o, " axis %d start %d size %d", a->range.axis, a->range.start, a->range.size); break;
  case ATTR_KINDS: DLC_UNREACHABLE();
  }
}

NodeAttr attr_keep(Graph *g, DlcOp op, const NodeAttr *attr) {
  NodeAttr copy;
  memset(&copy, 0, sizeof copy);
  if (!attr) {
    DLC_ASSERT(op_info(op)->attr == ATTR_NONE || op_info(op)->attr == ATTR_FEED || op_info(op)->attr == ATTR_RESULT);
    return copy;
  }
  copy = *attr;
  if (op_info(op)->attr == ATTR_WINDOW) {
    const Window *w = attr->win;
    Window *kept = ARENA_NEW(&g->arena, Window);
    *kept = *w;
    if (w->connect) {
      unsigned char *t = ARENA_ARRAY(&g->arena, unsigned char, w->c * w->maps);
      memcpy(t, w->connect, (size_t)w->c * (size_t)w->maps);
      kept->connect = t;
    }
    copy.win = kept;
  }
  return copy;
}
