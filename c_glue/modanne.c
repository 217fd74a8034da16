// The MicroPython module `anne`: a thin layer over the Rust kernels declared
// in anne.h. Every argument is validated here, before any kernel runs, so a
// MicroPython exception (a longjmp) never crosses a Rust frame; the kernels
// return status codes, which are turned into exceptions after they return.
//
// The rule for every function here: convert every scalar argument first,
// then take the buffers' addresses, then call the kernel. Converting can run
// the user's Python code (__float__, __int__, __bool__, __index__), and that
// code can grow, shrink or free any buffer: an address taken before it may
// point into a freed block by the time the kernel writes. So between the
// first anne_get_f32 and the kernel call nothing runs Python code: only
// exact ints (anne_small_int), Activation objects and names, tuples and
// buffers are read there, none of which calls back.

#include <math.h>
#include <string.h>

// Built into firmware, or included by natmod/anne_natmod.c for the native
// .mpy module, which reaches the firmware only through py/dynruntime.h: that
// file supplies what this one uses beyond it.
#ifndef ANNE_NATMOD
#include "py/binary.h"
#include "py/obj.h"
#include "py/objarray.h"
#include "py/objlist.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#endif

#include "anne.h"

// ANNE_TRAIN=0 leaves the training functions out (the module then runs
// networks only; anne_net trains them on its pure-Python backend).
#ifndef ANNE_TRAIN
#define ANNE_TRAIN 1
#endif

// ---------------------------------------------------------------------------
// Activation names

typedef struct {
    const char *name;
    uint8_t kind;
    uint8_t params;  // ANNE_P_* bits
    uint8_t halves;  // n inputs give n / 2 outputs (glu)
} anne_name_entry_t;

// Every name, ids first (index == id), then the aliases: ops/ops.json via
// anne_ops.h.
#define ANNE_NAME_ENTRY(id, name, params, halves) {#name, ANNE_ACT_##id, params, halves},
#define ANNE_ALIAS_ENTRY(alias, id, params, halves) {#alias, ANNE_ACT_##id, params, halves},
static const anne_name_entry_t anne_names[ANNE_ACT_COUNT + ANNE_ALIAS_COUNT] = {
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
static mp_obj_t anne_kw_get(mp_map_t *kw, const char *name) {
    for (size_t i = 0; kw != NULL && i < kw->alloc; i++) {
        if (mp_map_slot_is_filled(kw, i) && anne_key_is(kw->table[i].key, name)) {
            return kw->table[i].value;
        }
    }
    return MP_OBJ_NULL;
}

// An object's type name, for a message's %q.
#define ANNE_TYPE_NAME(obj) ((qstr)mp_obj_get_type(obj)->name)

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
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("activation must be a str, not %q"), ANNE_TYPE_NAME(name_obj));
    }
    size_t len;
    const char *name = mp_obj_str_get_data(name_obj, &len);
    for (size_t i = 0; i < MP_ARRAY_SIZE(anne_names); i++) {
        if (anne_str_is(name, len, anne_names[i].name)) {
            return &anne_names[i];
        }
    }
    mp_raise_msg_varg(&mp_type_ValueError,
        MP_ERROR_TEXT("unknown activation '%.*s'; expected one of: %s"), (int)len, name, ANNE_ACTIVATION_NAMES);
}

static float anne_finite_param(const char *param, mp_obj_t value) {
    if (!mp_obj_is_int(value) && !mp_obj_is_float(value)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%s must be a number, not %q"), param, ANNE_TYPE_NAME(value));
    }
    mp_float_t v = mp_obj_get_float(value);
    float f = (float)v;
    if (!isfinite(f)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s must be finite"), param);
    }
    return f;
}

