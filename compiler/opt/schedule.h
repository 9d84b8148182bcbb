/* schedule.h — what one generated function executes, in which order, and where each
 * buffer lives in the arena.
 *
 * A Graph holds forward, backward and update nodes together; each function (forward-only
 * inference, the whole training step) is the part of it reachable from that function's
 * roots. Memory is planned per function over one arena:
 *
 *   [ persistent: PARAM and STATE leaves, shared by all functions | scratch of one function ]
 *
 * Scratch buffers are reused once their value is dead (liveness over the schedule). */
#ifndef DLC_SCHEDULE_H
#define DLC_SCHEDULE_H
#include "graph.h"

typedef struct Schedule {
  Node **order;      /* nodes to execute, dependencies first, ASSIGNs last */
  int len;
  Node **fused_into; /* by node id: the reader whose loop computes this node, or NULL;
                        NULL as a whole until schedule_fuse runs */
  Node **site;       /* by node id: the root of the fused tree it belongs to (the reader at
                        the end of its chain), or NULL if it is not fused */
  Node **view_of;    /* by node id: the node whose buffer this one shares (a VIEW: reshape), or NULL */
  Node **in_place;   /* by node id: the persistent leaf whose buffer this node's loop writes
                        (the new value an ASSIGN stores, computed in place), or NULL */
  Node **epilogue;   /* by node id: for a kernel, the root of the elementwise tree its stores
                        compute (into the root's buffer; epilogue.c), or NULL */
  Node **epilogue_sum; /* by node id: for a kernel with an epilogue, a sum_to of the root's
                        values per map that the kernel adds up as it stores them (its site is
                        the kernel), or NULL */
  Node **pool_argmax;  /* by node id: for max pooling, the backward that reads the choice of
                        each window it saves in its input's buffer; for that backward, the max
                        pooling (epilogue.c); else NULL */
} Schedule;

/* The schedule's nodes in order (for the reference evaluator and the dumps). */
static inline NodeList schedule_nodes(const Schedule *s) { return (NodeList){s->order, s->len}; }

/* Every node reachable from roots, in topological order, with side effects on persistent
 * leaves (ASSIGN) after every node that could read those leaves. Allocated in `arena`. */
Schedule schedule_build(const Graph *g, Node *const *roots, int n_roots, Arena *arena);

/* Operands one fused loop may read (lower/nest.h sizes its nests for this many). */
enum { MAX_FUSED_LEAVES = 12 };

/* Decides which elementwise nodes are computed inside their reader's loop, and which nodes
 * are views of another's buffer (fuse.c); then which new values of persistent leaves are
 * computed in place. */
void schedule_fuse(const Graph *g, Schedule *s, Arena *arena);
/* The in-place decisions (inplace.c) and the epilogues (epilogue.c); schedule_fuse ends with
 * them. */
void schedule_update_in_place(const Graph *g, Schedule *s, Arena *arena);
void schedule_epilogues(const Graph *g, Schedule *s, Arena *arena);
/* The epilogues runtime/winograd.c computes on a conv or conv_dx's output tiles before it
 * writes them (conv_algo.c): whether the tree at root is p + bias (one value per map) or
 * ReLU of that or of p; with e, its parts. */
typedef struct WinogradEpilogue {
  const Node *bias; /* NULL if none */
  bool relu;
} WinogradEpilogue;
bool winograd_epilogue(const Schedule *s, const Node *p, const Node *root, WinogradEpilogue *e);
/* Whether pooling windows tile the image (stride = k, no padding, k from 2 to 4): max pooling
 * then runs in vectors (lower/lower_pool.c) and its backward takes epilogues. */
bool window_tiles_image(const Window *w);

/* The node that computes x in this function's code: x, the final reader of its fused chain,
 * or the kernel whose epilogue computes that chain. Its position is when x's value exists,
 * and when x's inputs are read. */
const Node *schedule_site(const Schedule *s, const Node *x);
/* The node whose buffer holds x's value (x itself unless x is a view or computed in place). */
const Node *schedule_storage(const Schedule *s, const Node *x);

enum { ARENA_ALIGN_FLOATS = 16 }; /* 64 bytes: a cache line, an AVX-512 vector */
/* x floats rounded up to a whole number of ARENA_ALIGN_FLOATS. */
int64_t arena_align(int64_t x);

typedef struct MemPlan {
  int64_t *offset;        /* by node id: float offset of the node's buffer, or -1 */
  int64_t *workspace;     /* by node id: float offset of its scratch (see memplan_build), or -1 */
  int64_t persist_floats; /* size of the persistent region */
  int64_t total_floats;   /* persistent + this function's peak scratch */
  int batch;              /* rows the buffers are sized for */
} MemPlan;

/* Places every PARAM and STATE leaf of g (in id order) at the start of the arena. */
int64_t memplan_persistent(const Graph *g, int64_t *offset);

/* Floats of scratch a node needs beside its result, for `batch` rows: what the lowering that
 * will run it says (lower_workspace), so that the plan knows nothing of kernels. */
typedef int64_t NodeWorkspaceFn(const Node *n, int batch);

/* Plans the scratch of one function for `batch` rows; `workspace` (or NULL: none) sizes
 * each node's scratch beside its result. */
MemPlan memplan_build(const Graph *g, const Schedule *s, int batch, NodeWorkspaceFn *workspace, Arena *arena);

/* The first of nodes [0, n_nodes) through which one example of a batch affects another (a
 * batched value reading a sum over the batch, as batch norm does, or a write of state that
 * depends on the examples), or NULL: then the rows may be split over threads (rows.c). */
const Node *graph_batch_coupling(const Graph *g, int n_nodes);

/* FLOPs (flops.c): multiply-adds count 2, elementwise and row ops one per element. */
int64_t node_flops(const Node *n);
/* Whether a node runs once per step whatever the batch (its value and inputs are all shared:
 * the optimiser update), rather than per example. */
bool node_once_per_step(const Node *n);
/* FLOPs of a schedule per example; *per_step (if not NULL): those once per step. */
int64_t schedule_flops(const Schedule *s, int64_t *per_step);

/* Whether a node has a buffer of its own (not a leaf fed or inlined, not a sink). */
bool node_has_buffer(const Node *n);
#endif
