"""A minimal `.tflite` reader: no TensorFlow, no flatbuffers package.

Reads the parts of TFLite's schema (tensorflow/lite/schema/schema.fbs,
file identifier "TFL3") that anne needs: the model's version, its operator
codes, subgraph 0's tensors (shape, type, buffer, name, quantization) and
operators (opcode, inputs, outputs and, for FULLY_CONNECTED, CONV_2D,
DEPTHWISE_CONV_2D and the pooling ops, their builtin options), and the
buffers' bytes.

FlatBuffers in brief: little-endian; the file starts with the root table's
uoffset (u32, relative to itself), then the 4-byte identifier. A table
starts with a soffset (i32) to its vtable (at table - soffset); the vtable
holds u16 vtable size, u16 table size, then one u16 offset per field (0 or
past the end: absent, so the default). Vectors and strings are a uoffset
to a u32 length followed by the elements; a table field that is a table,
vector or string holds a uoffset relative to the field itself. A union is
two fields: its type (u8) and a uoffset to the table.

Every read is bounds-checked: a truncated or inconsistent file raises
ValueError naming what could not be read.
"""
import struct

IDENTIFIER = b"TFL3"

# enum TensorType
TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string",
                6: "bool", 7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128",
                12: "uint64", 13: "resource", 14: "variant", 15: "uint32", 16: "uint16", 17: "int4"}

