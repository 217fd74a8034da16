// The training functions (ANNE_TRAIN=1): the backward kernels, the
// optimizer steps, and fit_workspace / fit_epoch (the rule at the top of
// modanne.c holds here: every scalar converted before a buffer's address is
// taken).

#include "anne_glue.h"

#if ANNE_TRAIN
// An int argument that runs no Python code: a small int (every count, code
// and size the glue takes is one) or a bool; anything else is refused,
// naming `what` (a C string) and its type.
static mp_int_t anne_small_int(mp_obj_t obj, const char *what) {
    if (mp_obj_is_small_int(obj)) {
        return MP_OBJ_SMALL_INT_VALUE(obj);
    }
    if (obj == mp_const_false || obj == mp_const_true) {
        return obj == mp_const_true;
    }
    if (mp_obj_is_int(obj)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s is out of range"), what);
    }
    mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_NOT_INT, what, ANNE_TYPE_NAME(obj));
}
// ---------------------------------------------------------------------------
// Training kernels (anne_train uses them when the network runs natively).
// The glue checks the sizes it can name in its messages; the kernels check
// everything again (alignment, overlap).

static void anne_check_len(anne_f32_buf_t b, size_t want, qstr arg) {
    if (b.len != want) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_NAMED_SIZE, arg, (unsigned)b.len, (unsigned)want);
    }
}

// anne_check_status for the training kernels, whose written buffers are
// not called out.
static void anne_check_train(int32_t status) {
    if (status == ANNE_ERR_OVERLAP) {
        mp_raise_ValueError(MP_ERROR_TEXT("a written buffer shares memory with another argument"));
    }
    anne_check_status(status);
}

// anne.activation_backward(z, y, dy, dz, activation, **params): dz = dy . J(z).
static mp_obj_t anne_activation_backward(size_t n_args, const mp_obj_t *args, mp_map_t *kw_in) {
    if (n_args != 5) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("activation_backward takes 5 positional arguments, got %d"), (int)n_args);
    }
    anne_activation_t scratch;
    const anne_activation_t *act = anne_get_activation(args[4], kw_in, &scratch);
    anne_f32_buf_t z = anne_get_f32(args[0], MP_QSTR_z, false);
    anne_f32_buf_t y = anne_get_f32(args[1], MP_QSTR_y, false);
    anne_f32_buf_t dy = anne_get_f32(args[2], MP_QSTR_dy, false);
    anne_f32_buf_t dz = anne_get_f32(args[3], MP_QSTR_dz, true);
    size_t n_out = 0;
    if (anne_activation_outputs(act->kind, z.len, &n_out) != ANNE_OK) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_ODD_VALUES, anne_names[act->kind].name, (unsigned)z.len);
    }
    anne_check_len(y, n_out, MP_QSTR_y);
    anne_check_len(dy, n_out, MP_QSTR_dy);
    anne_check_len(dz, z.len, MP_QSTR_dz);
    if (z.len == 0) {
        return mp_const_none;
    }
    anne_check_train(anne_activation_backward_f32(act, z.data, z.len, y.data, y.len, dy.data, dz.data));
    return mp_const_none;
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_KW(anne_activation_backward_obj, 0, anne_activation_backward);

// An optional writable buffer argument: {NULL, 0} for None.
static anne_f32_buf_t anne_get_optional(mp_obj_t obj, qstr arg) {
    anne_f32_buf_t b = {NULL, 0};
    return obj == mp_const_none ? b : anne_get_f32(obj, arg, true);
}

