// anne.forward and anne.Plan: a chain of layers in one kernel call (the
// rule at the top of modanne.c holds here: every scalar converted before a
// buffer's address is taken).

#include "anne_glue.h"


// The (kernel, bias, activation, buf[, spec[, quant]]) items of layer i of a
// layers tuple; *n_fields is 4, 5 or 6 (an int8 layer: see anne_get_quant).
static mp_obj_t *anne_layer_fields(mp_obj_t layer, size_t i, size_t *n_fields) {
    mp_obj_t *fields;
    if (!mp_obj_is_type(layer, &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d is not a tuple"), (int)i);
    }
    mp_obj_get_array(layer, n_fields, &fields);
    if (*n_fields < 4 || *n_fields > 6) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("layer %d must be (kernel, bias, activation, buf[, spec]), got %d items"),
            (int)i, (int)*n_fields);
    }
    return fields;
}

// Layer i's kind and params from its spec, (kind, param, ...): ANNE_LAYER_*
// and up to n_params ints (ANNE_LAYER_PARAMS for anne_layer_t, six for a
// layer to train), as anne.h's anne_layer_t describes them.
ANNE_GLUE_SHARED void anne_get_spec(mp_obj_t spec_obj, size_t i, uint32_t *kind, uint32_t *params,
    size_t n_params) {
    size_t n;
    mp_obj_t *spec;
    if (!mp_obj_is_type(spec_obj, &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d: spec must be a tuple of ints"), (int)i);
    }
    mp_obj_get_array(spec_obj, &n, &spec);
    if (n < 1 || n > n_params + 1) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("layer %d: spec must be (kind, up to %d params), got %d items"), (int)i,
            (int)n_params, (int)n);
    }
    for (size_t k = 0; k < n; k++) {
        // (No conversion: forward() reads a spec after taking x and out.)
        if (!mp_obj_is_int(spec[k])) {
            mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d: spec item %d must be an int, not %q"),
                (int)i, (int)k, ANNE_TYPE_NAME(spec[k]));
        }
        mp_int_t v = mp_obj_is_small_int(spec[k]) ? MP_OBJ_SMALL_INT_VALUE(spec[k]) : -1;
        if (v < 0 || v > 65535) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: spec item %d out of range 0..65535"),
                (int)i, (int)k);
        }
        if (k == 0) {
            *kind = (uint32_t)v;
        } else {
            params[k - 1] = (uint32_t)v;
        }
    }
}

// The items of an int8 layer's quant, (input_offset, output_offset, act_min,
// act_max, scale[, post]): anne.h's anne_quant_t, scale a buffer of the
// float64 requantization scales' bits, two int32 words each, as a file
// stores them, post what the layer's activation applies after the clamp
// (softmax: 3 int32; an element-wise one: a 256-entry int8 table), both
// gathered with the weights, by anne_gather_s8. *n is 5 or 6.
static mp_obj_t *anne_quant_items(mp_obj_t quant, size_t i, size_t *n) {
    mp_obj_t *items;
    if (!mp_obj_is_type(quant, &mp_type_tuple) || (mp_obj_get_array(quant, n, &items), *n != 5 && *n != 6)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_INT8_QUANT_TYPE, (int)i);
    }
    return items;
}

// The 1-D and 2-D poolings and ZeroPadding2D, which have an int8 kernel
// (and no weights).
static bool anne_s8_pool(uint32_t kind) {
    return kind == ANNE_LAYER_MAX_POOLING1D || kind == ANNE_LAYER_AVERAGE_POOLING1D
           || kind == ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D || kind == ANNE_LAYER_GLOBAL_MAX_POOLING1D
           || kind == ANNE_LAYER_MAX_POOLING2D || kind == ANNE_LAYER_AVERAGE_POOLING2D
           || kind == ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D || kind == ANNE_LAYER_GLOBAL_MAX_POOLING2D
           || kind == ANNE_LAYER_ZERO_PADDING2D;
}

// The convolutions with an int8 kernel (Q31 multipliers, no activation).
static bool anne_s8_conv(uint32_t kind) {
    return kind == ANNE_LAYER_CONV1D || kind == ANNE_LAYER_CONV2D || kind == ANNE_LAYER_DEPTHWISE_CONV2D;
}