#if ANNE_TRAIN  // (only the training functions take codes and counts)
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
    mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%s must be an int, not %q"), what, ANNE_TYPE_NAME(obj));
}
#endif

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
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("unknown parameter '%.*s'; valid parameters: %s"), (int)len, key, ANNE_PARAM_NAMES);
        }
        uint32_t bit = 1u << p;
        if (!(entry->params & bit)) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("activation '%s' takes no parameter '%s'"), entry->name, anne_param_names[p]);
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
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("activation '%s' needs %s="), act_name, anne_param_names[p]);
        }
        if (rule->param == ANNE_P_MAX_VALUE && !act->has_max_value) {
            continue;  // None: no clip
        }
        if (rule->rule == ANNE_RULE_NON_NEGATIVE && !(v >= 0.0f)) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s needs %s >= 0"), act_name, anne_param_names[p]);
        }
        if (rule->rule == ANNE_RULE_NONZERO && v == 0.0f) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s needs %s != 0"), act_name, anne_param_names[p]);
        }
    }
    return entry;
}

// ---------------------------------------------------------------------------
// Buffers

typedef struct {
    float *data;
    size_t len;  // in floats
} anne_f32_buf_t;

// Where an empty bias points: never NULL (which means "no bias"), so that it
// is a bias of 0 floats, refused for its size. Nothing reads through it.
// (Other empty buffers may have NULL data: the kernels refuse them with
// ANNE_ERR_NULL, which anne_raise_layer reads as the size error it is.)
static const float anne_no_floats[1];

// anne_get_f32 for any buffer object.
static anne_f32_buf_t anne_get_f32_any(mp_obj_t obj, qstr arg, bool writable) {
    mp_buffer_info_t info;
    if (mp_obj_is_str(obj) || !mp_get_buffer(obj, &info, writable ? MP_BUFFER_RW : MP_BUFFER_READ)) {
        if (writable && !mp_obj_is_str(obj) && mp_get_buffer(obj, &info, MP_BUFFER_READ)) {
            mp_raise_msg_varg(&mp_type_TypeError,
                MP_ERROR_TEXT("%q must be a writable float32 buffer, not %q"),
                arg, ANNE_TYPE_NAME(obj));
        }
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q must be a float32 buffer (array('f'), bytearray), not %q"),
            arg, ANNE_TYPE_NAME(obj));
    }
    if (info.typecode != 'f' && info.typecode != 'B' && info.typecode != BYTEARRAY_TYPECODE) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q must hold float32 (typecode 'f'), not typecode '%c'"),
            arg, info.typecode);
    }
    if (info.len % sizeof(float) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q has %u bytes, not a whole number of float32"),
            arg, (unsigned)info.len);
    }
    if ((uintptr_t)info.buf % sizeof(float) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q is not 4-byte aligned; copy it into an array('f')"), arg);
    }
    anne_f32_buf_t b = {info.buf, info.len / sizeof(float)};
    return b;
}

// Accepts array('f') (or a memoryview of one) and raw bytes-like objects
// (bytes, bytearray, memoryview of bytes) holding float32 values, 4-aligned.
static MP_ALWAYSINLINE inline anne_f32_buf_t anne_get_f32(mp_obj_t obj, qstr arg, bool writable) {
    if (mp_obj_is_type(obj, &mp_type_array)) {
        // The common case, read directly: an array('f') is writable and its
        // items come from the GC heap (aligned).
        mp_obj_array_t *a = MP_OBJ_TO_PTR(obj);
        if (a->typecode == 'f') {
            anne_f32_buf_t b = {a->items, a->len};
            return b;
        }
    }
    return anne_get_f32_any(obj, arg, writable);
}

// A bias argument: {NULL, 0} for None, else never NULL data.
static MP_ALWAYSINLINE inline anne_f32_buf_t anne_get_bias(mp_obj_t obj) {
    anne_f32_buf_t bias = {NULL, 0};
    if (obj != mp_const_none) {
        bias = anne_get_f32(obj, MP_QSTR_bias, false);
        if (bias.data == NULL) {
            bias.data = (float *)anne_no_floats;
        }
    }
    return bias;
}

// The dense kernel keeps up to 1 KB of decoded inputs on the C stack, and
// needs less than 3 KB in all. A board whose Python code is already deep in
// recursion gets MicroPython's RecursionError instead of a stack overflow.
#define ANNE_KERNEL_STACK (3 * 1024)
// (A native module cannot read the thread's stack limit: there it relies on
// the room MicroPython leaves below its limit, 10 KB and more on the ports.)
static void anne_check_stack(void) {
    #if MICROPY_STACK_CHECK && !defined(ANNE_NATMOD)
    if (mp_stack_usage() + ANNE_KERNEL_STACK >= MP_STATE_THREAD(stack_limit)) {
        mp_raise_recursion_depth();
    }
    #endif
}

