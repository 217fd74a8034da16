// anne.dense, anne.activate, anne.argmax and anne.merge: one kernel call each (the
// rule at the top of modanne.c holds here: every scalar converted before a
// buffer's address is taken).

#include "anne_glue.h"

// ---------------------------------------------------------------------------
// Module functions

// anne.dense(x, kernel, bias, out, activation="linear", **params)
static mp_obj_t anne_dense(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args < 4 || n_args > 5) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("dense() takes 4 or 5 positional arguments, got %d"), (int)n_args);
    }
    mp_obj_t act_name = MP_OBJ_NEW_QSTR(MP_QSTR_linear);
    mp_obj_t act_kw = anne_kw_get(kw, "activation");
    if (n_args == 5 && act_kw != MP_OBJ_NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("activation given twice"));
    }
    if (n_args == 5) {
        act_name = args[4];
    } else if (act_kw != MP_OBJ_NULL) {
        act_name = act_kw;
    }
    anne_activation_t scratch;
    const anne_activation_t *act = anne_get_activation(act_name, kw, &scratch);

    anne_f32_buf_t x = anne_get_f32(args[0], MP_QSTR_x, false);
    anne_f32_buf_t kernel = anne_get_f32(args[1], MP_QSTR_kernel, false);
    anne_f32_buf_t out = anne_get_f32(args[3], MP_QSTR_out, true);
    anne_f32_buf_t bias = anne_get_bias(args[2]);
    if (x.len == 0 || out.len == 0) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_NAMED_EMPTY,
            x.len == 0 ? MP_QSTR_x : MP_QSTR_out);
    }
    // Here the units come from out (the user's view of the layer); the
    // products cannot wrap: kernel.len / x.len is compared, not multiplied.
    bool halves = anne_names[act->kind].halves;
    size_t units = halves ? 2 * out.len : out.len;
    if (kernel.len % x.len != 0 || kernel.len / x.len != units) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_DENSE_KERNEL,
            (unsigned)kernel.len, (unsigned)x.len, (unsigned)units, (unsigned)(x.len * units),
            halves ? " (glu halves the units)" : "");
    }
    if (bias.data != NULL && bias.len != units) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_DENSE_BIAS, (unsigned)bias.len, (unsigned)units);
    }
    anne_check_stack();
    anne_check_status(anne_dense_f32(x.data, x.len, kernel.data, kernel.len,
        bias.data, bias.len, out.data, out.len, act));
    return mp_const_none;
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_KW(anne_dense_obj, 0, anne_dense);

// anne.activate(buf, name, **params): in place; glu leaves its len(buf) // 2
// results in buf[:len(buf) // 2]. Returns the number of outputs.
static mp_obj_t anne_activate(size_t n_args, const mp_obj_t *args, mp_map_t *kw_in) {
    if (n_args != 2) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("activate(buf, name, **params) takes 2 positional arguments, got %d"), (int)n_args);
    }
    anne_activation_t scratch;
    const anne_activation_t *act = anne_get_activation(args[1], kw_in, &scratch);
    anne_f32_buf_t buf = anne_get_f32(args[0], MP_QSTR_buf, true);
    size_t n_out = 0;
    if (anne_activation_outputs(act->kind, buf.len, &n_out) != ANNE_OK) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_ODD_VALUES, anne_names[act->kind].name, (unsigned)buf.len);
    }
    if (buf.len == 0) {
        return MP_OBJ_NEW_SMALL_INT(0);  // nothing to do (and its data may be NULL)
    }
    anne_check_stack();
    anne_check_status(anne_activate_f32(buf.data, buf.len, act));
    return MP_OBJ_NEW_SMALL_INT(n_out);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_KW(anne_activate_obj, 0, anne_activate);

