"""The int8 activations TensorFlow's converter puts after a FULLY_CONNECTED,
as an anne int8 Dense layer stores them (docs/FORMAT.md, "int8 layers"):
SOFTMAX as its three fixed-point parameters (LiteRT's SoftmaxPrepare), every
element-wise one as the 256-entry table LiteRT's reference kernels look the
output up in (LOGISTIC, TANH, GELU, EXP: its Prepare's LUTPopulate), or that
compute the same function of the 256 int8 inputs (LEAKY_RELU's two
requantizations), computed here once so that the board only looks up.

The tables are computed as LiteRT computes them, in float32 operation for
operation, with the float functions of the host's C library (ctypes; on
Linux glibc, the C library of LiteRT's wheels), or, where there is none,
the double-precision function rounded to float32 (glibc's `expf` and `logf`
are correctly rounded but for rare midpoints). src/activation/s8/lut.rs is
the same computation on the board side; tests/host/test_tflite_import.py
checks every table against LiteRT's recorded outputs for all 256 inputs.
"""

import ctypes
import ctypes.util
import math

import numpy as np

import anne_ops
from anne_format import quantize_multiplier
from anne_int8_act import div_pot, high_mul

# TFLite operator -> the anne activation an int8 Dense layer applies.
ACTIVATIONS = {
    "SOFTMAX": "softmax",
    "LOGISTIC": "sigmoid",
    "TANH": "tanh",
    "GELU": "gelu",
    "EXP": "exponential",
    "LEAKY_RELU": "leaky_relu",
    "HARD_SWISH": "hard_silu",
    "ELU": "elu",
}

F32 = np.float32


def _libm_functions():
    path = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(path) if path else None
    except OSError:
        lib = None
    out = {}
    for name, fallback in (("expf", math.exp), ("tanhf", math.tanh), ("erfcf", math.erfc), ("expm1f", math.expm1)):
        f = getattr(lib, name, None) if lib is not None else None
        if f is not None:
            f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
            out[name] = (lambda f: lambda x: F32(f(float(x))))(f)
        else:
            out[name] = (lambda g: lambda x: F32(g(float(x))))(fallback)
    return out


_LIBM = _libm_functions()
expf, tanhf, erfcf, expm1f = _LIBM["expf"], _LIBM["tanhf"], _LIBM["erfcf"], _LIBM["expm1f"]
NEG_SQRT1_2 = F32(-math.sqrt(0.5))
SQRT_2_OVER_PI = F32(2.0 / math.sqrt(math.pi) * math.sqrt(0.5))


def _f32_to_i32_x86(v):
    return -2**31 if not math.isfinite(v) or not -2.0**31 <= v < 2.0**31 else int(v)


def _roundf(v):
    a = abs(float(v))
    r = math.floor(a)
    r += 1.0 if a - r >= 0.5 else 0.0       # exact: a - floor(a) is a float32 difference
    return F32(math.copysign(r, float(v)))


def lut_populate(f, in_q, out_q):
    """TFLite's LUTPopulate<int8_t>: table[q & 0xFF] for q in -128..127."""
    in_scale, in_zp = F32(in_q[0]), in_q[1]
    inverse = F32(1.0) / F32(out_q[0])
    table = [0] * 256
    for q in range(-128, 128):
        x = in_scale * F32(q - in_zp)
        y = _roundf(F32(f(x)) * inverse)
        v = _f32_to_i32_x86(F32(y + F32(out_q[1])))
        table[q & 0xFF] = min(127, max(-128, v))
    return table