// The exception for a kernel's status, where no layer is involved
// (activate, argmax) or the caller has nothing more exact to say.
static void anne_check_status(int32_t status) {
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
            mp_raise_ValueError(MP_ERROR_TEXT("unknown layer kind or dtype"));
        default:
            mp_raise_ValueError(MP_ERROR_TEXT("buffer sizes do not fit together"));
    }
}

// ---------------------------------------------------------------------------
// anne.Activation(name, **params): an activation with its parameters, checked
// once. dense() and activate() take one in place of a name; they then parse
// nothing and allocate nothing, which is what a network's inner loop wants.

typedef struct {
    mp_obj_base_t base;
    const char *name;  // as given: a name or an alias
    anne_activation_t act;
} anne_activation_obj_t;

#ifndef ANNE_NATMOD  // (the native module fills in its types when it loads)
static const mp_obj_type_t anne_activation_type;
#endif

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
static MP_DEFINE_CONST_OBJ_TYPE(
    anne_activation_type,
    MP_QSTR_Activation,
    MP_TYPE_FLAG_NONE,
    make_new, anne_activation_make_new,
    print, anne_activation_print,
    attr, anne_activation_attr
    );
#endif

// An Activation object as it is, or one parsed from a name and kw.
static const anne_activation_t *anne_get_activation(mp_obj_t name_or_obj, mp_map_t *kw, anne_activation_t *scratch) {
    if (mp_obj_is_type(name_or_obj, &anne_activation_type)) {
        for (size_t i = 0; kw != NULL && i < kw->alloc; i++) {
            if (mp_map_slot_is_filled(kw, i) && !anne_key_is(kw->table[i].key, "activation")) {
                mp_raise_ValueError(MP_ERROR_TEXT("parameters go into Activation(...), not next to it"));
            }
        }
        return &((anne_activation_obj_t *)MP_OBJ_TO_PTR(name_or_obj))->act;
    }
    anne_parse_activation(name_or_obj, kw, scratch);
    return scratch;
}

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
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q is empty"),
            x.len == 0 ? MP_QSTR_x : MP_QSTR_out);
    }
    // Here the units come from out (the user's view of the layer); the
    // products cannot wrap: kernel.len / x.len is compared, not multiplied.
    bool halves = anne_names[act->kind].halves;
    size_t units = halves ? 2 * out.len : out.len;
    if (kernel.len % x.len != 0 || kernel.len / x.len != units) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("kernel has %u floats, expected len(x) * len(out) = %u * %u = %u%s"),
            (unsigned)kernel.len, (unsigned)x.len, (unsigned)units, (unsigned)(x.len * units),
            halves ? " (glu halves the units)" : "");
    }
    if (bias.data != NULL && bias.len != units) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bias has %u floats, expected %u (one per unit)"), (unsigned)bias.len, (unsigned)units);
    }
    anne_check_stack();
    anne_check_status(anne_dense_f32(x.data, x.len, kernel.data, kernel.len,
        bias.data, bias.len, out.data, out.len, act));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(anne_dense_obj, 0, anne_dense);

// The (kernel, bias, activation, buf[, spec]) items of layer i of a layers
// tuple; *n_fields is 4 or 5.
static mp_obj_t *anne_layer_fields(mp_obj_t layer, size_t i, size_t *n_fields) {
    mp_obj_t *fields;
    if (!mp_obj_is_type(layer, &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d is not a tuple"), (int)i);
    }
    mp_obj_get_array(layer, n_fields, &fields);
    if (*n_fields != 4 && *n_fields != 5) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("layer %d must be (kernel, bias, activation, buf[, spec]), got %d items"),
            (int)i, (int)*n_fields);
    }
    return fields;
}