// anne.argmax(buf): index of the largest value (the first on ties).
static mp_obj_t anne_argmax(mp_obj_t buf_obj) {
    anne_f32_buf_t buf = anne_get_f32(buf_obj, MP_QSTR_buf, false);
    if (buf.len == 0) {
        mp_raise_ValueError(ANNE_MSG_ARGMAX_EMPTY);
    }
    size_t index = 0;
    anne_check_status(anne_argmax_f32(buf.data, buf.len, &index));
    return MP_OBJ_NEW_SMALL_INT(index);
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_1(anne_argmax_obj, anne_argmax);

// anne.merge(kind, out, xs, rows[, quant]): a graph's merge layer (anne.h's
// anne_merge_f32): kind an ANNE_LAYER_ id of a merge, xs a tuple or list of
// 2..7 float32 buffers (a graph refills a list of its own in place: nothing
// is allocated), rows the positions Concatenate joins the last axis of.
// With quant (an int32 buffer: anne.h's anne_merge_s8's), an int8 graph's
// merge on int8 buffers (array('b')).
static mp_obj_t anne_merge(size_t n_args, const mp_obj_t *args) {
    // the scalars first: small ints only (no __index__ runs), then buffers
    if (!mp_obj_is_small_int(args[0]) || !mp_obj_is_small_int(args[3])
        || MP_OBJ_SMALL_INT_VALUE(args[0]) < 0 || MP_OBJ_SMALL_INT_VALUE(args[3]) < 1) {
        mp_raise_ValueError(ANNE_MSG_MERGE_KIND);
    }
    if (!mp_obj_is_type(args[2], &mp_type_tuple) && !mp_obj_is_type(args[2], &mp_type_list)) {
        mp_raise_TypeError(ANNE_MSG_MERGE_XS);
    }
    size_t n_xs;
    mp_obj_t *items;
    mp_obj_get_array(args[2], &n_xs, &items);
    if (n_xs < 2 || n_xs > 7) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_MERGE_COUNT, (int)n_xs);
    }
    size_t lens[7];
    if (n_args == 5) {  // int8: every argument converted, then the addresses taken
        const int8_t *xs8[7];
        for (size_t i = 0; i < n_xs; i++) {
            anne_buf_t x = anne_get_s8(items[i], MP_QSTR_x, false, true);
            xs8[i] = (const int8_t *)x.data;
            lens[i] = x.len;
        }
        anne_buf_t quant = anne_get_i32(args[4], MP_QSTR_quant);
        anne_buf_t out8 = anne_get_s8(args[1], MP_QSTR_out, true, false);
        int32_t st = anne_merge_s8((uint32_t)MP_OBJ_SMALL_INT_VALUE(args[0]), xs8, lens, n_xs,
            (int8_t *)out8.data, out8.len, (size_t)MP_OBJ_SMALL_INT_VALUE(args[3]),
            (const int32_t *)quant.data, quant.len);
        if (st == ANNE_ERR_OUT_SIZE || st == ANNE_ERR_SIZE || st == ANNE_ERR_X_SIZE) {
            mp_raise_ValueError(ANNE_MSG_MERGE_SIZES);
        }
        if (st == ANNE_ERR_PARAM) {
            mp_raise_ValueError(ANNE_MSG_MERGE_QUANT);
        }
        anne_check_status(st);
        return args[1];
    }
    const float *xs[7];
    for (size_t i = 0; i < n_xs; i++) {
        anne_f32_buf_t x = anne_get_f32(items[i], MP_QSTR_x, false);
        xs[i] = x.data;
        lens[i] = x.len;
    }
    anne_f32_buf_t out = anne_get_f32(args[1], MP_QSTR_out, true);
    int32_t status = anne_merge_f32((uint32_t)MP_OBJ_SMALL_INT_VALUE(args[0]), xs, lens, n_xs,
        out.data, out.len, (size_t)MP_OBJ_SMALL_INT_VALUE(args[3]));
    if (status == ANNE_ERR_OUT_SIZE || status == ANNE_ERR_SIZE) {
        mp_raise_ValueError(ANNE_MSG_MERGE_SIZES);
    }
    anne_check_status(status);
    return args[1];
}
ANNE_GLUE_SHARED MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_merge_obj, 4, 5, anne_merge);
