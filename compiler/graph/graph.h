/* graph.h — the computation graph: shapes, nodes, and shape-checking constructors.
 *
 * A Graph owns an arena holding its nodes; nodes are never freed one by one. Nodes are kept
 * in creation order, which is a topological order (a node's inputs always exist before it).
 * Per-pass data lives in side arrays indexed by Node.id.
 *
 * Shapes are static. The batch axis is implicit: a node either is `batched` (one value of
 * its shape per example; the runtime row count n is known only when a step runs) or not
 * (parameters, optimiser state, scalars). */
#ifndef DLC_GRAPH_H
#define DLC_GRAPH_H
#include <stdbool.h>
#include <stdint.h>
#include "arena.h"
#include "diag.h"
#include "ops.h"
#include "init.h"
#include "rng.h"

enum { MAX_RANK = 4, MAX_INPUTS = 2, MAX_CONV_INPUTS = 4096 };

typedef struct Shape {
  int rank;
  int dim[MAX_RANK];
  bool batched;
} Shape;

Shape shape_scalar(bool batched);
Shape shape_make(bool batched, int rank, const int *dims);
int64_t shape_numel(Shape s); /* elements per example (or in total, if not batched) */
/* Values dlc handles in one tensor (per example): 2^28 floats, 1 GiB. Larger shapes are
 * errors, which also keeps every index and product of sizes far from overflow. */
enum { MAX_NUMEL = 1 << 28 };
bool shape_too_big(Shape s);
bool shape_equal(Shape a, Shape b);
/* Right-aligned numpy broadcasting of the feature dims; batched if either is. */
bool shape_broadcast(Shape a, Shape b, Shape *out);
/* True when `from` broadcasts to exactly `to`. */
bool shape_broadcasts_to(Shape from, Shape to);
/* "[100, 784]" or "batch x [784]" (graph dumps); returns buf. */
const char *shape_str(Shape s, char *buf, int len);
/* The same shape as a .net file's author thinks of it (the batch axis is implicit):
 * "[100, 784]", "[784] per example", "a scalar", "one number per example". */
const char *shape_user_str(Shape s, char *buf, int len);
#define SHAPE_STR_MAX 96

/* A shape around one of its axes: elements per example before it (outer), along it (len)
 * and after it (inner); outer * len * inner is the numel. */
void shape_axis_split(Shape s, int axis, int64_t *outer, int64_t *len, int64_t *inner);

/* Index of the element of `from` that feeds element `i` (flat, within one example) of a
 * broadcast to `to`. Used by the reference evaluator; lowering emits the same arithmetic. */
int64_t shape_broadcast_index(Shape from, Shape to, int64_t i);

/* How one pass of a direct convolution runs: opt/conv_algo.c chooses from the shapes (a
 * cost model), lower/ follows. The pass is the op: conv, conv_dx or conv_dw. */
typedef enum ConvPass { CONV_FWD, CONV_DX, CONV_DW, CONV_PASSES } ConvPass;
typedef enum ConvKernel {
  CONV_KERNEL_TAPS,  /* lower_conv.c: a table of taps walked per output row (connection
                        tables, strides, few taps); the default */
  CONV_KERNEL_TILED, /* conv_tiled.c: register tiles of maps x positions (stride 1; a table
                        only if it connects more than half the map pairs) */
  CONV_KERNEL_WINOGRAD, /* conv_winograd.c: runtime/winograd.c's F(4x4, 3x3) (3x3, stride 1,
                           pad <= 2, no table) */
} ConvKernel;
typedef struct ConvChoice {
  unsigned char kernel; /* ConvKernel */
  /* TILED: conv and conv_dx: output maps x vectors of positions per tile; conv_dw: vectors
   * of maps x kernel rows per tile */
  unsigned char tile_a, tile_b;
} ConvChoice;

/* A sliding k x k window over per-example images [c, h, w], with a stride and zero padding
 * on every side; its output is [c, ho, wo] (pooling) or ho*wo patches (im2col). */