// Layer i's kind and params from its spec, (kind, param, ...): ANNE_LAYER_*
// and up to six ints, as anne.h's anne_layer_t describes them.
static void anne_get_spec(mp_obj_t spec_obj, size_t i, uint32_t *kind, uint32_t params[6]) {
    size_t n;
    mp_obj_t *spec;
    if (!mp_obj_is_type(spec_obj, &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("layer %d: spec must be a tuple of ints"), (int)i);
    }
    mp_obj_get_array(spec_obj, &n, &spec);
    if (n < 1 || n > 7) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("layer %d: spec must be (kind, up to 6 params), got %d items"), (int)i, (int)n);
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

// Fills d's kind, params and activation from layer i's fields. A spec (the
// fifth item, see anne_get_spec); without one the layer is dense. A pooling
// layer's activation may be None. Returns the fields.
static mp_obj_t *anne_layer_describe(anne_layer_t *d, mp_obj_t layer, size_t i) {
    size_t n_fields;
    mp_obj_t *fields = anne_layer_fields(layer, i, &n_fields);
    d->kind = ANNE_LAYER_DENSE;
    d->dtype = ANNE_DTYPE_F32;
    if (n_fields == 5) {
        anne_get_spec(fields[4], i, &d->kind, d->params);
    }
    if (d->kind != ANNE_LAYER_DENSE && d->kind != ANNE_LAYER_CONV1D && fields[2] == mp_const_none) {
        return fields;  // pooling, affine: no activation
    }
    anne_activation_t scratch;
    d->act = *anne_get_activation(fields[2], NULL, &scratch);
    return fields;
}

// Fills d's weights from a layer's (kernel, bias, activation, buf) fields.
// Only a dense layer needs a kernel (None is then a TypeError).
static MP_ALWAYSINLINE inline void anne_gather_weights(anne_layer_t *d, const mp_obj_t *fields) {
    if (fields[0] == mp_const_none && d->kind != ANNE_LAYER_DENSE) {
        d->kernel = NULL;
        d->kernel_len = 0;
        d->bias = NULL;
        d->bias_len = 0;
        return;
    }
    anne_f32_buf_t kernel = anne_get_f32(fields[0], MP_QSTR_kernel, false);
    anne_f32_buf_t bias = anne_get_bias(fields[1]);
    d->kernel = kernel.data;
    d->kernel_len = kernel.len;
    d->bias = bias.data;
    d->bias_len = bias.len;
}

// Whether the n floats at a share memory with the m floats at b.
static bool anne_overlap(const float *a, size_t n, const float *b, size_t m) {
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a != NULL && b != NULL && n != 0 && m != 0
           && a0 < b0 + m * sizeof(float) && b0 < a0 + n * sizeof(float);
}

// Refuses a buffer that layer i (or out, for i == n_layers) writes where it
// shares memory with layer j's weights: the kernels check a layer's output
// against its own inputs and weights, this the whole network's.
static void anne_check_weights(const float *w, size_t n, size_t i, size_t n_layers, const anne_layer_t *j_desc, size_t j) {
    if (anne_overlap(w, n, j_desc->kernel, j_desc->kernel_len) || anne_overlap(w, n, j_desc->bias, j_desc->bias_len)) {
        if (i == n_layers) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("out shares memory with layer %d's weights"), (int)j);
        }
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("layer %d: its output buffer shares memory with layer %d's weights"), (int)i, (int)j);
    }
}

static MP_ALWAYSINLINE inline void anne_set_out(anne_layer_t *d, anne_f32_buf_t dst) {
    d->out = dst.data;
    d->out_len = dst.len;
}

