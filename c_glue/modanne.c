// The MicroPython module `anne`: a thin layer over the Rust kernels declared
// in anne.h. Every argument is validated here, before any kernel runs, so a
// MicroPython exception (a longjmp) never crosses a Rust frame; the kernels
// return status codes, which are turned into exceptions after they return.
//
// The rule for every function of the glue (this file and mod_*.c): convert
// every scalar argument first, then take the buffers' addresses, then call
// the kernel. Converting can run the user's Python code (__float__, __int__,
// __bool__, __index__), and that code can grow, shrink or free any buffer:
// an address taken before it may point into a freed block by the time the
// kernel writes. So between the first anne_get_f32 and the kernel call
// nothing runs Python code: only exact ints (anne_small_int), Activation
// objects and names, tuples and buffers are read there, none of which calls
// back.
//
// The glue, one file per concept (anne_glue.h holds what they share): this
// one the activation names and parameters, the buffers, anne.Activation and
// the module's table; mod_kernels.c dense, activate and argmax; mod_plan.c
// forward and anne.Plan; mod_train.c the training functions (ANNE_TRAIN).
// The module's functions are listed once, in anne_functions.h.

#include "anne_glue.h"

// ---------------------------------------------------------------------------
// Activation names

// Every name, ids first (index == id), then the aliases: ops/ops.json via
// anne_ops.h.
#define ANNE_NAME_ENTRY(id, name, params, halves) {#name, ANNE_ACT_##id, params, halves},
#define ANNE_ALIAS_ENTRY(alias, id, params, halves) {#alias, ANNE_ACT_##id, params, halves},
ANNE_GLUE_SHARED const anne_name_entry_t anne_names[ANNE_ACT_COUNT + ANNE_ALIAS_COUNT] = {
    ANNE_ACTIVATION_LIST(ANNE_NAME_ENTRY)
    ANNE_ALIAS_LIST(ANNE_ALIAS_ENTRY)
};

#ifndef ANNE_NATMOD  // (the native module builds anne.ACTIVATIONS when it loads)
#define ANNE_NAME_ROM(id, name, params, halves) MP_ROM_QSTR(MP_QSTR_##name),
#define ANNE_ALIAS_ROM(alias, id, params, halves) MP_ROM_QSTR(MP_QSTR_##alias),
static const mp_rom_obj_tuple_t anne_activations_tuple = {
    {&mp_type_tuple},
    ANNE_ACT_COUNT + ANNE_ALIAS_COUNT,
    {
        ANNE_ACTIVATION_LIST(ANNE_NAME_ROM)
        ANNE_ALIAS_LIST(ANNE_ALIAS_ROM)
    },
};
#endif

// The keyword parameters, in the order of the ANNE_P_* bits.
#define ANNE_PARAM_NAME(name, bit) #name,
static const char *const anne_param_names[] = {
    ANNE_PARAM_LIST(ANNE_PARAM_NAME)
};

// Whether the n bytes at s spell the C string name.
static bool anne_str_is(const char *s, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '\0' || name[i] != s[i]) {
            return false;
        }
    }
    return name[n] == '\0';
}

// Whether a keyword argument's key (a str) is name.
static bool anne_key_is(mp_obj_t key, const char *name) {
    size_t n;
    const char *s = mp_obj_str_get_data(key, &n);
    return anne_str_is(s, n, name);
}

// The value of keyword argument name, or MP_OBJ_NULL.
ANNE_GLUE_SHARED mp_obj_t anne_kw_get(mp_map_t *kw, const char *name) {
    for (size_t i = 0; kw != NULL && i < kw->alloc; i++) {
        if (mp_map_slot_is_filled(kw, i) && anne_key_is(kw->table[i].key, name)) {
            return kw->table[i].value;
        }
    }
    return MP_OBJ_NULL;
}

// Rules on parameter values beyond finiteness (ops/ops.json).
typedef struct {
    uint8_t kind;
    uint8_t param;  // an ANNE_P_* bit
    uint8_t rule;   // ANNE_RULE_*
} anne_rule_t;
#define ANNE_RULE_ENTRY(id, bit, rule) {ANNE_ACT_##id, bit, rule},
static const anne_rule_t anne_rules[] = {
    ANNE_PARAM_RULE_LIST(ANNE_RULE_ENTRY)
};

