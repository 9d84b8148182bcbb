/* conv_algo.c — how each convolution runs, chosen from its shapes before autodiff.
 *
 * The front end makes one conv op per conv() call. A convolution with a connection table, or
 * with stride 1 and at most DIRECT_CONV_MAX_TAPS taps (c*k*k), stays a direct conv op
 * (lower_conv.c: its taps unrolled into vector code, only the connected map pairs): that
 * made LeNet-5's C1 (25 taps) 4x faster and its C3 (Table I) 2x, forward and backward, than
 * im2col + gemm, whose products for so few taps are among OpenBLAS's weakest shapes. Any
 * other becomes im2col patches [patches, c*k*k] times the kernels [maps, c*k*k]^T, transposed
 * back to images [maps, ho, wo]. The rewrite happens in place (graph_splice_before), so the
 * graph is the one the front end would have built for that choice, node for node. */
#include "passes.h"

enum { DIRECT_CONV_MAX_TAPS = 32 };

static bool runs_direct(const Window *w) {
  return w->connect || (w->stride == 1 && (int64_t)w->c * w->k * w->k <= DIRECT_CONV_MAX_TAPS);
}

/* conv(x, W) becomes reshape(transpose(gemm(im2col(x), W^T))), the reshape being the conv
 * node itself, so that whatever reads or names it is unchanged. */
static void expand_im2col(Graph *g, Node *conv) {
  const Window *w = conv->attr.win;
  Node *x = conv->in[0], *W = conv->in[1];
  int first_new = g->len;
  Node *patches = g_gemm(g, g_im2col(g, x, w, conv->loc), W, false, true, conv->loc); /* [patches, maps] */
  Node *maps_first = g_transpose(g, patches, conv->loc);
  graph_splice_before(g, conv, first_new);
  conv->op = OP_RESHAPE;
  conv->in[0] = maps_first;
  conv->in[1] = NULL;
  conv->attr = (NodeAttr){0};
}

bool opt_choose_convolutions(Graph *g) {
  bool changed = false;
  for (int i = 0; i < g->len; i++) {
    Node *y = g->nodes[i];
    if (y->op != OP_CONV || runs_direct(y->attr.win)) continue;
    expand_im2col(g, y);
    changed = true;
  }
  return changed;
}
