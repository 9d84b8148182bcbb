/* onnx_msg.c — ONNX protobuf messages in an arena (onnx_msg.h). Each message starts from
 * its generated INIT value (the descriptor protobuf-c packs it with); strings and arrays
 * point into the arena, which outlives the packing. */
#include "onnx_msg.h"
#include <string.h>
#include "diag.h"

/* Tensors hold raw little-endian bytes, as ONNX stores them. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "raw_data is little-endian");

Onnx__NodeProto *onnx_node(Arena *a, const char *op_type, const char *name, int n_in, const char *const *in,
                           const char *out) {
  Onnx__NodeProto *n = ARENA_NEW(a, Onnx__NodeProto);
  *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  n->op_type = arena_strdup(a, op_type);
  n->name = arena_strdup(a, name);
  n->n_input = (size_t)n_in;
  n->input = ARENA_ARRAY(a, char *, n_in);
  for (int i = 0; i < n_in; i++) n->input[i] = arena_strdup(a, in[i]);
  n->n_output = 1;
  n->output = ARENA_ARRAY(a, char *, 1);
  n->output[0] = arena_strdup(a, out);
  n->attribute = ARENA_ARRAY(a, Onnx__AttributeProto *, ONNX_MAX_ATTRS);
  return n;
}

static Onnx__AttributeProto *add_attr(Arena *a, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
  if (n->n_attribute == ONNX_MAX_ATTRS) dlc_fatal("ONNX node %s: too many attributes", n->name);
  Onnx__AttributeProto *at = ARENA_NEW(a, Onnx__AttributeProto);
  *at = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  at->name = arena_strdup(a, name);
  at->has_type = 1;
  at->type = type;
  n->attribute[n->n_attribute++] = at;
  return at;
}

void onnx_attr_int(Arena *a, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *at = add_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  at->has_i = 1;
  at->i = v;
}

void onnx_attr_float(Arena *a, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *at = add_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  at->has_f = 1;
  at->f = v;
}

void onnx_attr_ints(Arena *a, Onnx__NodeProto *n, const char *name, int count, const int64_t *v) {
  Onnx__AttributeProto *at = add_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  at->n_ints = (size_t)count;
  at->ints = ARENA_ARRAY(a, int64_t, count);
  memcpy(at->ints, v, sizeof(int64_t) * (size_t)count);
}

static Onnx__TensorProto *tensor(Arena *a, const char *name, int rank, const int64_t *dims, int32_t type) {
  Onnx__TensorProto *t = ARENA_NEW(a, Onnx__TensorProto);
  *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  t->name = arena_strdup(a, name);
  t->has_data_type = 1;
  t->data_type = type;
  t->n_dims = (size_t)rank;
  t->dims = ARENA_ARRAY(a, int64_t, rank);
  if (rank) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  return t;
}

static int64_t numel(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= dims[d];
  return n;
}

Onnx__TensorProto *onnx_tensor_f32(Arena *a, const char *name, int rank, const int64_t *dims, const float *data) {
  Onnx__TensorProto *t = tensor(a, name, rank, dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  t->has_raw_data = 1;
  t->raw_data.len = sizeof(float) * (size_t)numel(rank, dims);
  t->raw_data.data = (uint8_t *)data; /* read only: packing copies it out */
  return t;
}

Onnx__TensorProto *onnx_tensor_i64(Arena *a, const char *name, int rank, const int64_t *dims, const int64_t *data) {
  Onnx__TensorProto *t = tensor(a, name, rank, dims, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
  int64_t n = numel(rank, dims);
  t->n_int64_data = (size_t)n;
  t->int64_data = ARENA_ARRAY(a, int64_t, n);
  if (n) memcpy(t->int64_data, data, sizeof(int64_t) * (size_t)n);
  return t;
}

static Onnx__TensorShapeProto__Dimension *dimension(Arena *a, const char *param, int64_t value) {
  Onnx__TensorShapeProto__Dimension *d = ARENA_NEW(a, Onnx__TensorShapeProto__Dimension);
  *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  if (param) {
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d->dim_param = arena_strdup(a, param);
  } else {
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = value;
  }
  return d;
}

Onnx__ValueInfoProto *onnx_value_info(Arena *a, const char *name, const char *batch, int rank, const int *dims) {
  Onnx__TensorShapeProto *shape = ARENA_NEW(a, Onnx__TensorShapeProto);
  *shape = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
  shape->n_dim = (size_t)(rank + (batch != NULL));
  shape->dim = ARENA_ARRAY(a, Onnx__TensorShapeProto__Dimension *, shape->n_dim);
  size_t k = 0;
  if (batch) shape->dim[k++] = dimension(a, batch, 0);
  for (int d = 0; d < rank; d++) shape->dim[k++] = dimension(a, NULL, dims[d]);
  Onnx__TypeProto__Tensor *tt = ARENA_NEW(a, Onnx__TypeProto__Tensor);
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = shape;
  Onnx__TypeProto *type = ARENA_NEW(a, Onnx__TypeProto);
  *type = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  Onnx__ValueInfoProto *v = ARENA_NEW(a, Onnx__ValueInfoProto);
  *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  v->name = arena_strdup(a, name);
  v->type = type;
  return v;
}

Onnx__StringStringEntryProto *onnx_meta(Arena *a, const char *key, const char *value) {
  Onnx__StringStringEntryProto *e = ARENA_NEW(a, Onnx__StringStringEntryProto);
  *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  e->key = arena_strdup(a, key);
  e->value = arena_strdup(a, value);
  return e;
}