// anne.dense_backward(x, kernel, dz, scale, gk, gb, dx): gk += scale * x dz,
// gb += scale * dz, dx = kernel . dz (gb, dx may be None).
static mp_obj_t anne_dense_backward(size_t n_args, const mp_obj_t *args) {
    float scale = mp_obj_get_float_to_f(args[3]);
    anne_f32_buf_t x = anne_get_f32(args[0], MP_QSTR_x, false);
    anne_f32_buf_t kernel = anne_get_f32(args[1], MP_QSTR_kernel, false);
    anne_f32_buf_t dz = anne_get_f32(args[2], MP_QSTR_dz, false);
    anne_f32_buf_t gk = anne_get_f32(args[4], MP_QSTR_gk, true);
    anne_f32_buf_t gb = anne_get_optional(args[5], MP_QSTR_gb);
    anne_f32_buf_t dx = anne_get_optional(args[6], MP_QSTR_dx);
    if (x.len == 0 || dz.len == 0) {
        mp_raise_ValueError(ANNE_MSG_BACKWARD_EMPTY);
    }
    if (dz.len > SIZE_MAX / x.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("len(x) * len(dz) is too large"));
    }
    anne_check_len(kernel, x.len * dz.len, MP_QSTR_kernel);
    anne_check_len(gk, x.len * dz.len, MP_QSTR_gk);
    if (gb.data != NULL) {
        anne_check_len(gb, dz.len, MP_QSTR_gb);
    }
    if (dx.data != NULL) {
        anne_check_len(dx, x.len, MP_QSTR_dx);
    }
    anne_check_train(anne_dense_backward_f32(x.data, x.len, kernel.data, dz.data, dz.len, scale,
        gk.data, gb.data, dx.data));
    return mp_const_none;
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_dense_backward_obj, 7, 7, anne_dense_backward);

// anne.layer_backward(layer, x, dy, scale, gk, gb, dx): the backward pass
// of one Conv1D, Conv2D, DepthwiseConv2D, pooling, ZeroPadding2D or
// affine layer, given as forward() takes it
// ((kernel, bias, activation, buf, spec)), for one sample that read x:
// a convolution: gk += scale * dL/dkernel, gb += scale * dL/dbias (each may be
// None), dx = dL/dx (may be None), from dy at its pre-activations;
// pooling, padding, affine: dx = dL/dx from dy at the outputs (gk, gb None).
static mp_obj_t anne_layer_backward(size_t n_args, const mp_obj_t *args) {
    float scale = mp_obj_get_float_to_f(args[3]);
    anne_layer_t d = {0};
    mp_obj_t *fields = anne_layer_describe(&d, args[0], 0, NULL);
    if (d.kind == ANNE_LAYER_DENSE) {
        mp_raise_ValueError(ANNE_MSG_BACKWARD_KIND);
    }
    anne_gather_weights(&d, fields);
    anne_f32_buf_t x = anne_get_f32(args[1], MP_QSTR_x, false);
    anne_f32_buf_t dy = anne_get_f32(args[2], MP_QSTR_dy, false);
    anne_f32_buf_t gk = anne_get_optional(args[4], MP_QSTR_gk);
    anne_f32_buf_t gb = anne_get_optional(args[5], MP_QSTR_gb);
    anne_f32_buf_t dx = anne_get_optional(args[6], MP_QSTR_dx);
    bool conv = d.kind == ANNE_LAYER_CONV1D || d.kind == ANNE_LAYER_CONV2D || d.kind == ANNE_LAYER_DEPTHWISE_CONV2D;
    if (conv) {
        // the kernel's values per output channel (gb: one per channel)
        size_t rows = d.kind == ANNE_LAYER_CONV1D ? (size_t)d.params[0] * d.params[1]
            : d.kind == ANNE_LAYER_CONV2D ? (size_t)d.params[3] * d.params[4] * d.params[2]
            : (size_t)d.params[ANNE_DEPTHWISE_CONV2D_AT + ANNE_DEPTHWISE_CONV2D_KERNEL_SIZE_H] * d.params[ANNE_DEPTHWISE_CONV2D_AT + ANNE_DEPTHWISE_CONV2D_KERNEL_SIZE_W];
        if (gk.data != NULL) {
            anne_check_len(gk, d.kernel_len, MP_QSTR_gk);
        }
        if (gb.data != NULL && rows != 0) {
            anne_check_len(gb, d.kernel_len / rows, MP_QSTR_gb);
        }
    } else {
        if (gk.data != NULL || gb.data != NULL) {
            mp_raise_ValueError(ANNE_MSG_BACKWARD_NO_WEIGHTS);
        }
        if (dx.data == NULL) {
            mp_raise_ValueError(ANNE_MSG_BACKWARD_DX);
        }
    }
    if (dx.data != NULL) {
        anne_check_len(dx, x.len, MP_QSTR_dx);
    }
    d.out_len = dy.len;
    int32_t status = anne_layer_backward_f32(x.data, x.len, &d, dy.data, dy.len, scale, gk.data, gb.data, dx.data);
    if (status == ANNE_ERR_OUT_SIZE) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_BACKWARD_DY, (unsigned)dy.len, (unsigned)x.len);
    }
    if (status != ANNE_OK && status != ANNE_ERR_OVERLAP) {
        anne_raise_other_layer(status, 0, x.len, &d);
    }
    anne_check_train(status);
    return mp_const_none;
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_layer_backward_obj, 7, 7, anne_layer_backward);