typedef struct Window {
  int c, h, w, k, stride, pad, ho, wo;
  /* Direct convolutions (CONV*): the output maps, and which input maps each reads:
   * connect[c * maps + m], or NULL for all. The kernels are stored by output map, one k x k
   * kernel per input map it reads, so kernel j of map m is row (conv_first_kernel(m) + j)
   * of a [kernels, k*k] matrix (without a table: [maps, c*k*k], the same memory). */
  int maps;
  const unsigned char *connect;
  ConvChoice choice[CONV_PASSES]; /* direct convolutions: each pass's kernel */
} Window;

/* The pass an op of the CONV class computes. */
ConvPass conv_pass_of(DlcOp op);

/* Kernels before output map m, and the input maps m reads (into `inputs`, at most w->c). */
int conv_first_kernel(const Window *w, int m);
int conv_inputs(const Window *w, int m, int *inputs);
/* All kernels (connections) of the convolution. */
static inline int conv_kernels(const Window *w) { return conv_first_kernel(w, w->maps); }
/* A table's layer by register tiles unrolls the input planes of every block of output maps,
 * each plane body doing only its connected pairs' multiply-adds, up to 64 bodies in all;
 * beyond (a table of many maps: a grouped convolution) the code would grow too large and the
 * tiles run the dense layer, zero kernels included. lower/conv_tiled.c lowers by this rule
 * and opt/conv_algo.c's cost model counts by it. */
static inline bool conv_tiles_unroll_planes(int in_planes, int map_blocks) { return (int64_t)in_planes * map_blocks <= 64; }

/* Computes ho and wo; false (with a message naming the sizes) if the window does not fit. */
bool window_make(int c, int h, int w, int k, int stride, int pad, Window *out, char *err, int errlen);

typedef enum NodeFlag {
  NF_LOSS = 1 << 0,   /* the per-example loss */
  NF_OUT = 1 << 1,    /* the network output (argmax = prediction) */
  NF_REPORTED = 1 << 2, /* an error about it was reported (a pass meeting it again is quiet) */
} NodeFlag;

/* A node's attribute: which member is in use is its op's attribute kind (ops.def's attr
 * column), and attr.c compares, hashes, prints and copies each kind. */
typedef union NodeAttr {
  float c;                  /* SCALAR: CONST value; POWC exponent; LEAKY_RELU slope */
  /* GEMM: op(a) = a^T if ta, op(b) = b^T if tb; per_example: one product per example (see
   * the shape rule, g_gemm_per_example), else on the 2-D views of gemm_dims */
  struct { bool ta, tb, per_example; } gemm;
  int slot;                 /* FEED: INPUT/TARGET/HYPER/NOISE/GRAD_IN feed index; RESULT: OUTPUT index */
  const Window *win;        /* WINDOW: IM2COL, COL2IM, POOL_SUM, UNPOOL_SUM, MAXPOOL(_BACK), CONV* */
  int axis;                 /* AXIS: CONCAT, REDUCE_MAX(_BACK): a per-example axis, 0 the first */
  struct { int rank; signed char perm[MAX_RANK]; } axes; /* AXES: PERMUTE: out axis i is a's axis perm[i] */
  struct { int axis, start, size; } range; /* RANGE: SLICE takes [start, start + size) of the axis;
                                              PAD puts its input at start in zeros of size */
} NodeAttr;

typedef struct Node Node;
struct Node {
  int id;
  DlcOp op;
  Node *in[MAX_INPUTS];
  Shape shape;
  unsigned flags;
  const char *name; /* user name (params, inputs, let-bound values) or NULL */
  SrcLoc loc;       /* the .net source that produced it; backward nodes inherit it */
  NodeAttr attr;
  DlrtInit init;       /* PARAM/STATE: how the runtime fills it before the first step */
};

typedef struct Graph {
  Arena arena;
  Node **nodes;
  int len, cap;
  int n_feeds, n_results;
} Graph;

/* Nodes in an order to run or print them: a function's schedule, or a whole graph. */
typedef struct NodeList {
  Node *const *nodes;
  int len;
} NodeList;
static inline NodeList graph_nodes(const Graph *g) { return (NodeList){g->nodes, g->len}; }

Graph *graph_new(void);
void graph_free(Graph *g);

/* A gemm operand as a row-major matrix: rows x cols, the rows multiplied by the batch size
 * n when `batched`. A batched [k] is (n x k), a batched [p, k] is (n*p x k) (e.g. im2col
 * patches), a parameter [m, k] is (m x k). False for other shapes. */