# enum BuiltinOperator (schema.fbs, as TensorFlow 2.21's schema_py_generated has it),
# so that every operator an error names is named
BUILTIN_OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
               5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 7: "EMBEDDING_LOOKUP", 8: "FLOOR", 9: "FULLY_CONNECTED",
               10: "HASHTABLE_LOOKUP", 11: "L2_NORMALIZATION", 12: "L2_POOL_2D",
               13: "LOCAL_RESPONSE_NORMALIZATION", 14: "LOGISTIC", 15: "LSH_PROJECTION", 16: "LSTM",
               17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE",
               23: "RESIZE_BILINEAR", 24: "RNN", 25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 27: "SVDF", 28: "TANH",
               29: "CONCAT_EMBEDDINGS", 30: "SKIP_GRAM", 31: "CALL", 32: "CUSTOM",
               33: "EMBEDDING_LOOKUP_SPARSE", 34: "PAD", 35: "UNIDIRECTIONAL_SEQUENCE_RNN", 36: "GATHER",
               37: "BATCH_TO_SPACE_ND", 38: "SPACE_TO_BATCH_ND", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB",
               42: "DIV", 43: "SQUEEZE", 44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 45: "STRIDED_SLICE",
               46: "BIDIRECTIONAL_SEQUENCE_RNN", 47: "EXP", 48: "TOPK_V2", 49: "SPLIT", 50: "LOG_SOFTMAX",
               51: "DELEGATE", 52: "BIDIRECTIONAL_SEQUENCE_LSTM", 53: "CAST", 54: "PRELU", 55: "MAXIMUM",
               56: "ARG_MAX", 57: "MINIMUM", 58: "LESS", 59: "NEG", 60: "PADV2", 61: "GREATER",
               62: "GREATER_EQUAL", 63: "LESS_EQUAL", 64: "SELECT", 65: "SLICE", 66: "SIN",
               67: "TRANSPOSE_CONV", 68: "SPARSE_TO_DENSE", 69: "TILE", 70: "EXPAND_DIMS", 71: "EQUAL",
               72: "NOT_EQUAL", 73: "LOG", 74: "SUM", 75: "SQRT", 76: "RSQRT", 77: "SHAPE", 78: "POW",
               79: "ARG_MIN", 80: "FAKE_QUANT", 81: "REDUCE_PROD", 82: "REDUCE_MAX", 83: "PACK",
               84: "LOGICAL_OR", 85: "ONE_HOT", 86: "LOGICAL_AND", 87: "LOGICAL_NOT", 88: "UNPACK",
               89: "REDUCE_MIN", 90: "FLOOR_DIV", 91: "REDUCE_ANY", 92: "SQUARE", 93: "ZEROS_LIKE",
               94: "FILL", 95: "FLOOR_MOD", 96: "RANGE", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU",
               99: "SQUARED_DIFFERENCE", 100: "MIRROR_PAD", 101: "ABS", 102: "SPLIT_V", 103: "UNIQUE",
               104: "CEIL", 105: "REVERSE_V2", 106: "ADD_N", 107: "GATHER_ND", 108: "COS", 109: "WHERE",
               110: "RANK", 111: "ELU", 112: "REVERSE_SEQUENCE", 113: "MATRIX_DIAG", 114: "QUANTIZE",
               115: "MATRIX_SET_DIAG", 116: "ROUND", 117: "HARD_SWISH", 118: "IF", 119: "WHILE",
               120: "NON_MAX_SUPPRESSION_V4", 121: "NON_MAX_SUPPRESSION_V5", 122: "SCATTER_ND",
               123: "SELECT_V2", 124: "DENSIFY", 125: "SEGMENT_SUM", 126: "BATCH_MATMUL",
               127: "PLACEHOLDER_FOR_GREATER_OP_CODES", 128: "CUMSUM", 129: "CALL_ONCE", 130: "BROADCAST_TO",
               131: "RFFT2D", 132: "CONV_3D", 133: "IMAG", 134: "REAL", 135: "COMPLEX_ABS", 136: "HASHTABLE",
               137: "HASHTABLE_FIND", 138: "HASHTABLE_IMPORT", 139: "HASHTABLE_SIZE", 140: "REDUCE_ALL",
               141: "CONV_3D_TRANSPOSE", 142: "VAR_HANDLE", 143: "READ_VARIABLE", 144: "ASSIGN_VARIABLE",
               145: "BROADCAST_ARGS", 146: "RANDOM_STANDARD_NORMAL", 147: "BUCKETIZE", 148: "RANDOM_UNIFORM",
               149: "MULTINOMIAL", 150: "GELU", 151: "DYNAMIC_UPDATE_SLICE", 152: "RELU_0_TO_1",
               153: "UNSORTED_SEGMENT_PROD", 154: "UNSORTED_SEGMENT_MAX", 155: "UNSORTED_SEGMENT_SUM",
               156: "ATAN2", 157: "UNSORTED_SEGMENT_MIN", 158: "SIGN", 159: "BITCAST", 160: "BITWISE_XOR",
               161: "RIGHT_SHIFT", 162: "STABLEHLO_LOGISTIC", 163: "STABLEHLO_ADD", 164: "STABLEHLO_DIVIDE",
               165: "STABLEHLO_MULTIPLY", 166: "STABLEHLO_MAXIMUM", 167: "STABLEHLO_RESHAPE",
               168: "STABLEHLO_CLAMP", 169: "STABLEHLO_CONCATENATE", 170: "STABLEHLO_BROADCAST_IN_DIM",
               171: "STABLEHLO_CONVOLUTION", 172: "STABLEHLO_SLICE", 173: "STABLEHLO_CUSTOM_CALL",
               174: "STABLEHLO_REDUCE", 175: "STABLEHLO_ABS", 176: "STABLEHLO_AND", 177: "STABLEHLO_COSINE",
               178: "STABLEHLO_EXPONENTIAL", 179: "STABLEHLO_FLOOR", 180: "STABLEHLO_LOG",
               181: "STABLEHLO_MINIMUM", 182: "STABLEHLO_NEGATE", 183: "STABLEHLO_OR",
               184: "STABLEHLO_POWER", 185: "STABLEHLO_REMAINDER", 186: "STABLEHLO_RSQRT",
               187: "STABLEHLO_SELECT", 188: "STABLEHLO_SUBTRACT", 189: "STABLEHLO_TANH",
               190: "STABLEHLO_SCATTER", 191: "STABLEHLO_COMPARE", 192: "STABLEHLO_CONVERT",
               193: "STABLEHLO_DYNAMIC_SLICE", 194: "STABLEHLO_DYNAMIC_UPDATE_SLICE", 195: "STABLEHLO_PAD",
               196: "STABLEHLO_IOTA", 197: "STABLEHLO_DOT_GENERAL", 198: "STABLEHLO_REDUCE_WINDOW",
               199: "STABLEHLO_SORT", 200: "STABLEHLO_WHILE", 201: "STABLEHLO_GATHER",
               202: "STABLEHLO_TRANSPOSE", 203: "DILATE", 204: "STABLEHLO_RNG_BIT_GENERATOR",
               205: "REDUCE_WINDOW", 206: "STABLEHLO_COMPOSITE", 207: "STABLEHLO_SHIFT_LEFT",
               208: "STABLEHLO_CBRT", 209: "STABLEHLO_CASE"}