// anne.sgd(w, g, m, learning_rate, momentum, nesterov): Keras 3's SGD step
// (m may be None when momentum is 0); True if every weight is finite after it.
static mp_obj_t anne_sgd(size_t n_args, const mp_obj_t *args) {
    float learning_rate = mp_obj_get_float_to_f(args[3]);
    float momentum = mp_obj_get_float_to_f(args[4]);
    bool nesterov = mp_obj_is_true(args[5]);
    anne_f32_buf_t w = anne_get_f32(args[0], MP_QSTR_w, true);
    anne_f32_buf_t g = anne_get_f32(args[1], MP_QSTR_g, false);
    anne_f32_buf_t m = anne_get_optional(args[2], MP_QSTR_m);
    anne_check_len(g, w.len, MP_QSTR_g);
    if (m.data == NULL && momentum != 0.0f) {
        mp_raise_ValueError(ANNE_MSG_MOMENTUM);
    }
    if (m.data != NULL) {
        anne_check_len(m, w.len, MP_QSTR_m);
    }
    if (w.len == 0) {
        return mp_const_true;
    }
    uint8_t finite = 0;
    anne_check_train(anne_sgd_f32(w.data, g.data, m.data, w.len, learning_rate, momentum, nesterov, &finite));
    return mp_obj_new_bool(finite);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_sgd_obj, 6, 6, anne_sgd);

// anne.adam(w, g, m, v, alpha, beta_1, beta_2, epsilon): Keras 3's Adam step;
// True if every weight is finite after it.
static mp_obj_t anne_adam(size_t n_args, const mp_obj_t *args) {
    float hyper[4];  // alpha, beta_1, beta_2, epsilon
    for (size_t k = 0; k < 4; k++) {
        hyper[k] = mp_obj_get_float_to_f(args[4 + k]);
    }
    anne_f32_buf_t w = anne_get_f32(args[0], MP_QSTR_w, true);
    anne_f32_buf_t g = anne_get_f32(args[1], MP_QSTR_g, false);
    anne_f32_buf_t m = anne_get_f32(args[2], MP_QSTR_m, true);
    anne_f32_buf_t v = anne_get_f32(args[3], MP_QSTR_v, true);
    anne_check_len(g, w.len, MP_QSTR_g);
    anne_check_len(m, w.len, MP_QSTR_m);
    anne_check_len(v, w.len, MP_QSTR_v);
    if (w.len == 0) {
        return mp_const_true;
    }
    uint8_t finite = 0;
    anne_check_train(anne_adam_f32(w.data, g.data, m.data, v.data, w.len,
        hyper[0], hyper[1], hyper[2], hyper[3], &finite));
    return mp_obj_new_bool(finite);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_adam_obj, 8, 8, anne_adam);


// ---------------------------------------------------------------------------
// anne.fit_workspace / anne.fit_epoch: Keras's fit() inner loop in one call
// (anne_fit_epoch_f32). A training layer is a tuple (kernel, bias,
// activation, trainable, m_kernel, v_kernel, m_bias, v_bias[, spec]): bias
// and the optimizer slots None where unused; activation an anne.Activation;
// spec as anne_layer_describe's, up to ANNE_TRAIN_LAYER_PARAMS params
// (without one, or None, the layer is dense; a pooling's or a
// ZeroPadding2D's kernel is None).

// Layers described on the C stack up to this many (more: on the heap,
// once per call).
#define ANNE_FIT_STACK_LAYERS 6