// An int8 layer's quant values into *q (exact ints only: forward() reads
// them after taking x and out); the kernel checks their ranges.
static void anne_get_quant(anne_layer_t *d, mp_obj_t quant, size_t i, anne_quant_t *q) {
    if (q == NULL) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: int8 layers are not trained"), (int)i);
    }
    if (d->kind != ANNE_LAYER_DENSE && !anne_s8_conv(d->kind) && !anne_s8_pool(d->kind)) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_KINDS, (int)i);
    }
    size_t n_items;
    mp_obj_t *items = anne_quant_items(quant, i, &n_items);
    int32_t v[4];
    for (size_t k = 0; k < 4; k++) {
        if (!mp_obj_is_small_int(items[k])) {
            mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_INT8_QUANT_ITEM,
                (int)i, (int)k);
        }
        mp_int_t n = MP_OBJ_SMALL_INT_VALUE(items[k]);
        if (n < -128 || n > 128) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_QUANT_RANGE,
                (int)i, (int)k);
        }
        v[k] = (int32_t)n;
    }
    q->input_offset = v[0];
    q->output_offset = v[1];
    q->act_min = v[2];
    q->act_max = v[3];
    q->scale = NULL;
    q->count = 0;
    q->post = NULL;
    q->post_len = 0;
    d->dtype = ANNE_DTYPE_S8;
    d->quant = q;
}

// anne_gather_weights for an int8 layer: an int8 kernel (array('b') or
// bytes), an int32 bias (or None), the quant's scales (int32 words, two
// per float64: array('i') or bytes) and post, read as d->act.kind (set
// by the caller) says.
ANNE_GLUE_SHARED void anne_gather_s8(anne_layer_t *d, const mp_obj_t *fields, anne_quant_t *q, size_t i) {
    // Where an empty bias points: never NULL (NULL means no bias).
    static const int32_t anne_no_ints[1];
    anne_buf_t kernel = {NULL, 0};  // (a pooling's None)
    if (fields[0] != mp_const_none || !anne_s8_pool(d->kind)) {
        kernel = anne_get_s8(fields[0], MP_QSTR_kernel, false, true);
    }
    d->kernel = kernel.data;
    d->kernel_len = kernel.len;
    d->bias = NULL;
    d->bias_len = 0;
    if (fields[1] != mp_const_none) {
        anne_buf_t bias = anne_get_i32(fields[1], MP_QSTR_bias);
        d->bias = bias.data != NULL ? bias.data : anne_no_ints;
        d->bias_len = bias.len;
    }
    size_t n_items;
    mp_obj_t *items = anne_quant_items(fields[5], i, &n_items);
    anne_buf_t sc = anne_get_i32(items[4], MP_QSTR_scale);
    q->scale = sc.data;
    q->count = sc.len % 2 == 0 ? sc.len / 2 : 0;  // (0: refused by the kernel)
    q->post = NULL;
    q->post_len = 0;
    mp_obj_t post = n_items == 6 ? items[5] : mp_const_none;
    if (d->kind != ANNE_LAYER_DENSE && d->act.kind != ANNE_ACT_LINEAR) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_NO_ACTIVATION, (int)i);
    }
    if (d->act.kind == ANNE_ACT_LINEAR || post == mp_const_none) {
        if (d->act.kind != ANNE_ACT_LINEAR || post != mp_const_none) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_QUANT, (int)i);
        }
        return;
    }
    anne_buf_t p = d->act.kind == ANNE_ACT_SOFTMAX ? anne_get_i32(post, MP_QSTR_post)
        : anne_get_s8(post, MP_QSTR_post, false, true);
    q->post = p.data;
    q->post_len = p.len;
}