# enum ActivationFunctionType
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PADDINGS = {0: "SAME", 1: "VALID"}

# union BuiltinOptions: the member numbers read here
OPT_CONV_2D, OPT_DEPTHWISE_CONV_2D, OPT_POOL_2D, OPT_FULLY_CONNECTED = 1, 2, 5, 8
OPT_CONCATENATION, OPT_ADD, OPT_MUL, OPT_SUB = 10, 11, 21, 28

# Field slots (a union takes two: its type, then its value).
MODEL_VERSION, MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_DESCRIPTION, MODEL_BUFFERS = 0, 1, 2, 3, 4
OPCODE_DEPRECATED, OPCODE_CUSTOM, OPCODE_VERSION, OPCODE_BUILTIN = 0, 1, 2, 3
SUBGRAPH_TENSORS, SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_OPERATORS, SUBGRAPH_NAME = 0, 1, 2, 3, 4
TENSOR_SHAPE, TENSOR_TYPE, TENSOR_BUFFER, TENSOR_NAME, TENSOR_QUANTIZATION = 0, 1, 2, 3, 4
QUANT_MIN, QUANT_MAX, QUANT_SCALE, QUANT_ZERO_POINT, QUANT_DETAILS_TYPE, QUANT_DETAILS, QUANT_DIM = range(7)
OP_OPCODE_INDEX, OP_INPUTS, OP_OUTPUTS, OP_OPTIONS_TYPE, OP_OPTIONS = 0, 1, 2, 3, 4
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2


class _Buf:
    """Bounds-checked little-endian reads of the file's bytes."""

    def __init__(self, data):
        self.data = bytes(data)

    def read(self, fmt, pos, what):
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.data):
            raise ValueError(f"truncated or invalid .tflite: {what} at byte {pos} "
                             f"is past the end ({len(self.data)} bytes)")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def bytes_at(self, pos, n, what):
        if pos < 0 or n < 0 or pos + n > len(self.data):
            raise ValueError(f"truncated or invalid .tflite: {what} ({n} bytes at byte {pos}) "
                             f"is past the end ({len(self.data)} bytes)")
        return self.data[pos:pos + n]


class _Table:
    def __init__(self, buf, pos, what):
        self.buf, self.pos, self.what = buf, pos, what
        vt = pos - buf.read("<i", pos, what + " vtable offset")
        self.vt = vt
        self.vt_size = buf.read("<H", vt, what + " vtable size")
        if self.vt_size < 4 or self.vt_size % 2:
            raise ValueError(f"invalid .tflite: {what} has a vtable of {self.vt_size} bytes")
        self.size = buf.read("<H", vt + 2, what + " table size")
        buf.bytes_at(pos, self.size, what)
        buf.bytes_at(vt, self.vt_size, what + " vtable")

    def _field(self, slot):
        off = 4 + 2 * slot
        if off >= self.vt_size:
            return None
        rel = self.buf.read("<H", self.vt + off, self.what)
        if rel == 0:
            return None
        if rel >= self.size:
            raise ValueError(f"invalid .tflite: {self.what} field {slot} lies outside its table")
        return self.pos + rel

    def scalar(self, slot, fmt, default, name):
        p = self._field(slot)
        return default if p is None else self.buf.read(fmt, p, f"{self.what}.{name}")

    def _indirect(self, slot, name):
        p = self._field(slot)
        if p is None:
            return None
        return p + self.buf.read("<I", p, f"{self.what}.{name} offset")

    def table(self, slot, name):
        p = self._indirect(slot, name)
        return None if p is None else _Table(self.buf, p, f"{self.what}.{name}")

    def vector(self, slot, fmt, name):
        """A vector of scalars, as a list ([] if absent)."""
        p = self._indirect(slot, name)
        if p is None:
            return []
        n = self.buf.read("<I", p, f"{self.what}.{name} length")
        size = struct.calcsize("<" + fmt)
        raw = self.buf.bytes_at(p + 4, n * size, f"{self.what}.{name}")
        return list(struct.unpack("<%d%s" % (n, fmt), raw))

    def raw_vector(self, slot, name):
        p = self._indirect(slot, name)
        if p is None:
            return b""
        n = self.buf.read("<I", p, f"{self.what}.{name} length")
        return self.buf.bytes_at(p + 4, n, f"{self.what}.{name}")

    def tables(self, slot, name):
        p = self._indirect(slot, name)
        if p is None:
            return []
        n = self.buf.read("<I", p, f"{self.what}.{name} length")
        self.buf.bytes_at(p + 4, 4 * n, f"{self.what}.{name}")
        out = []
        for i in range(n):
            q = p + 4 + 4 * i
            out.append(_Table(self.buf, q + self.buf.read("<I", q, f"{name}[{i}]"), f"{name}[{i}]"))
        return out

    def string(self, slot, name):
        raw = self.raw_vector(slot, name)
        return raw.decode("utf-8", "replace")