// anne_raise_layer's messages for a Conv1D or pooling layer (its spec in
// d->params); returns for the statuses all kinds share.
static void anne_raise_other_layer(int32_t status, size_t i, size_t n_in, const anne_layer_t *d) {
    switch (status) {
        case ANNE_ERR_NULL:
        case ANNE_ERR_KERNEL_SIZE:
            if (d->kind == ANNE_LAYER_CONV1D) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("layer %d: conv1d kernel has %u floats, not %u x %u x filters"),
                    (int)i, (unsigned)d->kernel_len, (unsigned)d->params[1], (unsigned)d->params[0]);
            }
            if (d->kind == ANNE_LAYER_AFFINE) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("layer %d: affine scale has %u floats, expected %u (channels)"),
                    (int)i, (unsigned)d->kernel_len, (unsigned)d->params[0]);
            }
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("layer %d: empty buffer"), (int)i);
        case ANNE_ERR_X_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: %u inputs are not whole steps of %u channels, or too few"),
                (int)i, (unsigned)n_in, (unsigned)d->params[0]);
        case ANNE_ERR_OUT_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: output buffer has %u floats, not out_steps x channels"),
                (int)i, (unsigned)d->out_len);
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: bias has %u floats, expected one per filter/channel"), (int)i,
                (unsigned)d->bias_len);
        case ANNE_ERR_ACTIVATION:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: conv1d cannot take glu (it halves the filters)"), (int)i);
        case ANNE_ERR_LAYER_PARAM:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: bad spec: sizes, strides, dilation >= 1; padding 0..2"),
                (int)i);
        default:
            return;
    }
}

// Raises the exception for a chain's status: layer i (of n_layers, reading
// n_in values) refused what d describes. The status says exactly what.
static NORETURN void anne_raise_layer(int32_t status, size_t i, size_t n_layers, size_t n_in, const anne_layer_t *d) {
    if (d->kind != ANNE_LAYER_DENSE) {
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
            mp_raise_ValueError(MP_ERROR_TEXT("x is empty"));
        case ANNE_ERR_KERNEL_SIZE: {
            size_t want_units = halves ? 2 * d->out_len : d->out_len;
            if (i == 0 && want_units != 0 && d->kernel_len != 0 && d->kernel_len % want_units == 0) {
                // The first kernel fits out but not x: say it in those terms.
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("x has %u values; layer 0's kernel (%u floats, %u units) takes %u"),
                    (unsigned)n_in, (unsigned)d->kernel_len, (unsigned)want_units,
                    (unsigned)(d->kernel_len / want_units));
            }
            if (halves && d->kernel_len != 0 && d->kernel_len % n_in == 0) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("layer %d: %s needs an even number of units, got %u"),
                    (int)i, anne_names[d->act.kind].name, (unsigned)units);
            }
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: kernel has %u floats, not a multiple of its %u inputs"),
                (int)i, (unsigned)d->kernel_len, (unsigned)n_in);
        }
        case ANNE_ERR_OUT_SIZE:
            if (i + 1 == n_layers) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("out has %u floats; the network gives %u"),
                    (unsigned)d->out_len, (unsigned)outputs);
            }
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: buf has %u floats; the layer gives %u"),
                (int)i, (unsigned)d->out_len, (unsigned)outputs);
        case ANNE_ERR_BIAS_SIZE:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: bias has %u floats, expected %u (one per unit)"),
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
static mp_obj_t anne_forward(mp_obj_t layers_obj, mp_obj_t x_obj, mp_obj_t out_obj) {
    size_t n_layers;
    mp_obj_t *layers;
    if (!mp_obj_is_type(layers_obj, &mp_type_tuple) && !mp_obj_is_type(layers_obj, &mp_type_list)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("layers: a tuple of (kernel, bias, activation, buf[, spec]), not %q"),
            ANNE_TYPE_NAME(layers_obj));
    }
    mp_obj_get_array(layers_obj, &n_layers, &layers);
    if (n_layers == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("layers is empty"));
    }
    anne_f32_buf_t x = anne_get_f32(x_obj, MP_QSTR_x, false);
    anne_f32_buf_t out = anne_get_f32(out_obj, MP_QSTR_out, true);
    anne_check_stack();
    // Every written buffer against every layer's weights, first (a layer
    // that wrote into a later layer's kernel would change the network).
    for (size_t i = 0; i < n_layers; i++) {
        size_t n_fields;
        mp_obj_t *fields = anne_layer_fields(layers[i], i, &n_fields);
        anne_f32_buf_t w = i + 1 == n_layers ? out : anne_get_f32(fields[3], MP_QSTR_buf, true);
        for (size_t j = 0; j < n_layers; j++) {
            anne_layer_t v = {.kind = ANNE_LAYER_CONV1D};  // (None weights pass here; the loop refuses them)
            anne_gather_weights(&v, anne_layer_fields(layers[j], j, &n_fields));
            anne_check_weights(w.data, w.len, i + 1 == n_layers ? n_layers : i, n_layers, &v, j);
        }
    }
    // One layer at a time (a chain of one), so that nothing is allocated.
    for (size_t i = 0; i < n_layers; i++) {
        anne_layer_t d = {0};
        mp_obj_t *fields = anne_layer_describe(&d, layers[i], i);
        anne_gather_weights(&d, fields);
        anne_set_out(&d, i + 1 == n_layers ? out : anne_get_f32(fields[3], MP_QSTR_buf, true));
        int32_t status = anne_forward_f32(x.data, x.len, &d, 1, NULL);
        if (status != ANNE_OK) {
            anne_raise_layer(status, i, n_layers, x.len, &d);
        }
        x.data = d.out;
        x.len = d.out_len;
    }
    return out_obj;
}
static MP_DEFINE_CONST_FUN_OBJ_3(anne_forward_obj, anne_forward);

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
    bool bufs_checked;      // the hidden buffers against every weight, once
} anne_plan_obj_t;