static const anne_name_entry_t *anne_lookup_activation(mp_obj_t name_obj) {
    if (!mp_obj_is_str(name_obj)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_ACTIVATION_TYPE, ANNE_TYPE_NAME(name_obj));
    }
    size_t len;
    const char *name = mp_obj_str_get_data(name_obj, &len);
    for (size_t i = 0; i < MP_ARRAY_SIZE(anne_names); i++) {
        if (anne_str_is(name, len, anne_names[i].name)) {
            return &anne_names[i];
        }
    }
    mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_UNKNOWN_ACTIVATION, (int)len, name, ANNE_ACTIVATION_NAMES);
}

static float anne_finite_param(const char *param, mp_obj_t value) {
    if (!mp_obj_is_int(value) && !mp_obj_is_float(value)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_PARAM_TYPE, param, ANNE_TYPE_NAME(value));
    }
    mp_float_t v = mp_obj_get_float(value);
    float f = (float)v;
    if (!isfinite(f)) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PARAM_FINITE, param);
    }
    return f;
}


// Builds an anne_activation_t from an activation name and the keyword
// arguments in kw (all but `activation` must be activation parameters);
// returns the name's table entry.
static const anne_name_entry_t *anne_parse_activation(mp_obj_t name_obj, mp_map_t *kw, anne_activation_t *act) {
    const anne_name_entry_t *entry = anne_lookup_activation(name_obj);
    anne_activation_default(entry->kind, act);
    // The float fields, in the order of the ANNE_P_* bits.
    float *const values[] = {&act->negative_slope, &act->alpha, &act->threshold,
                             &act->max_value, &act->default_value, &act->b};
    uint32_t seen = 0;
    for (size_t i = 0; kw != NULL && i < kw->alloc; i++) {
        if (!mp_map_slot_is_filled(kw, i)) {
            continue;
        }
        size_t len;
        const char *key = mp_obj_str_get_data(kw->table[i].key, &len);
        mp_obj_t value = kw->table[i].value;
        if (anne_str_is(key, len, "activation")) {
            continue;
        }
        size_t p = 0;
        while (p < ANNE_PARAM_COUNT && !anne_str_is(key, len, anne_param_names[p])) {
            p++;
        }
        if (p == ANNE_PARAM_COUNT) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_UNKNOWN_PARAM, (int)len, key, ANNE_PARAM_NAMES);
        }
        uint32_t bit = 1u << p;
        if (!(entry->params & bit)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PARAM_NOT_TAKEN, entry->name, anne_param_names[p]);
        }
        seen |= bit;
        if (bit == ANNE_P_APPROXIMATE) {
            act->approximate = mp_obj_is_true(value);
        } else if (bit == ANNE_P_MAX_VALUE && value == mp_const_none) {
            act->has_max_value = 0;
            act->max_value = 0.0f;
        } else {
            act->has_max_value |= bit == ANNE_P_MAX_VALUE;
            *values[p] = anne_finite_param(anne_param_names[p], value);
        }
    }
    // The table's rules (ops/ops.json): ranges that Keras leaves to the math
    // (it would give NaN or divide by zero), and parameters Keras requires.
    for (size_t r = 0; r < MP_ARRAY_SIZE(anne_rules); r++) {
        const anne_rule_t *rule = &anne_rules[r];
        if (rule->kind != entry->kind) {
            continue;
        }
        const char *act_name = anne_names[entry->kind].name;
        size_t p = 0;
        while ((1u << p) != rule->param) {
            p++;
        }
        float v = p < MP_ARRAY_SIZE(values) ? *values[p] : 0.0f;
        if (rule->rule == ANNE_RULE_REQUIRED && !(seen & rule->param)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PARAM_REQUIRED, act_name, anne_param_names[p]);
        }
        if (rule->param == ANNE_P_MAX_VALUE && !act->has_max_value) {
            continue;  // None: no clip
        }
        if (rule->rule == ANNE_RULE_NON_NEGATIVE && !(v >= 0.0f)) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PARAM_NON_NEGATIVE, act_name, anne_param_names[p]);
        }
        if (rule->rule == ANNE_RULE_NONZERO && v == 0.0f) {
            mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_PARAM_NONZERO, act_name, anne_param_names[p]);
        }
    }
    return entry;
}

// ---------------------------------------------------------------------------
// Buffers

