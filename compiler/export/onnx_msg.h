/* onnx_msg.h — ONNX protobuf messages (the C that protoc-c generates from libonnx-dev's
 * onnx.proto) made in an arena: nodes and their attributes, tensors, value types. Only
 * export/ sees these; onnx.c decides what to make. */
#ifndef DLC_ONNX_MSG_H
#define DLC_ONNX_MSG_H
#include <stdint.h>
#include "arena.h"
#include "onnx.pb-c.h"

/* op_type(inputs) -> output, named `name`; up to ONNX_MAX_ATTRS attributes may follow. */
enum { ONNX_MAX_ATTRS = 8 };
Onnx__NodeProto *onnx_node(Arena *a, const char *op_type, const char *name, int n_in, const char *const *in,
                           const char *out);
void onnx_attr_int(Arena *a, Onnx__NodeProto *n, const char *name, int64_t v);
void onnx_attr_float(Arena *a, Onnx__NodeProto *n, const char *name, float v);
void onnx_attr_ints(Arena *a, Onnx__NodeProto *n, const char *name, int count, const int64_t *v);

/* A float tensor of `rank` dims whose data is read, not copied (it must live until the
 * model is packed); an int64 tensor whose values are copied. */
Onnx__TensorProto *onnx_tensor_f32(Arena *a, const char *name, int rank, const int64_t *dims, const float *data);
Onnx__TensorProto *onnx_tensor_i64(Arena *a, const char *name, int rank, const int64_t *dims, const int64_t *data);

/* A float tensor's type: `batch` (a symbolic dimension's name) first unless NULL, then dims. */
Onnx__ValueInfoProto *onnx_value_info(Arena *a, const char *name, const char *batch, int rank, const int *dims);
Onnx__StringStringEntryProto *onnx_meta(Arena *a, const char *key, const char *value);
#endif