static mp_obj_t anne_plan_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    if (!mp_obj_is_type(args[0], &mp_type_tuple)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("layers: a tuple of (kernel, bias, activation, buf[, spec]), not %q"),
            ANNE_TYPE_NAME(args[0]));
    }
    size_t n_layers;
    mp_obj_t *layers;
    mp_obj_get_array(args[0], &n_layers, &layers);
    if (n_layers == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("layers is empty"));
    }
    anne_layer_t *descs = m_new0(anne_layer_t, n_layers);
    for (size_t i = 0; i < n_layers; i++) {
        anne_layer_describe(&descs[i], layers[i], i);
    }
    anne_plan_obj_t *self = mp_obj_malloc(anne_plan_obj_t, type);
    self->layers = args[0];
    self->n_layers = n_layers;
    self->descs = descs;
    self->bufs_checked = false;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t anne_plan_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    anne_plan_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    anne_check_stack();
    anne_f32_buf_t x = anne_get_f32(args[0], MP_QSTR_x, false);
    anne_f32_buf_t out = anne_get_f32(args[1], MP_QSTR_out, true);
    mp_obj_t *layers = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(self->layers))->items;
    size_t last = self->n_layers - 1;
    anne_layer_t *d = self->descs;
    for (size_t i = 0; i <= last; i++, d++) {
        // (A tuple cannot change: its items are the ones checked when the
        // plan was made.)
        mp_obj_t *fields = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(layers[i]))->items;
        anne_gather_weights(d, fields);
        if (i != last) {
            anne_set_out(d, anne_get_f32(fields[3], MP_QSTR_buf, true));
        }
    }
    anne_set_out(d - 1, out);
    // out against every weight on each call (it is the caller's); the
    // hidden buffers once: the plan holds them and the weights, and a
    // buffer that moves (an array that grows) moves into a free block.
    for (size_t j = 0; j <= last; j++) {
        anne_check_weights(out.data, out.len, last + 1, last + 1, &self->descs[j], j);
        for (size_t i = 0; i < last && !self->bufs_checked; i++) {
            anne_check_weights(self->descs[i].out, self->descs[i].out_len, i, last + 1, &self->descs[j], j);
        }
    }
    self->bufs_checked = true;
    size_t failed = 0;
    int32_t status = anne_forward_f32(x.data, x.len, self->descs, self->n_layers, &failed);
    if (status != ANNE_OK) {
        size_t n_in = failed == 0 ? x.len : self->descs[failed - 1].out_len;
        anne_raise_layer(status, failed, self->n_layers, n_in, &self->descs[failed]);
    }
    return args[1];
}

#ifndef ANNE_NATMOD
static MP_DEFINE_CONST_OBJ_TYPE(
    anne_plan_type,
    MP_QSTR_Plan,
    MP_TYPE_FLAG_NONE,
    make_new, anne_plan_make_new,
    call, anne_plan_call
    );
