// What the glue's files (modanne.c, mod_kernels.c, mod_plan.c, mod_train.c)
// share: the MicroPython headers, the buffer and status helpers, and the
// module's objects. Internal to the glue; the kernels' C ABI is anne.h.
//
// Built into firmware, or included by natmod/anne_natmod.c for the native
// .mpy module, which reaches the firmware only through py/dynruntime.h: that
// file supplies what the glue uses beyond it, then includes every glue file
// (one translation unit), so a helper that one file shares with another is
// static there and extern in firmware (ANNE_GLUE_SHARED).
#ifndef ANNE_GLUE_H
#define ANNE_GLUE_H

#include <math.h>
#include <string.h>

#ifndef ANNE_NATMOD
#include "py/binary.h"
#include "py/obj.h"
#include "py/objarray.h"
#include "py/objlist.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#define ANNE_GLUE_SHARED
#define ANNE_GLUE_SHARED_DECL extern
#else
#define ANNE_GLUE_SHARED static
#define ANNE_GLUE_SHARED_DECL static
#endif

#include "anne.h"
#include "anne_functions.h"
#include "anne_msgs.h"

// Activation names (modanne.c): every name, ids first (index == id), then
// the aliases.
typedef struct {
    const char *name;
    uint8_t kind;
    uint8_t params;  // ANNE_P_* bits
    uint8_t halves;  // n inputs give n / 2 outputs (glu)
} anne_name_entry_t;
ANNE_GLUE_SHARED_DECL const anne_name_entry_t anne_names[ANNE_ACT_COUNT + ANNE_ALIAS_COUNT];

// An object's type name, for a message's %q.
#define ANNE_TYPE_NAME(obj) ((qstr)mp_obj_get_type(obj)->name)

// ---------------------------------------------------------------------------
// Buffers (modanne.c)

typedef struct {
    float *data;
    size_t len;  // in floats
} anne_f32_buf_t;

ANNE_GLUE_SHARED anne_f32_buf_t anne_get_f32_any(mp_obj_t obj, qstr arg, bool writable);

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

// Buffers of any dtype: len in values.
typedef struct {
    void *data;
    size_t len;
} anne_buf_t;

ANNE_GLUE_SHARED anne_buf_t anne_get_s8(mp_obj_t obj, qstr arg, bool writable, bool raw_ok);
ANNE_GLUE_SHARED anne_buf_t anne_get_i32(mp_obj_t obj, qstr arg);

// A bias argument: {NULL, 0} for None, else never NULL data.
static MP_ALWAYSINLINE inline anne_f32_buf_t anne_get_bias(mp_obj_t obj) {
    // Where an empty bias points: never NULL (which means "no bias"), so that it
    // is a bias of 0 floats, refused for its size. Nothing reads through it.
    // (Other empty buffers may have NULL data: the kernels refuse them with
    // ANNE_ERR_NULL, which anne_raise_layer reads as the size error it is.)
    static const float anne_no_floats[1];
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
static inline void anne_check_stack(void) {
    #if MICROPY_STACK_CHECK && !defined(ANNE_NATMOD)
    if (mp_stack_usage() + ANNE_KERNEL_STACK >= MP_STATE_THREAD(stack_limit)) {
        mp_raise_recursion_depth();
    }
    #endif
}

ANNE_GLUE_SHARED void anne_check_status(int32_t status);

// The value of keyword argument name, or MP_OBJ_NULL (modanne.c).
ANNE_GLUE_SHARED mp_obj_t anne_kw_get(mp_map_t *kw, const char *name);

// An Activation object as it is, or one parsed from a name and kw (modanne.c).
ANNE_GLUE_SHARED const anne_activation_t *anne_get_activation(mp_obj_t name_or_obj, mp_map_t *kw,
    anne_activation_t *scratch);

// An anne.Activation (modanne.c).
typedef struct {
    mp_obj_base_t base;
    const char *name;  // as given: a name or an alias
    anne_activation_t act;
} anne_activation_obj_t;

// The layers of forward() and Plan (mod_plan.c), which the training
// functions read too.
ANNE_GLUE_SHARED void anne_get_spec(mp_obj_t spec_obj, size_t i, uint32_t *kind, uint32_t *params,
    size_t n_params);
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
// anne_gather_weights for an int8 layer (mod_plan.c): its kernel, bias and
// quant's scale words (q is the record d->quant points to;
// i the layer's index, for messages).
ANNE_GLUE_SHARED void anne_gather_s8(anne_layer_t *d, const mp_obj_t *fields, anne_quant_t *q, size_t i);
// Fills d's kind, dtype, params and activation (an int8 layer's quant
// values into *q, which d->quant then points to; q NULL refuses int8 layers).
ANNE_GLUE_SHARED mp_obj_t *anne_layer_describe(anne_layer_t *d, mp_obj_t layer, size_t i, anne_quant_t *q);
ANNE_GLUE_SHARED NORETURN void anne_raise_layer(int32_t status, size_t i, size_t n_layers, size_t n_in,
    const anne_layer_t *d);
ANNE_GLUE_SHARED void anne_raise_other_layer(int32_t status, size_t i, size_t n_in, const anne_layer_t *d);

// The module's types and function objects (anne_NAME_obj for anne.NAME).
#ifndef ANNE_NATMOD  // (the native module fills in its types when it loads)
extern const mp_obj_type_t anne_activation_type;
extern const mp_obj_type_t anne_plan_type;
#define ANNE_DECLARE_FUNCTION(name, kind) MP_DECLARE_CONST_FUN_OBJ_##kind(anne_##name##_obj);
ANNE_MODULE_FUNCTIONS(ANNE_DECLARE_FUNCTION)
#endif

#endif // ANNE_GLUE_H