// Fills d's kind, params and activation from layer i's fields. A spec (the
// fifth item, see anne_get_spec); without one the layer is dense. A pooling
// layer's activation may be None. A sixth item, quant, makes the layer int8
// (anne_get_quant; its activation, None for linear, is what its quant's
// post is for). Returns the fields.
ANNE_GLUE_SHARED mp_obj_t *anne_layer_describe(anne_layer_t *d, mp_obj_t layer, size_t i, anne_quant_t *q) {
    size_t n_fields;
    mp_obj_t *fields = anne_layer_fields(layer, i, &n_fields);
    d->kind = ANNE_LAYER_DENSE;
    d->dtype = ANNE_DTYPE_F32;
    d->quant = NULL;
    if (n_fields >= 5) {
        anne_get_spec(fields[4], i, &d->kind, d->params, ANNE_LAYER_PARAMS);
    }
    if (n_fields == 6) {
        anne_get_quant(d, fields[5], i, q);
        if (fields[2] == mp_const_none) {
            anne_activation_default(ANNE_ACT_LINEAR, &d->act);
            return fields;
        }
    }
    if (d->kind != ANNE_LAYER_DENSE && d->kind != ANNE_LAYER_CONV1D && fields[2] == mp_const_none) {
        return fields;  // pooling, affine: no activation
    }
    anne_activation_t scratch;
    d->act = *anne_get_activation(fields[2], NULL, &scratch);
    return fields;
}

// Whether the n bytes at a share memory with the m bytes at b.
static bool anne_overlap(const void *a, size_t n, const void *b, size_t m) {
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a != NULL && b != NULL && n != 0 && m != 0 && a0 < b0 + m && b0 < a0 + n;
}

// Bytes of n values of layer d's dtype (its x, kernel and out).
static MP_ALWAYSINLINE inline size_t anne_bytes(const anne_layer_t *d, size_t n) {
    return d->dtype == ANNE_DTYPE_S8 ? n : n * sizeof(float);
}

// Refuses a buffer of n bytes that layer i (or out, for i == n_layers)
// writes where it shares memory with layer j's weights (an int8 layer's
// scales too): the kernels check a layer's output against
// its own inputs and weights, this the whole network's.
static void anne_check_weights(const void *w, size_t n, size_t i, size_t n_layers, const anne_layer_t *j_desc, size_t j) {
    const anne_quant_t *q = j_desc->quant;
    if (anne_overlap(w, n, j_desc->kernel, anne_bytes(j_desc, j_desc->kernel_len))
        || anne_overlap(w, n, j_desc->bias, j_desc->bias_len * 4)
        || (q != NULL && anne_overlap(w, n, q->scale, q->count * 8))
        || (q != NULL && anne_overlap(w, n, q->post, q->post_len * (j_desc->act.kind == ANNE_ACT_SOFTMAX ? 4 : 1)))) {
        if (i == n_layers) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_OUT_SHARES_WEIGHTS, (int)j);
        }
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_BUF_SHARES_WEIGHTS, (int)i, (int)j);
    }
}

static MP_ALWAYSINLINE inline void anne_set_out(anne_layer_t *d, anne_buf_t dst) {
    d->out = dst.data;
    d->out_len = dst.len;
}

// A float32 buffer as an anne_buf_t.
static MP_ALWAYSINLINE inline anne_buf_t anne_get_f32_buf(mp_obj_t obj, qstr arg, bool writable) {
    anne_f32_buf_t f = anne_get_f32(obj, arg, writable);
    anne_buf_t b = {f.data, f.len};
    return b;
}

// An x, out or buf of a layer of dtype s8 (int8) or float32.
static anne_buf_t anne_get_io(mp_obj_t obj, qstr arg, bool writable, bool s8) {
    return s8 ? anne_get_s8(obj, arg, writable, false) : anne_get_f32_buf(obj, arg, writable);
}