// The layers of a training call: kernels and biases must be writable when
// the call trains (writable), may be read-only (a model used in place from
// flash) when it only sizes the workspace or evaluates.
static anne_train_layer_t *anne_fit_layers(mp_obj_t layers_obj, anne_train_layer_t *stack, size_t *n_layers,
    bool writable) {
    mp_obj_t *layers;
    if (!mp_obj_is_type(layers_obj, &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("layers: a tuple of training layer tuples, not %q"), ANNE_TYPE_NAME(layers_obj));
    }
    mp_obj_get_array(layers_obj, n_layers, &layers);
    if (*n_layers == 0) {
        mp_raise_ValueError(ANNE_MSG_LAYERS_EMPTY);
    }
    anne_train_layer_t *d = *n_layers <= ANNE_FIT_STACK_LAYERS ? stack : m_new(anne_train_layer_t, *n_layers);
    // Every layer's scalars first (bool(trainable) may run Python code),
    // then every layer's buffers (the rule at the top of this file). The
    // tuples cannot change in between.
    for (size_t i = 0; i < *n_layers; i++) {
        size_t n_fields;
        mp_obj_t *f;
        if (!mp_obj_is_type(layers[i], &mp_type_tuple)) {
            mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d: not a tuple"), (int)i);
        }
        mp_obj_get_array(layers[i], &n_fields, &f);
        if (n_fields < 8 || n_fields > 10 || !mp_obj_is_type(f[2], &anne_activation_type)) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: (kernel, bias, Activation, trainable, 4 slots[, spec, inputs])"), (int)i);
        }
        d[i].kind = ANNE_LAYER_DENSE;
        memset(d[i].params, 0, sizeof(d[i].params));
        if (n_fields >= 9 && f[8] != mp_const_none) {
            anne_get_spec(f[8], i, &d[i].kind, d[i].params, ANNE_TRAIN_LAYER_PARAMS);
        }
        // a graph's: the tensors it reads, -1 for x, j for layer j (j < i)
        d[i].n_inputs = 0;
        if (n_fields == 10 && f[9] != mp_const_none) {
            size_t n_src;
            mp_obj_t *src;
            if (!mp_obj_is_type(f[9], &mp_type_tuple)
                || (mp_obj_get_array(f[9], &n_src, &src), n_src < 1 || n_src > ANNE_TRAIN_INPUTS)) {
                mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: inputs: a tuple of 1..7 ints"), (int)i);
            }
            for (size_t k = 0; k < n_src; k++) {
                mp_int_t j = mp_obj_is_small_int(src[k]) ? MP_OBJ_SMALL_INT_VALUE(src[k]) : -2;
                if (j < -1 || j >= (mp_int_t)i) {
                    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: inputs: -1 or layers before it"),
                        (int)i);
                }
                d[i].inputs[k] = (uint32_t)(j + 1);
            }
            d[i].n_inputs = n_src;
        }
        d[i].act = ((anne_activation_obj_t *)MP_OBJ_TO_PTR(f[2]))->act;
        d[i].trainable = mp_obj_is_true(f[3]);
    }
    for (size_t i = 0; i < *n_layers; i++) {
        mp_obj_t *f = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(layers[i]))->items;
        // (poolings and ZeroPadding2D: no weights)
        bool pooling = d[i].kind != ANNE_LAYER_DENSE && d[i].kind != ANNE_LAYER_CONV1D
            && d[i].kind != ANNE_LAYER_AFFINE && d[i].kind != ANNE_LAYER_CONV2D
            && d[i].kind != ANNE_LAYER_DEPTHWISE_CONV2D;
        anne_f32_buf_t kernel = pooling && f[0] == mp_const_none
            ? (anne_f32_buf_t){NULL, 0} : anne_get_f32(f[0], MP_QSTR_kernel, writable);
        anne_f32_buf_t bias = f[1] == mp_const_none
            ? (anne_f32_buf_t){NULL, 0} : anne_get_f32(f[1], MP_QSTR_bias, writable);
        d[i].kernel = kernel.data;
        d[i].kernel_len = kernel.len;
        d[i].bias = bias.data;
        d[i].bias_len = bias.len;
        for (size_t k = 0; k < 4; k++) {
            anne_f32_buf_t slot = anne_get_optional(f[4 + k], MP_QSTR_slot);
            anne_check_len(slot, slot.data == NULL ? 0 : k < 2 ? kernel.len : bias.len, MP_QSTR_slot);
            d[i].slots[k] = slot.data;
        }
        if ((d[i].kernel == NULL && !pooling) || (f[1] != mp_const_none && d[i].bias == NULL)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: empty buffer"), (int)i);
        }
    }
    return d;
}