def _act(v):
    return ACTIVATIONS.get(v, "?")


def _pad(v):
    return PADDINGS.get(v, "?")


_PADDING_STRIDES = [("padding", 0, "<b", 0, _pad), ("stride_w", 1, "<i", 0, None), ("stride_h", 2, "<i", 0, None)]

# Each options table read here: (key, field slot, format, default, convert).
OPTION_FIELDS = {
    OPT_FULLY_CONNECTED: [("fused_activation", 0, "<b", 0, _act), ("weights_format", 1, "<b", 0, None),
                          ("keep_num_dims", 2, "<B", 0, bool)],
    OPT_CONV_2D: _PADDING_STRIDES + [("fused_activation", 3, "<b", 0, _act), ("dilation_w", 4, "<i", 1, None),
                                     ("dilation_h", 5, "<i", 1, None)],
    OPT_DEPTHWISE_CONV_2D: _PADDING_STRIDES + [("depth_multiplier", 3, "<i", 0, None),
                                               ("fused_activation", 4, "<b", 0, _act),
                                               ("dilation_w", 5, "<i", 1, None), ("dilation_h", 6, "<i", 1, None)],
    OPT_POOL_2D: _PADDING_STRIDES + [("filter_width", 3, "<i", 0, None), ("filter_height", 4, "<i", 0, None),
                                     ("fused_activation", 5, "<b", 0, _act)],
    OPT_CONCATENATION: [("axis", 0, "<i", 0, None), ("fused_activation", 1, "<b", 0, _act)],
    OPT_ADD: [("fused_activation", 0, "<b", 0, _act)],
    OPT_MUL: [("fused_activation", 0, "<b", 0, _act)],
    OPT_SUB: [("fused_activation", 0, "<b", 0, _act)],
}


def _options(op):
    t = op.scalar(OP_OPTIONS_TYPE, "<B", 0, "builtin_options_type")
    tab = op.table(OP_OPTIONS, "builtin_options") if t else None
    if tab is None:
        return {}
    if t not in OPTION_FIELDS:
        return {"options_type": t}
    out = {}
    for key, slot, fmt, default, convert in OPTION_FIELDS[t]:
        v = tab.scalar(slot, fmt, default, key)
        out[key] = convert(v) if convert else v
    return out