// anne_get_f32 for any buffer object.
ANNE_GLUE_SHARED anne_f32_buf_t anne_get_f32_any(mp_obj_t obj, qstr arg, bool writable) {
    #if MICROPY_PY_BUILTINS_MEMORYVIEW || defined(MICROPY_ENABLE_DYNRUNTIME)
    if (mp_obj_is_type(obj, &mp_type_memoryview)) {
        // A view of floats (a network's activation arena holds one per
        // layer): its items from its offset, read directly as the buffer
        // protocol would give them (80 instructions a view fewer per plan
        // call on the M3); writable only if the view is, aligned as its
        // array('f').
        mp_obj_array_t *a = MP_OBJ_TO_PTR(obj);
        float *p = (float *)a->items + a->free;  // (free: a view's offset, in items)
        if ((a->typecode & ~MP_OBJ_ARRAY_TYPECODE_FLAG_RW) == 'f' && (uintptr_t)p % sizeof(float) == 0
            && (!writable || (a->typecode & MP_OBJ_ARRAY_TYPECODE_FLAG_RW))) {
            anne_f32_buf_t b = {p, a->len};
            return b;
        }
    }
    #endif
    mp_buffer_info_t info;
    if (mp_obj_is_str(obj) || !mp_get_buffer(obj, &info, writable ? MP_BUFFER_RW : MP_BUFFER_READ)) {
        if (writable && !mp_obj_is_str(obj) && mp_get_buffer(obj, &info, MP_BUFFER_READ)) {
            mp_raise_msg_varg(&mp_type_TypeError,
                MP_ERROR_TEXT("%q must be a writable float32 buffer, not %q"),
                arg, ANNE_TYPE_NAME(obj));
        }
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_F32_TYPE, arg, ANNE_TYPE_NAME(obj));
    }
    if (info.typecode != 'f' && info.typecode != 'B' && info.typecode != BYTEARRAY_TYPECODE) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_F32_TYPECODE, arg, info.typecode);
    }
    if (info.len % sizeof(float) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_F32_BYTES, arg, (unsigned)info.len);
    }
    if ((uintptr_t)info.buf % sizeof(float) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q is not 4-byte aligned; copy it into an array('f')"), arg);
    }
    anne_f32_buf_t b = {info.buf, info.len / sizeof(float)};
    return b;
}

// An int8 buffer (ANNE_DTYPE_S8 layers): array('b') or a memoryview of one;
// with raw_ok (weights) also bytes-like objects (bytes, bytearray, a
// memoryview of bytes, as a loaded file's kernel is used in place).
ANNE_GLUE_SHARED anne_buf_t anne_get_s8(mp_obj_t obj, qstr arg, bool writable, bool raw_ok) {
    mp_buffer_info_t info;
    if (mp_obj_is_str(obj) || !mp_get_buffer(obj, &info, writable ? MP_BUFFER_RW : MP_BUFFER_READ)) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_I8_TYPE,
            arg, writable ? " writable" : "n", ANNE_TYPE_NAME(obj));
    }
    if (info.typecode != 'b' && !(raw_ok && (info.typecode == 'B' || info.typecode == BYTEARRAY_TYPECODE))) {
        mp_raise_msg_varg(&mp_type_TypeError, ANNE_MSG_I8_TYPECODE, arg, info.typecode);
    }
    anne_buf_t b = {info.buf, info.len};
    return b;
}

// An int32 buffer (an int8 layer's bias, scales' words): array('i')
// (or 'l' where a long is 4 bytes), or bytes-like holding int32 values,
// 4-byte aligned.
ANNE_GLUE_SHARED anne_buf_t anne_get_i32(mp_obj_t obj, qstr arg) {
    mp_buffer_info_t info;
    if (mp_obj_is_str(obj) || !mp_get_buffer(obj, &info, MP_BUFFER_READ)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q must be an int32 buffer (array('i')), not %q"), arg, ANNE_TYPE_NAME(obj));
    }
    if (info.typecode != 'i' && !(info.typecode == 'l' && sizeof(long) == 4)
        && info.typecode != 'B' && info.typecode != BYTEARRAY_TYPECODE) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q must hold int32 (typecode 'i'), not typecode '%c'"), arg, info.typecode);
    }
    if (info.len % 4 != 0 || (uintptr_t)info.buf % 4 != 0) {
        mp_raise_msg_varg(&mp_type_ValueError, ANNE_MSG_I32_WHOLE, arg);
    }
    anne_buf_t b = {info.buf, info.len / 4};
    return b;
}

// The exception for a kernel's status, where no layer is involved
// (activate, argmax) or the caller has nothing more exact to say.
ANNE_GLUE_SHARED void anne_check_status(int32_t status) {
    switch (status) {
        case ANNE_OK:
            return;
        case ANNE_ERR_PARAM:
            mp_raise_ValueError(MP_ERROR_TEXT("activation parameter out of range"));
        case ANNE_ERR_ACTIVATION:
            mp_raise_ValueError(MP_ERROR_TEXT("unknown activation id"));
        case ANNE_ERR_ALIGN:
            mp_raise_ValueError(MP_ERROR_TEXT("a buffer is not 4-byte aligned"));
        case ANNE_ERR_OVERLAP:
            mp_raise_ValueError(MP_ERROR_TEXT("out must not share memory with x, kernel or bias"));
        case ANNE_ERR_KIND:
            mp_raise_ValueError(ANNE_MSG_UNKNOWN_KIND);
        default:
            mp_raise_ValueError(MP_ERROR_TEXT("buffer sizes do not fit together"));
    }
}