// The exception for anne_fit_*'s status (other than the two that stop an
// epoch, which fit_epoch returns).
static void anne_fit_check(int32_t status, size_t failed) {
    switch (status) {
        case ANNE_OK:
            return;
        case ANNE_ERR_X_SIZE:
        case ANNE_ERR_KERNEL_SIZE:
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: its kernel or bias does not fit its inputs"), (int)failed);
        case ANNE_ERR_NULL:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: the optimizer's slots are missing"), (int)failed);
        case ANNE_ERR_LABEL:
            mp_raise_ValueError(MP_ERROR_TEXT("a class index is not a whole number below the outputs"));
        default:
            anne_check_train(status);
    }
}

// anne.fit_workspace(layers, n_in, batch_size): floats of workspace that
// fit_epoch needs.
static mp_obj_t anne_fit_workspace_fn(mp_obj_t layers_obj, mp_obj_t n_in, mp_obj_t batch) {
    anne_train_layer_t stack[ANNE_FIT_STACK_LAYERS];
    size_t n_layers, n_floats = 0, failed = 0;
    mp_int_t in = mp_obj_get_int(n_in), b = mp_obj_get_int(batch);
    anne_train_layer_t *d = anne_fit_layers(layers_obj, stack, &n_layers, false);
    if (in < 1 || b < 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("n_in and batch_size must be at least 1"));
    }
    anne_fit_check(anne_fit_workspace(d, n_layers, in, b, &n_floats, &failed), failed);
    return mp_obj_new_int_from_uint(n_floats);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_3(anne_fit_workspace_obj, anne_fit_workspace_fn);

// anne.fit_epoch(layers, config, x, t, order, ws, sums, state): one epoch
// (see anne.h). config = (loss, optimizer, learning_rate, momentum,
// nesterov, beta_1, beta_2, epsilon, metrics, batch_size, train, n_in) with the
// ANNE_LOSS_/OPTIMIZER_/METRIC_ codes; order an array('I') or None; state
// an array('I') [iterations, failed batch]. Returns 0, or 1 when a batch's
// loss is not finite, 2 when a step would make a weight non-finite (none changed);
// state[1] is then that batch's index. Allocates nothing for up to 6 layers.
static mp_obj_t anne_fit_epoch_fn(size_t n_args, const mp_obj_t *args) {
    anne_train_layer_t stack[ANNE_FIT_STACK_LAYERS];
    size_t n_layers, n_cfg, n_metrics;
    mp_obj_t *cfg, *metrics;
    // The configuration first: its floats and flags may run Python code.
    if (!mp_obj_is_type(args[1], &mp_type_tuple)) {
        mp_raise_TypeError(MP_ERROR_TEXT("config must be a tuple"));
    }
    mp_obj_get_array(args[1], &n_cfg, &cfg);
    if (n_cfg != 12) {
        mp_raise_ValueError(MP_ERROR_TEXT("config has 12 items"));
    }
    if (!mp_obj_is_type(cfg[8], &mp_type_tuple)) {
        mp_raise_TypeError(MP_ERROR_TEXT("config's metrics must be a tuple"));
    }
    mp_obj_get_array(cfg[8], &n_metrics, &metrics);
    if (n_metrics > ANNE_METRIC_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("at most 8 metrics"));
    }
    anne_fit_t fit = {
        .loss = anne_small_int(cfg[0], "loss"),
        .optimizer = anne_small_int(cfg[1], "optimizer"),
        .learning_rate = mp_obj_get_float_to_f(cfg[2]),
        .momentum = mp_obj_get_float_to_f(cfg[3]),
        .nesterov = mp_obj_is_true(cfg[4]),
        .beta_1 = mp_obj_get_float_to_f(cfg[5]),
        .beta_2 = mp_obj_get_float_to_f(cfg[6]),
        .epsilon = mp_obj_get_float_to_f(cfg[7]),
        .n_metrics = n_metrics,
        .batch_size = anne_small_int(cfg[9], "batch_size"),
        .train = mp_obj_is_true(cfg[10]),
    };
    for (size_t i = 0; i < n_metrics; i++) {
        fit.metrics[i] = anne_small_int(metrics[i], "metric");
    }
    mp_int_t n_in = anne_small_int(cfg[11], "n_in");
    if (n_in < 1 || (mp_int_t)fit.batch_size < 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("n_in and batch_size must be at least 1"));
    }
    // Then the buffers.
    anne_train_layer_t *d = anne_fit_layers(args[0], stack, &n_layers, fit.train);
    anne_f32_buf_t x = anne_get_f32(args[2], MP_QSTR_x, false);
    anne_f32_buf_t t = anne_get_f32(args[3], MP_QSTR_t, false);
    mp_buffer_info_t order = {0}, state;
    size_t n_rows = x.len / n_in;
    if (args[4] != mp_const_none) {
        mp_get_buffer_raise(args[4], &order, MP_BUFFER_READ);
        if (order.typecode != 'I' || order.len % 4 != 0) {
            mp_raise_TypeError(MP_ERROR_TEXT("order must be an array('I')"));
        }
        if (order.len / 4 != n_rows) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("order has %u indices; x has %u rows (one index per row)"),
                (unsigned)(order.len / 4), (unsigned)n_rows);
        }
    }
    anne_f32_buf_t ws = anne_get_f32(args[5], MP_QSTR_ws, true);
    anne_f32_buf_t sums = anne_get_f32(args[6], MP_QSTR_sums, true);
    mp_get_buffer_raise(args[7], &state, MP_BUFFER_RW);
    if (state.typecode != 'I' || state.len != 8) {
        mp_raise_TypeError(MP_ERROR_TEXT("state must be an array('I') of 2"));
    }
    uint32_t *st = state.buf;
    size_t failed = 0;
    anne_check_stack();
    int32_t status = anne_fit_epoch_f32(d, n_layers, &fit, x.data, x.len, n_in, t.data, t.len,
        order.buf, order.len / 4, ws.data, ws.len, sums.data, sums.len, &st[0], &failed);
    if (status == ANNE_ERR_LOSS_NOT_FINITE || status == ANNE_ERR_STEP_NOT_FINITE) {
        st[1] = failed;
        return MP_OBJ_NEW_SMALL_INT(status == ANNE_ERR_LOSS_NOT_FINITE ? 1 : 2);
    }
    anne_fit_check(status, failed);
    return MP_OBJ_NEW_SMALL_INT(0);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_fit_epoch_obj, 8, 8, anne_fit_epoch_fn);