def read_tflite(data):
    """The model in `data` (bytes) as plain Python values:

    {"version", "operator_codes": [{"builtin_code", "name", "version",
    "custom_code"}], "tensors": [{"shape", "type", "buffer", "name",
    "scales", "zero_points", "quantized_dimension"}], "inputs", "outputs",
    "operators": [{"opcode_index", "builtin_code", "name", "inputs",
    "outputs", "options"}], "buffers": [bytes]} (subgraph 0 only).
    Raises ValueError for a file that is not a complete TFLite flatbuffer.
    """
    buf = _Buf(data)
    if len(buf.data) < 8:
        raise ValueError(f"not a .tflite file: {len(buf.data)} bytes, too short for a flatbuffer")
    ident = buf.data[4:8]
    if ident != IDENTIFIER:
        raise ValueError(f"not a .tflite file: identifier {ident!r}, expected {IDENTIFIER!r}")
    root = buf.read("<I", 0, "root table offset")
    model = _Table(buf, root, "Model")
    codes = []
    for i, c in enumerate(model.tables(MODEL_OPERATOR_CODES, "operator_codes")):
        dep = c.scalar(OPCODE_DEPRECATED, "<b", 0, "deprecated_builtin_code")
        new = c.scalar(OPCODE_BUILTIN, "<i", 0, "builtin_code")
        code = max(dep, new)
        codes.append({"builtin_code": code, "name": BUILTIN_OPS.get(code, f"BUILTIN_{code}"),
                      "version": c.scalar(OPCODE_VERSION, "<i", 1, "version"),
                      "custom_code": c.string(OPCODE_CUSTOM, "custom_code") or None})
    subgraphs = model.tables(MODEL_SUBGRAPHS, "subgraphs")
    if not subgraphs:
        raise ValueError("invalid .tflite: the model has no subgraph")
    g = subgraphs[0]
    tensors = []
    for i, t in enumerate(g.tables(SUBGRAPH_TENSORS, "tensors")):
        ttype = t.scalar(TENSOR_TYPE, "<b", 0, "type")
        q = t.table(TENSOR_QUANTIZATION, "quantization")
        tensors.append({
            "shape": t.vector(TENSOR_SHAPE, "i", "shape"),
            "type": TENSOR_TYPES.get(ttype, f"type{ttype}"),
            "buffer": t.scalar(TENSOR_BUFFER, "<I", 0, "buffer"),
            "name": t.string(TENSOR_NAME, "name"),
            "scales": q.vector(QUANT_SCALE, "f", "scale") if q else [],
            "zero_points": q.vector(QUANT_ZERO_POINT, "q", "zero_point") if q else [],
            "quantized_dimension": q.scalar(QUANT_DIM, "<i", 0, "quantized_dimension") if q else 0,
        })
    operators = []
    for k, op in enumerate(g.tables(SUBGRAPH_OPERATORS, "operators")):
        idx = op.scalar(OP_OPCODE_INDEX, "<I", 0, "opcode_index")
        if idx >= len(codes):
            raise ValueError(f"invalid .tflite: operator {k} has opcode_index {idx}, "
                             f"but the model has {len(codes)} operator codes")
        entry = {"opcode_index": idx, "builtin_code": codes[idx]["builtin_code"], "name": codes[idx]["name"],
                 "inputs": op.vector(OP_INPUTS, "i", "inputs"), "outputs": op.vector(OP_OUTPUTS, "i", "outputs")}
        for t in entry["inputs"] + entry["outputs"]:
            if t >= len(tensors) or t < -1:
                raise ValueError(f"invalid .tflite: operator {k} ({entry['name']}) names tensor {t}, "
                                 f"but subgraph 0 has {len(tensors)} tensors")
        entry["options"] = _options(op)
        operators.append(entry)
    buffers = []
    for i, b in enumerate(model.tables(MODEL_BUFFERS, "buffers")):
        data_ = b.raw_vector(BUFFER_DATA, "data")
        offset = b.scalar(BUFFER_OFFSET, "<Q", 0, "offset")
        size = b.scalar(BUFFER_SIZE, "<Q", 0, "size")
        if not data_ and offset > 1:  # data stored after the flatbuffer (models > 2 GB)
            data_ = buf.bytes_at(offset, size, f"buffers[{i}] external data")
        buffers.append(data_)
    for i, t in enumerate(tensors):
        if t["buffer"] >= len(buffers) and buffers:
            raise ValueError(f"invalid .tflite: tensor {i} ({t['name']}) names buffer {t['buffer']}, "
                             f"but the model has {len(buffers)} buffers")
    return {"version": model.scalar(MODEL_VERSION, "<I", 0, "version"),
            "description": model.string(MODEL_DESCRIPTION, "description"),
            "operator_codes": codes, "tensors": tensors,
            "inputs": g.vector(SUBGRAPH_INPUTS, "i", "inputs"),
            "outputs": g.vector(SUBGRAPH_OUTPUTS, "i", "outputs"),
            "operators": operators, "buffers": buffers}


def read_tflite_file(path):
    with open(path, "rb") as f:
        return read_tflite(f.read())


def tensor_values(model, index):
    """A constant tensor's values as a list (int8, int32, float32, ...), or
    None for a tensor without data."""
    t = model["tensors"][index]
    raw = model["buffers"][t["buffer"]] if t["buffer"] < len(model["buffers"]) else b""
    if not raw:
        return None
    fmt = {"int8": "b", "uint8": "B", "int16": "h", "int32": "i", "int64": "q", "float32": "f",
           "float64": "d", "bool": "?"}.get(t["type"])
    if fmt is None:
        raise ValueError(f"tensor {index} ({t['name']}): cannot read values of type {t['type']}")
    size = struct.calcsize(fmt)
    if len(raw) % size:
        raise ValueError(f"tensor {index} ({t['name']}): {len(raw)} bytes is not a whole number of {t['type']}")
    return list(struct.unpack("<%d%s" % (len(raw) // size, fmt), raw))