// anne_raise_layer's messages for an int8 layer; returns for the statuses
// all dtypes share (overlap and the rest).
static void anne_raise_s8_layer(int32_t status, size_t i, size_t n_layers, size_t n_in,
    const anne_layer_t *d) {
    if (status == ANNE_ERR_NULL) {
        // Only an empty buffer has NULL data here (None is not a buffer).
        status = n_in == 0 ? ANNE_ERR_X_SIZE : d->kernel_len == 0 ? ANNE_ERR_KERNEL_SIZE
            : d->out_len == 0 ? ANNE_ERR_OUT_SIZE : ANNE_ERR_PARAM;
    }
    if (d->kind != ANNE_LAYER_DENSE) {
        if (d->kind == ANNE_LAYER_CONV1D && (status == ANNE_ERR_NULL || status == ANNE_ERR_KERNEL_SIZE)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_CONV1D_KERNEL,
                (int)i, (unsigned)d->kernel_len, (unsigned)d->params[1], (unsigned)d->params[0]);
        }
        if (anne_s8_conv(d->kind) && (status == ANNE_ERR_NULL || status == ANNE_ERR_KERNEL_SIZE)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_2D_KERNEL, (int)i, (unsigned)d->kernel_len);
        }
        if (status == ANNE_ERR_ACTIVATION) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_NO_ACTIVATION, (int)i);
        }
        if (status == ANNE_ERR_OUT_SIZE && i + 1 == n_layers) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_OUT_LAST, (unsigned)d->out_len);
        }
        if (status == ANNE_ERR_OUT_SIZE) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_BUF_LAYER, (int)i, (unsigned)d->out_len);
        }
        if (status != ANNE_ERR_PARAM && status != ANNE_ERR_KIND) {
            anne_raise_other_layer(status, i, n_in, d);  // returns for overlap and the rest
            return;
        }
    }
    if (status == ANNE_ERR_KERNEL_SIZE && n_in != 0 && d->kernel_len % n_in == 0) {
        status = ANNE_ERR_OUT_SIZE;  // the kernel fits the input: out is what is wrong
    }
    switch (status) {
        case ANNE_ERR_X_SIZE:
            mp_raise_ValueError(ANNE_MSG_X_EMPTY);
        case ANNE_ERR_KERNEL_SIZE:
            if (i == 0 && d->out_len != 0 && d->kernel_len % d->out_len == 0) {
                mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_X_SIZE,
                    (unsigned)n_in, (unsigned)(d->kernel_len / d->out_len));
            }
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_DENSE_KERNEL,
                (int)i, (unsigned)d->kernel_len, (unsigned)n_in);
        case ANNE_ERR_OUT_SIZE:
            if (i + 1 == n_layers) {
                mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_OUT_SIZE,
                    (unsigned)d->out_len, (unsigned)(n_in ? d->kernel_len / n_in : 0));
            }
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_BUF_SIZE,
                (int)i, (unsigned)d->out_len, (unsigned)(n_in ? d->kernel_len / n_in : 0));
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_BIAS, (int)i, (unsigned)d->bias_len);
        case ANNE_ERR_PARAM:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_QUANT, (int)i);
        case ANNE_ERR_KIND:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_MIXED, (int)i);
        case ANNE_ERR_ACTIVATION:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_ACTIVATION, (int)i);
        default:
            return;
    }
}

// anne_raise_other_layer's messages for a layer on an image (its params:
// height, width, channels, then its slots; anne.h) past its kind's own.
static void anne_raise_2d_layer(int32_t status, size_t i, size_t n_in, const anne_layer_t *d) {
    switch (status) {
        case ANNE_ERR_X_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_IMAGE_INPUTS,
                (int)i, (unsigned)n_in, (unsigned)d->params[0], (unsigned)d->params[1],
                (unsigned)d->params[2]);
        case ANNE_ERR_OUT_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_IMAGE_OUT, (int)i, (unsigned)d->out_len);
        case ANNE_ERR_ACTIVATION:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_GLU_CONV2D, (int)i);
        case ANNE_ERR_LAYER_PARAM:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_SPEC_2D, (int)i);
        default:
            return;
    }
}