def _requantize(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier, the double-rounding build (LiteRT's
    LEAKY_RELU), on an int32 x."""
    v = ((x << max(shift, 0)) + 2**31) % 2**32 - 2**31
    return div_pot(high_mul(v, multiplier), max(-shift, 0))


def _quantize_multiplier_double(real):
    """QuantizeMultiplier of the double-rounding build (LiteRT's activations)."""
    return quantize_multiplier(real, single_rounding=False)


def leaky_relu_table(alpha, in_q, out_q):
    """LiteRT's reference QuantizeLeakyRelu<int8_t> for every int8 input:
    the multipliers in float32 as its Prepare computes them, the double-
    rounding MultiplyByQuantizedMultiplier, alpha's sign after it."""
    in_scale, out_scale = F32(in_q[0]), F32(out_q[0])
    m_alpha, s_alpha = _quantize_multiplier_double(float(in_scale * F32(alpha) / out_scale))
    m_id, s_id = _quantize_multiplier_double(float(in_scale / out_scale))
    if not (-31 <= s_alpha <= 31 and -31 <= s_id <= 31):
        raise ValueError("LEAKY_RELU's multipliers are out of range (alpha %r, scales %r, %r)"
                         % (alpha, in_q[0], out_q[0]))
    table = [0] * 256
    for q in range(-128, 128):
        d = q - in_q[1]
        if d >= 0:
            r = out_q[1] + _requantize(d, m_id, s_id)
        else:
            s = _requantize(d, abs(m_alpha), s_alpha)
            r = out_q[1] + (-s if m_alpha < 0 else s)
        table[q & 0xFF] = min(127, max(-128, r))
    return table


def hard_swish_table(in_q, out_q):
    """LiteRT's reference HardSwish<int8_t> for every int8 input: the
    board's own computation (micropython/anne_quant.py, integers once its
    two float32 multipliers are; src/activation/s8/hard_swish.rs computes
    the same), as a list of ints."""
    import anne_quant
    return [v - 256 if v > 127 else v for v in anne_quant.hard_swish_table(in_q, out_q)]


def softmax_params(beta, in_scale):
    """SoftmaxPrepare for int8 (PreprocessSoftmaxScaling with 5 integer bits,
    the double-rounding build): (input_multiplier, input_left_shift,
    diff_min); ValueError where LiteRT refuses."""
    real = min(float(F32(beta)) * float(F32(in_scale)) * 2.0**26, 2.0**31 - 1)
    if not real > 1.0:
        raise ValueError("SOFTMAX's beta * input scale * 2**26 is %r; LiteRT needs it above 1" % real)
    m, shift = _quantize_multiplier_double(real)
    if not 0 <= shift <= 31:
        raise ValueError("SOFTMAX's input scale %r gives a left shift of %d (0..31)" % (in_scale, shift))
    return m, shift, -int(math.floor(31.0 * 2.0**26 / 2.0**shift))


def post(op, options, in_q, out_q):
    """(anne activation name, data) for TFLite operator op after a
    FULLY_CONNECTED whose output is in_q, its own output out_q ((scale,
    zero point) each): data is softmax_params() or a table. ValueError for
    what LiteRT itself refuses."""
    name = ACTIVATIONS[op]
    if op == "SOFTMAX":
        if out_q[1] != -128 or abs(F32(out_q[0]) - F32(1.0 / 256)) > F32(0.001) * F32(1.0 / 256):
            raise ValueError("SOFTMAX's output must have scale 1/256 and zero point -128 (has %r, %d)" % out_q)
        return name, softmax_params(options.get("beta", 1.0), in_q[0])
    if op == "LOGISTIC":
        if float(F32(out_q[0])) != 1.0 / 256:
            raise ValueError("LOGISTIC's output must have scale 1/256 (has %r)" % out_q[0])
        return name, lut_populate(lambda x: F32(1.0) / (F32(1.0) + expf(-x)), in_q, out_q)
    if op == "TANH":
        return name, lut_populate(tanhf, in_q, out_q)
    if op == "EXP":
        return name, lut_populate(expf, in_q, out_q)
    if op == "GELU":
        if options.get("approximate"):
            def gelu(x):
                return F32(0.5) * x * (F32(1.0) + tanhf(SQRT_2_OVER_PI * (x + F32(0.044715) * x * x * x)))
        else:
            def gelu(x):
                return F32(0.5) * x * erfcf(x * NEG_SQRT1_2)
        return name, lut_populate(gelu, in_q, out_q)
    if op == "HARD_SWISH":
        return name, hard_swish_table(in_q, out_q)
    if op == "ELU":     # LiteRT's int8 ELU: LUTPopulate of x < 0 ? expm1(x) : x
        return name, lut_populate(lambda x: expm1f(x) if x < 0 else x, in_q, out_q)
    return name, leaky_relu_table(options.get("alpha", 0.2), in_q, out_q)


ACTIVATION_IDS = {op: anne_ops.ACTIVATIONS.index(name) for op, name in ACTIVATIONS.items()}


def fold_float_islands(imp):
    """A float island the converter leaves (Keras's elu: DEQUANTIZE, ELU in
    float32, QUANTIZE), each operator read by the next alone, its operator
    one of ACTIVATIONS but SOFTMAX: that operator on the int8 tensors, its
    table. LiteRT's int8 table (LUTPopulate) is the same float32 function
    of each of the 256 values, dequantized and quantized again; its float
    kernels may round the two conversions differently, so the outputs are
    within one output step of LiteRT's. In a copy of imp's model (imp.m,
    imp.t, imp.ops set): the operator reads the DEQUANTIZE's input and
    writes the QUANTIZE's output. Returns {operator: why it is dropped}."""
    ops, t = imp.ops, imp.t
    readers = {}
    for k, op in enumerate(ops):
        for i in op["inputs"] if k not in imp.folded else ():
            readers.setdefault(i, []).append(k)

    def only_reader(tensor):
        ks = readers.get(tensor, [])
        if len(ks) != 1 or tensor in imp.m["outputs"] or ops[ks[0]]["inputs"][:1] != [tensor]:
            return None
        return ks[0]

    new_ops, folded = list(ops), {}
    for k, op in enumerate(ops):
        if op["name"] != "DEQUANTIZE" or k in imp.folded or not op["inputs"] or not op["outputs"]:
            continue
        x, f = op["inputs"][0], op["outputs"][0]
        a = only_reader(f)
        if a is None or ops[a]["name"] not in ACTIVATIONS or ops[a]["name"] == "SOFTMAX" or not ops[a]["outputs"]:
            continue
        q = only_reader(ops[a]["outputs"][0])
        if q is None or ops[q]["name"] != "QUANTIZE" or not ops[q]["outputs"]:
            continue
        y = ops[q]["outputs"][0]
        if (t[x]["type"], t[f]["type"], t[ops[a]["outputs"][0]]["type"], t[y]["type"]) != \
                ("int8", "float32", "float32", "int8"):
            continue
        new_ops[a] = dict(ops[a], inputs=[x] + list(ops[a]["inputs"][1:]), outputs=[y])
        folded[k] = folded[q] = " (a float %s's: computed on the int8 values as its table)" % ops[a]["name"]
    if folded:
        imp.m = dict(imp.m, operators=new_ops)
        imp.ops = new_ops
    return folded