#endif

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
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%s needs an even number of values, got %u"),
            anne_names[act->kind].name, (unsigned)buf.len);
    }
    if (buf.len == 0) {
        return MP_OBJ_NEW_SMALL_INT(0);  // nothing to do (and its data may be NULL)
    }
    anne_check_stack();
    anne_check_status(anne_activate_f32(buf.data, buf.len, act));
    return MP_OBJ_NEW_SMALL_INT(n_out);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(anne_activate_obj, 0, anne_activate);

// anne.argmax(buf): index of the largest value (the first on ties).
static mp_obj_t anne_argmax(mp_obj_t buf_obj) {
    anne_f32_buf_t buf = anne_get_f32(buf_obj, MP_QSTR_buf, false);
    if (buf.len == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("argmax of an empty buffer"));
    }
    size_t index = 0;
    anne_check_status(anne_argmax_f32(buf.data, buf.len, &index));
    return MP_OBJ_NEW_SMALL_INT(index);
}
static MP_DEFINE_CONST_FUN_OBJ_1(anne_argmax_obj, anne_argmax);

#if ANNE_TRAIN
// ---------------------------------------------------------------------------
// Training kernels (anne_train uses them when the network runs natively).
// The glue checks the sizes it can name in its messages; the kernels check
// everything again (alignment, overlap).

static void anne_check_len(anne_f32_buf_t b, size_t want, qstr arg) {
    if (b.len != want) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q has %u floats, expected %u"), arg, (unsigned)b.len, (unsigned)want);
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
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%s needs an even number of values, got %u"),
            anne_names[act->kind].name, (unsigned)z.len);
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
static MP_DEFINE_CONST_FUN_OBJ_KW(anne_activation_backward_obj, 0, anne_activation_backward);

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
        mp_raise_ValueError(MP_ERROR_TEXT("x and dz must not be empty"));
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
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_dense_backward_obj, 7, 7, anne_dense_backward);

// anne.layer_backward(layer, x, dy, scale, gk, gb, dx): the backward pass
// of one Conv1D, pooling or affine layer, given as forward() takes it
// ((kernel, bias, activation, buf, spec)), for one sample that read x:
// Conv1D: gk += scale * dL/dkernel, gb += scale * dL/dbias (each may be
// None), dx = dL/dx (may be None), from dy at its pre-activations;
// pooling, affine: dx = dL/dx from dy at the outputs (gk, gb None).
static mp_obj_t anne_layer_backward(size_t n_args, const mp_obj_t *args) {
    float scale = mp_obj_get_float_to_f(args[3]);
    anne_layer_t d = {0};
    mp_obj_t *fields = anne_layer_describe(&d, args[0], 0);
    if (d.kind == ANNE_LAYER_DENSE) {
        mp_raise_ValueError(MP_ERROR_TEXT("layer_backward takes Conv1D, pooling, affine: use dense_backward"));
    }
    anne_gather_weights(&d, fields);
    anne_f32_buf_t x = anne_get_f32(args[1], MP_QSTR_x, false);
    anne_f32_buf_t dy = anne_get_f32(args[2], MP_QSTR_dy, false);
    anne_f32_buf_t gk = anne_get_optional(args[4], MP_QSTR_gk);
    anne_f32_buf_t gb = anne_get_optional(args[5], MP_QSTR_gb);
    anne_f32_buf_t dx = anne_get_optional(args[6], MP_QSTR_dx);
    if (d.kind == ANNE_LAYER_CONV1D) {
        size_t rows = (size_t)d.params[0] * d.params[1];
        if (gk.data != NULL) {
            anne_check_len(gk, d.kernel_len, MP_QSTR_gk);
        }
        if (gb.data != NULL && rows != 0) {
            anne_check_len(gb, d.kernel_len / rows, MP_QSTR_gb);
        }
    } else {
        if (gk.data != NULL || gb.data != NULL) {
            mp_raise_ValueError(MP_ERROR_TEXT("gk and gb must be None: this layer has no weights to train"));
        }
        if (dx.data == NULL) {
            mp_raise_ValueError(MP_ERROR_TEXT("dx must be a float32 buffer: the gradient is all this layer gives"));
        }
    }
    if (dx.data != NULL) {
        anne_check_len(dx, x.len, MP_QSTR_dx);
    }
    d.out_len = dy.len;
    int32_t status = anne_layer_backward_f32(x.data, x.len, &d, dy.data, dy.len, scale, gk.data, gb.data, dx.data);
    if (status == ANNE_ERR_OUT_SIZE) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("dy has %u floats, not this layer's outputs for %u inputs"),
            (unsigned)dy.len, (unsigned)x.len);
    }
    if (status != ANNE_OK && status != ANNE_ERR_OVERLAP) {
        anne_raise_other_layer(status, 0, x.len, &d);
    }
    anne_check_train(status);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_layer_backward_obj, 7, 7, anne_layer_backward);

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
        mp_raise_ValueError(MP_ERROR_TEXT("m is None but momentum is not 0"));
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
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_sgd_obj, 6, 6, anne_sgd);

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
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_adam_obj, 8, 8, anne_adam);