// anne_raise_layer's messages for a layer other than Dense (its spec in
// d->params): its kind's own words (ops/ops.json "words", generated into
// anne_msgs.h), else its input's; returns for the statuses all kinds share.
ANNE_GLUE_SHARED void anne_raise_other_layer(int32_t status, size_t i, size_t n_in, const anne_layer_t *d) {
    anne_raise_kind_words(status, i, d);  // returns when the kind has none for status
    if (ANNE_LAYER_PLANE(d->kind)) {
        anne_raise_2d_layer(status, i, n_in, d);  // returns for the statuses all kinds share
    }
    switch (status) {
        case ANNE_ERR_NULL:
        case ANNE_ERR_KERNEL_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: empty buffer"), (int)i);
        case ANNE_ERR_X_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_STEPS_INPUTS,
                (int)i, (unsigned)n_in, (unsigned)d->params[0]);
        case ANNE_ERR_OUT_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_STEPS_OUT, (int)i, (unsigned)d->out_len);
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_CONV_BIAS, (int)i, (unsigned)d->bias_len);
        case ANNE_ERR_ACTIVATION:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_GLU_CONV1D, (int)i);
        case ANNE_ERR_LAYER_PARAM:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_SPEC_1D, (int)i);
        default:
            return;
    }
}

// Raises the exception for a chain's status: layer i (of n_layers, reading
// n_in values) refused what d describes. The status says exactly what.
ANNE_GLUE_SHARED NORETURN void anne_raise_layer(int32_t status, size_t i, size_t n_layers, size_t n_in, const anne_layer_t *d) {
    if (d->dtype == ANNE_DTYPE_S8) {
        anne_raise_s8_layer(status, i, n_layers, n_in, d);  // returns for overlap and the rest
    } else if (d->kind != ANNE_LAYER_DENSE) {
        anne_raise_other_layer(status, i, n_in, d);  // returns for overlap and the rest
    }
    bool halves = d->act.kind < ANNE_ACT_COUNT && anne_names[d->act.kind].halves;
    size_t units = n_in ? d->kernel_len / n_in : 0;
    size_t outputs = halves ? units / 2 : units;
    if (status == ANNE_ERR_NULL) {
        // Only an empty buffer has NULL data here (None is not a buffer).
        status = n_in == 0 ? ANNE_ERR_X_SIZE : d->kernel_len == 0 ? ANNE_ERR_KERNEL_SIZE : ANNE_ERR_OUT_SIZE;
    }
    switch (status) {
        case ANNE_ERR_X_SIZE:
            mp_raise_ValueError(ANNE_MSG_X_EMPTY);
        case ANNE_ERR_KERNEL_SIZE: {
            size_t want_units = halves ? 2 * d->out_len : d->out_len;
            if (i == 0 && want_units != 0 && d->kernel_len != 0 && d->kernel_len % want_units == 0) {
                // The first kernel fits out but not x: say it in those terms.
                mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PLAN_X_SIZE,
                    (unsigned)n_in, (unsigned)d->kernel_len, (unsigned)want_units,
                    (unsigned)(d->kernel_len / want_units));
            }
            if (halves && d->kernel_len != 0 && d->kernel_len % n_in == 0) {
                mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_ODD_UNITS,
                    (int)i, anne_names[d->act.kind].name, (unsigned)units);
            }
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PLAN_KERNEL,
                (int)i, (unsigned)d->kernel_len, (unsigned)n_in);
        }
        case ANNE_ERR_OUT_SIZE:
            if (i + 1 == n_layers) {
                mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PLAN_OUT_SIZE,
                    (unsigned)d->out_len, (unsigned)outputs);
            }
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PLAN_BUF_SIZE,
                (int)i, (unsigned)d->out_len, (unsigned)outputs);
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PLAN_BIAS,
                (int)i, (unsigned)d->bias_len, (unsigned)units);
        case ANNE_ERR_OVERLAP:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: its output buffer shares memory with its input or weights"), (int)i);
        default:
            anne_check_status(status);
            mp_raise_ValueError(MP_ERROR_TEXT("buffer sizes do not fit together"));
    }
}