typedef struct MatDims {
  int64_t rows, cols;
  bool batched;
} MatDims;
bool gemm_dims(Shape s, MatDims *d);

/* Leaves. */
Node *g_input(Graph *g, const char *name, Shape s, SrcLoc loc);
Node *g_target(Graph *g, const char *name, Shape s, SrcLoc loc);
Node *g_param(Graph *g, const char *name, Shape s, SrcLoc loc);
Node *g_state(Graph *g, const char *name, Shape s, SrcLoc loc);
/* A constant tensor: a STATE leaf whose initialiser carries its values (INIT_DATA, copied
 * into the graph's arena) and that nothing assigns: not trained, no optimiser state, the
 * same in every step; checkpoints hold it like other state. */
Node *g_constant(Graph *g, const char *name, Shape s, const float *values, SrcLoc loc);
static inline bool node_is_constant(const Node *n) { return n->op == OP_STATE && n->init.kind == INIT_DATA; }
Node *g_hyper(Graph *g, const char *name, SrcLoc loc);
Node *g_const(Graph *g, float c, SrcLoc loc);
Node *g_inv_batch(Graph *g, SrcLoc loc);
/* Uniform random numbers in [0, 1) of shape s per example, fed anew each training step. */
Node *g_noise(Graph *g, Shape s, SrcLoc loc);
/* The gradient of parameter p as a feed: what the update reads when the threads' gradients
 * are computed by another function and summed (data-parallel training). */
Node *g_grad_in(Graph *g, const Node *p, SrcLoc loc);
/* Leaves whose buffer the caller passes in feeds[] (HYPER is fed too, as one value). */
static inline bool op_is_fed_buffer(DlcOp op) {
  return op == OP_INPUT || op == OP_TARGET || op == OP_NOISE || op == OP_GRAD_IN;
}

/* The shape rule of op (ops.def's shape column; shape_rules.c), which every constructor and
 * graph_verify call: whether inputs in[0..arity) with attribute attr (NULL: none) make a
 * valid node, and its shape in *out. Ops whose shape their maker chooses (leaves,
 * broadcast, sum_to, reshape, conv_dw) check `want` and return it; the others compute the
 * shape and ignore `want`. False with a message naming the shapes in err (if not NULL). */
bool op_shape(DlcOp op, Node *const *in, const NodeAttr *attr, Shape want, Shape *out, char *err, int errlen);

/* The constructor of any op with inputs: the op's shape rule, then a node with that shape and
 * a copy of attr (NULL: none; a window is copied into g's arena). The checked form returns
 * NULL (adding nothing) with the rule's message in err; the other treats a broken rule as
 * dlc's own bug (exit 2). */
Node *g_op_checked(Graph *g, DlcOp op, Node *a, Node *b, const NodeAttr *attr, Shape want, SrcLoc loc, char *err,
                   int errlen);
Node *g_op(Graph *g, DlcOp op, Node *a, Node *b, const NodeAttr *attr, Shape want, SrcLoc loc);

/* Checked constructors: on a shape error they return NULL and, if err is non-NULL, write a
 * message naming both shapes into it (for the front end to report at its location).
 * The unchecked forms below assert instead: for dlc's own use (autodiff, passes). */
Node *g_binary_checked(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc, char *err, int errlen);
Node *g_matmul_checked(Graph *g, Node *a, Node *b, SrcLoc loc, char *err, int errlen);
Node *g_gemm_checked(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc, char *err,
                     int errlen);