// ---------------------------------------------------------------------------
// anne.fit_workspace / anne.fit_epoch: Keras's fit() inner loop in one call
// (anne_fit_epoch_f32). A training layer is a tuple (kernel, bias,
// activation, trainable, m_kernel, v_kernel, m_bias, v_bias[, spec]): bias
// and the optimizer slots None where unused; activation an anne.Activation;
// spec as anne_layer_describe's (without one, or None, the layer is dense;
// a pooling's kernel is None).

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
        mp_raise_ValueError(MP_ERROR_TEXT("layers is empty"));
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
        if ((n_fields != 8 && n_fields != 9) || !mp_obj_is_type(f[2], &anne_activation_type)) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("layer %d: (kernel, bias, Activation, trainable, 4 slots[, spec])"), (int)i);
        }
        d[i].kind = ANNE_LAYER_DENSE;
        memset(d[i].params, 0, sizeof(d[i].params));
        if (n_fields == 9 && f[8] != mp_const_none) {
            anne_get_spec(f[8], i, &d[i].kind, d[i].params);
        }
        d[i].act = ((anne_activation_obj_t *)MP_OBJ_TO_PTR(f[2]))->act;
        d[i].trainable = mp_obj_is_true(f[3]);
    }
    for (size_t i = 0; i < *n_layers; i++) {
        mp_obj_t *f = ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(layers[i]))->items;
        bool pooling = d[i].kind != ANNE_LAYER_DENSE && d[i].kind != ANNE_LAYER_CONV1D
            && d[i].kind != ANNE_LAYER_AFFINE;
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
static MP_DEFINE_CONST_FUN_OBJ_3(anne_fit_workspace_obj, anne_fit_workspace_fn);

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
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(anne_fit_epoch_obj, 8, 8, anne_fit_epoch_fn);
#endif // ANNE_TRAIN

// The module's functions, anne.NAME for each anne_NAME_obj, in the
// firmware's ROM table (below). (The native module's mpy_init names them
// again: mpy_ld finds a native module's qstrs by reading MP_QSTR_ names in
// its source, so they cannot be pasted together there; tests/host's
// test_natmod checks that both modules hold the same names.)
#if ANNE_TRAIN
#define ANNE_TRAIN_FUNCTIONS(X) X(activation_backward) X(dense_backward) X(layer_backward) \
    X(sgd) X(adam) X(fit_workspace) X(fit_epoch)
#else
#define ANNE_TRAIN_FUNCTIONS(X)
#endif
#define ANNE_MODULE_FUNCTIONS(X) X(dense) X(activate) X(forward) X(argmax) ANNE_TRAIN_FUNCTIONS(X)

#ifndef ANNE_NATMOD  // (natmod/anne_natmod.c has the native module's mpy_init)
// anne.__version__: the project's version (anne_net.__version__ too).
static MP_DEFINE_STR_OBJ(anne_version_obj, ANNE_VERSION);

#define ANNE_ROM_ENTRY(name) { MP_ROM_QSTR(MP_QSTR_##name), MP_ROM_PTR(&anne_##name##_obj) },
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