// anne.forward(layers, x, out): a chain of layers in one call, for a
// network's inner loop. layers is a tuple or list of (kernel, bias,
// activation, buf) tuples (dense), or (kernel, bias, activation, buf, spec)
// with spec = (kind, params...) for Conv1D, pooling and affine (anne_layer_t
// in anne.h; a pooling layer's kernel, bias and activation are None, an
// affine layer's kernel and bias are its scale and offset): layer i
// reads the previous layer's buf (x for the first) and writes its own buf
// (out for the last, whose buf may be None). Allocates nothing.
static mp_obj_t anne_forward_call(mp_obj_t layers_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    size_t n_layers;
    mp_obj_t *layers;
    if (!mp_obj_is_type(layers_obj, &mp_type_tuple) && !mp_obj_is_type(layers_obj, &mp_type_list)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_LAYERS_TYPE, ANNE_TYPE_NAME(layers_obj));
    }
    mp_obj_get_array(layers_obj, &n_layers, &layers);
    if (n_layers == 0) {
        mp_raise_ValueError(ANNE_MSG_LAYERS_EMPTY);
    }
    // The chain's dtype: the first layer's (int8 when it has a quant).
    size_t n_fields;
    anne_layer_fields(layers[0], 0, &n_fields);
    bool s8 = n_fields == 6;
    anne_buf_t x = anne_get_io(x_obj, MP_QSTR_x, false, s8);
    anne_buf_t out = anne_get_io(out_obj, MP_QSTR_out, true, s8);
    anne_check_stack();
    // Every written buffer against every layer's weights, first (a layer
    // that wrote into a later layer's kernel would change the network).
    for (size_t i = 0; i < n_layers; i++) {
        mp_obj_t *fields = anne_layer_fields(layers[i], i, &n_fields);
        if ((n_fields == 6) != s8) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_MIXED, (int)i);
        }
        anne_buf_t w = i + 1 == n_layers ? out : anne_get_io(fields[3], MP_QSTR_buf, true, s8);
        size_t w_bytes = s8 ? w.len : w.len * sizeof(float);
        for (size_t j = 0; j < n_layers; j++) {
            anne_layer_t v = {.kind = ANNE_LAYER_CONV1D};  // (None weights pass here; the loop refuses them)
            anne_quant_t q;
            mp_obj_t *fj = anne_layer_fields(layers[j], j, &n_fields);
            if (s8) {
                // (the activation's kind says what quant's post is; a name
                // only, no conversion)
                anne_activation_t scratch;
                v.act.kind = fj[2] == mp_const_none ? ANNE_ACT_LINEAR : anne_get_activation(fj[2], NULL, &scratch)->kind;
                v.dtype = ANNE_DTYPE_S8;
                v.quant = &q;
                v.kind = ANNE_LAYER_DENSE;
                if (n_fields >= 5) {
                    anne_get_spec(fj[4], j, &v.kind, v.params, ANNE_LAYER_PARAMS);
                }
                anne_gather_s8(&v, fj, &q, j);
            } else {
                anne_gather_weights(&v, fj);
            }
            anne_check_weights(w.data, w_bytes, i + 1 == n_layers ? n_layers : i, n_layers, &v, j);
        }
    }
    // One layer at a time (a chain of one), so that nothing is allocated.
    for (size_t i = 0; i < n_layers; i++) {
        anne_layer_t d = {0};
        anne_quant_t q;
        mp_obj_t *fields = anne_layer_describe(&d, layers[i], i, &q);
        if (s8) {
            anne_gather_s8(&d, fields, &q, i);
        } else {
            anne_gather_weights(&d, fields);
        }
        anne_set_out(&d, i + 1 == n_layers ? out : anne_get_io(fields[3], MP_QSTR_buf, true, s8));
        int32_t status = anne_forward(x.data, x.len, &d, 1, NULL);
        if (status != ANNE_OK) {
            anne_raise_layer(status, i, n_layers, x.len, &d);
        }
        x.data = d.out;
        x.len = d.out_len;
    }
    return out_obj;
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_3(anne_forward_obj, anne_forward_call);

// anne.Plan(layers): forward() with its layers bound, as one callable:
// plan(x, out) is forward(layers, x, out). The layer tuple is read once
// (activations included); a call only gathers the buffers' current
// addresses (an array can move when it grows) and makes one kernel call
// for the whole chain. Stored as an instance attribute (anne_net's
// predict_into), a call goes from Python straight to C with no Python frame
// in between.
typedef struct {
    mp_obj_base_t base;
    mp_obj_t layers;        // the tuple, as given: it keeps the buffers alive
    size_t n_layers;
    anne_layer_t *descs;    // n_layers entries, kinds and activations filled in
    anne_quant_t *quants;   // an int8 chain's n_layers quant records, else NULL
    bool bufs_checked;      // the hidden buffers against every weight, once
} anne_plan_obj_t;