#if ANNE_ACT_TABLE
// anne.act_table(kind, in_scale, in_zp, out_scale, out_zp, out, approximate):
// the int8 table LiteRT builds for an element-wise activation (anne.h's
// anne_act_table_s8), for the board's quantizer; out: 256 writable bytes.
static mp_obj_t anne_act_table(size_t n_args, const mp_obj_t *args) {
    mp_int_t kind = mp_obj_get_int(args[0]);
    float in_scale = mp_obj_get_float_to_f(args[1]);
    mp_int_t in_zp = mp_obj_get_int(args[2]);
    float out_scale = mp_obj_get_float_to_f(args[3]);
    mp_int_t out_zp = mp_obj_get_int(args[4]);
    bool approximate = mp_obj_is_true(args[6]);
    anne_buf_t out = anne_get_s8(args[5], MP_QSTR_out, true, true);
    if (kind < 0 || in_zp < -128 || in_zp > 127 || out_zp < -128 || out_zp > 127) {
        mp_raise_ValueError(MP_ERROR_TEXT("act_table: kind >= 0, zero points -128..127"));
    }
    int32_t st = anne_act_table_s8((uint32_t)kind, approximate, in_scale, (int32_t)in_zp, out_scale,
        (int32_t)out_zp, (int8_t *)out.data, out.len);
    if (st == ANNE_ERR_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("act_table: out must hold 256 int8 values"));
    }
    if (st == ANNE_ERR_ACTIVATION) {
        mp_raise_ValueError(MP_ERROR_TEXT("act_table: sigmoid, tanh, elu, gelu or exponential"));
    }
    if (st == ANNE_ERR_PARAM) {
        mp_raise_ValueError(MP_ERROR_TEXT("act_table: bad scale (sigmoid's output: 1/256)"));
    }
    anne_check_status(st);
    return args[5];
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_act_table_obj, 7, 7, anne_act_table);
#endif // ANNE_ACT_TABLE

#endif // ANNE_TRAIN
