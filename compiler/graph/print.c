/* print.c — human-readable dumps of a graph, one node per line:
 *   %12  = gemm(%3, %10) b^T : batch x [100]  # mlp.net:9:7 h [backward] @79616
 * (id, op, inputs, attributes, shape; then source location, name, whether autodiff made
 * it, and the buffer's arena offset in floats when a memory plan is given). */
#include "print.h"
#include "attr.h"

static void print_node(const Node *n, int n_forward, const int64_t *offset, FILE *o) {
  char buf[SHAPE_STR_MAX];
  fprintf(o, "%%%-4d = %s(", n->id, op_name(n->op));
  for (int k = 0; k < op_info(n->op)->arity; k++) fprintf(o, k ? ", %%%d" : "%%%d", n->in[k]->id);
  fputc(')', o);
  attr_print(n->op, &n->attr, o);
  fprintf(o, " : %s", shape_str(n->shape, buf, sizeof buf));
  if (n->loc.file || n->name || n->id >= n_forward) fputs("  #", o);
  if (n->loc.file) fprintf(o, " %s:%d:%d", n->loc.file->name, n->loc.line, n->loc.col);
  if (n->name) fprintf(o, " %s", n->name);
  if (n->id >= n_forward) fputs(" [backward]", o);
  if (offset && offset[n->id] >= 0) fprintf(o, " @%lld", (long long)offset[n->id]);
  fputc('\n', o);
}

void graph_print(NodeList nodes, int n_forward, const int64_t *offset, FILE *o) {
  for (int i = 0; i < nodes.len; i++) print_node(nodes.nodes[i], n_forward, offset, o);
}

void graph_print_dot(NodeList nodes, int n_forward, FILE *o) {
  char buf[SHAPE_STR_MAX];
  fputs("digraph dlc {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n", o);
  for (int i = 0; i < nodes.len; i++) {
    const Node *n = nodes.nodes[i];
    const char *color = n->op == OP_PARAM ? "lightblue"
                        : op_info(n->op)->cls == LEAF ? "lightgrey"
                        : n->id >= n_forward ? "mistyrose" : "white";
    fprintf(o, "  n%d [label=\"%%%d %s%s%s\\n%s", n->id, n->id, op_name(n->op), n->name ? " " : "",
            n->name ? n->name : "", shape_str(n->shape, buf, sizeof buf));
    if (n->loc.file) fprintf(o, "\\nline %d", n->loc.line);
    fprintf(o, "\", style=filled, fillcolor=%s];\n", color);
    for (int k = 0; k < op_info(n->op)->arity; k++) fprintf(o, "  n%d -> n%d;\n", n->in[k]->id, n->id);
  }
  fputs("}\n", o);
}