// ---------------------------------------------------------------------------
// anne.Activation(name, **params): an activation with its parameters, checked
// once. dense() and activate() take one in place of a name; they then parse
// nothing and allocate nothing, which is what a network's inner loop wants.

static mp_obj_t anne_activation_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, 0, 1, 1, true);
    mp_map_t kw;
    mp_map_init_fixed_table(&kw, n_kw, args + n_args);
    anne_activation_obj_t *self = mp_obj_malloc(anne_activation_obj_t, type);
    self->name = anne_parse_activation(args[0], &kw, &self->act)->name;
    return MP_OBJ_FROM_PTR(self);
}

static void anne_activation_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    anne_activation_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "Activation('%s'", self->name);
    const anne_activation_t *a = &self->act;
    const float values[] = {a->negative_slope, a->alpha, a->threshold, a->max_value, a->default_value, a->b};
    uint32_t takes = anne_names[a->kind].params;
    for (size_t p = 0; p < MP_ARRAY_SIZE(values); p++) {
        if (!(takes & (1u << p)) || ((1u << p) == ANNE_P_MAX_VALUE && !a->has_max_value)) {
            continue;
        }
        mp_printf(print, ", %s=", anne_param_names[p]);
        mp_obj_print_helper(print, mp_obj_new_float(values[p]), PRINT_REPR);
    }
    if (takes & ANNE_P_APPROXIMATE) {
        mp_printf(print, ", approximate=%s", a->approximate ? "True" : "False");
    }
    mp_printf(print, ")");
}

// .name (as given, aliases included), .id (stored in weight files)
static void anne_activation_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    anne_activation_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] != MP_OBJ_NULL) {
        return;  // read-only
    }
    if (attr == MP_QSTR_name) {
        dest[0] = mp_obj_new_str(self->name, strlen(self->name));
    } else if (attr == MP_QSTR_id) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(self->act.kind);
    }
}

#ifndef ANNE_NATMOD
MP_DEFINE_CONST_OBJ_TYPE(
    anne_activation_type,
    MP_QSTR_Activation,
    MP_TYPE_FLAG_NONE,
    make_new, anne_activation_make_new,
    print, anne_activation_print,
    attr, anne_activation_attr
    );
#endif

// An Activation object as it is, or one parsed from a name and kw.
ANNE_GLUE_SHARED const anne_activation_t *anne_get_activation(mp_obj_t name_or_obj, mp_map_t *kw, anne_activation_t *scratch) {
    if (mp_obj_is_type(name_or_obj, &anne_activation_type)) {
        for (size_t i = 0; kw != NULL && i < kw->alloc; i++) {
            if (mp_map_slot_is_filled(kw, i) && !anne_key_is(kw->table[i].key, "activation")) {
                mp_raise_ValueError(ANNE_MSG_PARAMS_OUTSIDE);
            }
        }
        return &((anne_activation_obj_t *)MP_OBJ_TO_PTR(name_or_obj))->act;
    }
    anne_parse_activation(name_or_obj, kw, scratch);
    return scratch;
}

#ifndef ANNE_NATMOD  // (natmod/anne_natmod.c has the native module's mpy_init)
// anne.__version__: the project's version (anne_net.__version__ too).
static MP_DEFINE_STR_OBJ(anne_version_obj, ANNE_VERSION);

#define ANNE_ROM_ENTRY(name, kind) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_PTR(&anne_##name##_obj) },
static const mp_rom_map_elem_t anne_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_anne) },
    { MP_ROM_QSTR(MP_QSTR___version__), MP_ROM_PTR(&anne_version_obj) },
    ANNE_MODULE_FUNCTIONS(ANNE_ROM_ENTRY)
    { MP_ROM_QSTR(MP_QSTR_Activation), MP_ROM_PTR(&anne_activation_type) },
    { MP_ROM_QSTR(MP_QSTR_Plan), MP_ROM_PTR(&anne_plan_type) },
    { MP_ROM_QSTR(MP_QSTR_ACTIVATIONS), MP_ROM_PTR(&anne_activations_tuple) },
};
static MP_DEFINE_CONST_DICT(anne_module_globals, anne_module_globals_table);

const mp_obj_module_t anne_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&anne_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_anne, anne_user_cmodule);
#endif