static mp_obj_t anne_plan_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    if (!mp_obj_is_type(args[0], &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_LAYERS_TYPE, ANNE_TYPE_NAME(args[0]));
    }
    size_t n_layers;
    mp_obj_t *layers;
    mp_obj_get_array(args[0], &n_layers, &layers);
    if (n_layers == 0) {
        mp_raise_ValueError(ANNE_MSG_LAYERS_EMPTY);
    }
    anne_layer_t *descs = m_new0(anne_layer_t, n_layers);
    size_t n_fields;
    anne_layer_fields(layers[0], 0, &n_fields);
    anne_quant_t *quants = n_fields == 6 ? m_new0(anne_quant_t, n_layers) : NULL;
    for (size_t i = 0; i < n_layers; i++) {
        anne_layer_fields(layers[i], i, &n_fields);
        if ((n_fields == 6) != (quants != NULL)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_INT8_MIXED, (int)i);
        }
        anne_layer_describe(&descs[i], layers[i], i, quants == NULL ? NULL : &quants[i]);
    }
    anne_plan_obj_t *self = mp_obj_malloc(anne_plan_obj_t, type);
    self->layers = args[0];
    self->n_layers = n_layers;
    self->descs = descs;
    self->quants = quants;
    self->bufs_checked = false;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t anne_plan_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    anne_plan_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    anne_check_stack();
    mp_obj_t *layers = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(self->layers))->items;
    size_t last = self->n_layers - 1;
    anne_layer_t *d = self->descs;
    anne_buf_t x, out;
    if (self->quants == NULL) {
        x = anne_get_f32_buf(args[0], MP_QSTR_x, false);
        out = anne_get_f32_buf(args[1], MP_QSTR_out, true);
        for (size_t i = 0; i <= last; i++, d++) {
            // (A tuple cannot change: its items are the ones checked when the
            // plan was made.)
            mp_obj_t *fields = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(layers[i]))->items;
            anne_gather_weights(d, fields);
            if (i != last) {
                anne_set_out(d, anne_get_f32_buf(fields[3], MP_QSTR_buf, true));
            }
        }
    } else {
        x = anne_get_s8(args[0], MP_QSTR_x, false, false);
        out = anne_get_s8(args[1], MP_QSTR_out, true, false);
        for (size_t i = 0; i <= last; i++, d++) {
            mp_obj_t *fields = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(layers[i]))->items;
            anne_gather_s8(d, fields, &self->quants[i], i);
            if (i != last) {
                anne_set_out(d, anne_get_s8(fields[3], MP_QSTR_buf, true, false));
            }
        }
    }
    anne_set_out(d - 1, out);
    // out against every weight on each call (it is the caller's); the
    // hidden buffers once: the plan holds them and the weights, and a
    // buffer that moves (an array that grows) moves into a free block.
    size_t out_bytes = anne_bytes(self->descs, out.len);
    for (size_t j = 0; j <= last; j++) {
        anne_check_weights(out.data, out_bytes, last + 1, last + 1, &self->descs[j], j);
        for (size_t i = 0; i < last && !self->bufs_checked; i++) {
            anne_check_weights(self->descs[i].out, anne_bytes(self->descs, self->descs[i].out_len), i, last + 1,
                &self->descs[j], j);
        }
    }
    self->bufs_checked = true;
    size_t failed = 0;
    int32_t status = anne_forward(x.data, x.len, self->descs, self->n_layers, &failed);
    if (status != ANNE_OK) {
        size_t n_in = failed == 0 ? x.len : self->descs[failed - 1].out_len;
        anne_raise_layer(status, failed, self->n_layers, n_in, &self->descs[failed]);
    }
    return args[1];
}

#ifndef ANNE_NATMOD
MP_DEFINE_CONST_OBJ_TYPE(
    anne_plan_type,
    MP_QSTR_Plan,
    MP_TYPE_FLAG_NONE,
    make_new, anne_plan_make_new,
    call, anne_plan_call
    );
#endif