Node *g_unary(Graph *g, DlcOp op, Node *a, SrcLoc loc); /* an elementwise op without attribute */
Node *g_binary(Graph *g, DlcOp op, Node *a, Node *b, SrcLoc loc);
Node *g_gemm(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc);
Node *g_powc(Graph *g, Node *a, float c, SrcLoc loc);
Node *g_broadcast(Graph *g, Node *a, Shape to, SrcLoc loc);
Node *g_sum_to(Graph *g, Node *a, Shape to, SrcLoc loc);
Node *g_row(Graph *g, DlcOp op, Node *a, SrcLoc loc); /* SOFTMAX, LOG_SOFTMAX */
Node *g_reshape(Graph *g, Node *a, Shape to, SrcLoc loc);       /* same numel and batching */
Node *g_transpose(Graph *g, Node *a, SrcLoc loc);               /* a rank-2 [p, q]: permute [1, 0] */
Node *g_permute(Graph *g, Node *a, const int *perm, SrcLoc loc); /* out axis i is a's perm[i] */
Node *g_concat(Graph *g, Node *a, Node *b, int axis, SrcLoc loc);
Node *g_slice(Graph *g, Node *a, int axis, int start, int size, SrcLoc loc);
Node *g_pad(Graph *g, Node *a, int axis, int start, int size, SrcLoc loc);
Node *g_reduce_max(Graph *g, Node *a, int axis, SrcLoc loc);   /* the axis goes */
Node *g_reduce_max_back(Graph *g, Node *x, Node *dy, int axis, SrcLoc loc);
/* One matrix product per example, op(a_r) op(b_r), each operand a per-example [rows, cols]
 * or a shared matrix (at least one per example): batched [m, n]. */
Node *g_gemm_per_example(Graph *g, Node *a, Node *b, bool ta, bool tb, SrcLoc loc);
Node *g_im2col(Graph *g, Node *x, const Window *w, SrcLoc loc);  /* [c,h,w] -> [ho*wo, c*k*k] */
Node *g_col2im(Graph *g, Node *cols, const Window *w, SrcLoc loc);
Node *g_pool(Graph *g, DlcOp op, Node *x, const Window *w, SrcLoc loc); /* POOL_SUM, MAXPOOL */
Node *g_unpool_sum(Graph *g, Node *dy, const Window *w, SrcLoc loc);
Node *g_maxpool_back(Graph *g, Node *x, Node *dy, const Window *w, SrcLoc loc);
/* Direct convolution of images x [c, h, w] with the kernels W of w (see Window): images
 * [w->maps, ho, wo]; and its two gradients (conv_dw's result has the kernels' shape). */
Node *g_conv(Graph *g, Node *x, Node *W, const Window *w, SrcLoc loc);
Node *g_conv_dx(Graph *g, Node *dy, Node *W, const Window *w, SrcLoc loc);
Node *g_conv_dw(Graph *g, Node *dy, Node *x, const Window *w, SrcLoc loc, Shape kernels);
Node *g_assign(Graph *g, Node *leaf, Node *value, SrcLoc loc);
Node *g_output(Graph *g, Node *a, SrcLoc loc);

/* sum_to, or `a` itself when it already has shape `to`. */
Node *g_reduce_like(Graph *g, Node *a, Shape to, SrcLoc loc);

/* Moves the nodes made last, [first_new, g->len), to just before `at`, renumbering every node
 * from there on: a node can then be rewritten in place (its op and inputs) to read what was
 * made for it, and the graph stays in topological order. For rewrites before autodiff (no
 * side array indexed by node id exists yet); the new nodes may only read nodes before at. */
void graph_splice_before(Graph *g, Node *at, int first_new);

/* The raw constructor every other one ends in. */
Node *graph_add_node(Graph *g, DlcOp op, Shape s, Node *a, Node *b, SrcLoc loc);

/* Fills every PARAM and STATE leaf's values, in graph order, from the one stream rng: the
 * values training starts from (initial.c). dest[id] is where node id's values go. */
void graph_fill_initial(const Graph *g, DlrtRng *rng, float *const *dest);
/* A hash of what the first n_nodes nodes compute (ops, inputs, shapes, attributes, leaf
 * names), not of where they came from: an edit of a comment keeps it, a changed activation
 * does not. Checkpoints record it. */
uint64_t graph_hash(const Graph *g, int n_nodes);

/* Checks the graph's invariants: ids, arities, topological order, each node's shape and
 * attribute against its op's shape rule (verify.c). NULL if they hold, else msg, holding a
 * description of the first violation. */
const char *graph_verify(const Graph *g, char *msg, int len);

/* Whether computing n reads `leaf` (directly or through other nodes). */
bool graph_depends_on(const Graph *g, const Node *n, const Node *leaf);

/* Finds a node by user name among leaves (params, inputs), or NULL. */
Node *graph_find(const Graph *g, DlcOp op, const char *name);
#endif
