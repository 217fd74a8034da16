// anne as a native .mpy module, for stock firmware (no reflash): the same
// glue as the built-in module (../modanne.c and ../mod_*.c, included below
// as one translation unit) and the same Rust kernels, linked into anne.mpy
// by c_glue/natmod/Makefile.
//
// A native module reaches the firmware only through py/dynruntime.h (the
// mp_fun_table). This file supplies what the glue uses beyond that header,
// then registers the module's globals in mpy_init. Its writable statics are
// in .bss (the types and two type pointers, filled in when the module
// loads); the Rust kernels have none.

#include "py/dynruntime.h"
#include "py/objarray.h"

#define ANNE_NATMOD 1

// The C library: a native module links none, so these go through the
// firmware's own, or are here (LLVM and GCC emit calls to them; the glue
// calls strlen).
void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

void *memmove(void *dest, const void *src, size_t n) {
    return mp_fun_table.memmove_(dest, src, n);
}

void *memcpy(void *dest, const void *src, size_t n) {
    return mp_fun_table.memmove_(dest, src, n);
}

size_t strlen(const char *s) {
    const char *end = s;
    while (*end != '\0') {
        end++;
    }
    return end - s;
}

// Types the mp_fun_table does not carry, looked up when the module loads.
// (mpy_ld reaches .bss only through the GOT: these are not static.)
const mp_obj_type_t *anne_array_type;
const mp_obj_type_t *anne_float_type;
const mp_obj_type_t *anne_tuple_type;
const mp_obj_type_t *anne_memoryview_type;
#define mp_type_array (*anne_array_type)
#define mp_type_memoryview (*anne_memoryview_type)
#define mp_type_float (*anne_float_type)
// (dynruntime.h's mp_type_tuple makes an empty tuple to read its type.)
#undef mp_type_tuple
#define mp_type_tuple (*anne_tuple_type)

// mp_obj_is_type's debug checks that the type is not bool, int, str or
// NoneType are run-time calls in a native module (mp_type_int is a lookup
// in the globals, then the builtins): 5 calls and about 150 instructions
// per check, 3 checks per layer of a plan call. The glue's checks name
// none of those types: the exact test alone.
#undef mp_obj_is_type
#define mp_obj_is_type(o, t) mp_obj_is_exact_type((o), (t))

// The module's own types, filled in by mpy_init.
mp_obj_full_type_t anne_activation_type_full;
mp_obj_full_type_t anne_plan_type_full;
#define anne_activation_type (*(const mp_obj_type_t *)&anne_activation_type_full)
#define anne_plan_type (*(const mp_obj_type_t *)&anne_plan_type_full)

// Exceptions: the fun table's raise_msg does not return either.
static NORETURN void anne_raise_msg(const mp_obj_type_t *type, const char *msg) {
    mp_fun_table.raise_msg(type, msg);
    for (;;) {
    }
}
#undef mp_raise_msg
#define mp_raise_msg(type, msg) anne_raise_msg((type), (msg))

// mp_raise_msg_varg: the message formatted by the firmware's mp_vprintf
// (%q, %s, %.*s, %d, %u, %c as in the built-in module) into a buffer.
typedef struct {
    size_t len;
    char text[384];
} anne_message_t;

static void anne_message_strn(void *data, const char *str, size_t len) {
    anne_message_t *m = data;
    while (len-- > 0 && m->len < sizeof(m->text)) {
        m->text[m->len++] = *str++;
    }
}

static NORETURN void anne_raise_msg_varg(const mp_obj_type_t *type, const char *fmt, ...) {
    anne_message_t m;
    m.len = 0;
    mp_print_t print = {&m, anne_message_strn};
    va_list args;
    va_start(args, fmt);
    mp_vprintf(&print, fmt, args);
    va_end(args);
    nlr_raise(mp_obj_new_exception_arg1(type, mp_obj_new_str(m.text, m.len)));
}
#define mp_raise_msg_varg anne_raise_msg_varg

// Activation's repr prints its float parameters with repr().
static void anne_print_repr(const mp_print_t *print, mp_obj_t obj) {
    mp_obj_t text = mp_call_function_n_kw(mp_load_global(MP_QSTR_repr), 1, 0, &obj);
    size_t len;
    const char *s = mp_obj_str_get_data(text, &len);
    mp_printf(print, "%.*s", (int)len, s);
}
#define mp_obj_print_helper(print, obj, kind) anne_print_repr((print), (obj))

static void *anne_malloc0(size_t n) {
    return memset(m_malloc(n), 0, n);
}
#define m_malloc0(n) anne_malloc0(n)

// Activation(name, **params) reads its keyword arguments as a map.
static void anne_map_init_fixed_table(mp_map_t *map, size_t n, const mp_obj_t *table) {
    map->alloc = n;
    map->used = n;
    map->all_keys_are_qstrs = 1;
    map->is_fixed = 1;
    map->is_ordered = 1;
    map->table = (mp_map_elem_t *)table;
}
#define mp_map_init_fixed_table anne_map_init_fixed_table

#include "../modanne.c"
#include "../mod_kernels.c"
#include "../mod_plan.c"
#include "../mod_train.c"

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_obj_t array = mp_import_name(MP_QSTR_array, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    anne_array_type = MP_OBJ_TO_PTR(mp_load_attr(array, MP_QSTR_array));
    anne_float_type = MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_float));
    anne_tuple_type = mp_obj_get_type(mp_fun_table.new_tuple(0, NULL));
    anne_memoryview_type = MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_memoryview));

    anne_activation_type_full.base.type = &mp_type_type;
    anne_activation_type_full.flags = MP_TYPE_FLAG_NONE;
    anne_activation_type_full.name = MP_QSTR_Activation;
    MP_OBJ_TYPE_SET_SLOT(&anne_activation_type_full, make_new, anne_activation_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&anne_activation_type_full, print, anne_activation_print, 1);
    MP_OBJ_TYPE_SET_SLOT(&anne_activation_type_full, attr, anne_activation_attr, 2);

    anne_plan_type_full.base.type = &mp_type_type;
    anne_plan_type_full.flags = MP_TYPE_FLAG_NONE;
    anne_plan_type_full.name = MP_QSTR_Plan;
    MP_OBJ_TYPE_SET_SLOT(&anne_plan_type_full, make_new, anne_plan_make_new, 0);
    MP_OBJ_TYPE_SET_SLOT(&anne_plan_type_full, call, anne_plan_call, 1);

    // anne.ACTIVATIONS: every name, ids first, then the aliases.
    mp_obj_t names[MP_ARRAY_SIZE(anne_names)];
    for (size_t i = 0; i < MP_ARRAY_SIZE(anne_names); i++) {
        names[i] = mp_obj_new_str(anne_names[i].name, strlen(anne_names[i].name));
    }

    mp_store_global(MP_QSTR___version__, mp_obj_new_str(ANNE_VERSION, sizeof(ANNE_VERSION) - 1));
    // The functions, from anne_functions.h's list (their MP_QSTR_ names are
    // written out for mpy_ld by the Makefile: anne_functions.qstr).
    #define ANNE_STORE_FUNCTION(name, kind) mp_store_global(MP_QSTR_##name, MP_OBJ_FROM_PTR(&anne_##name##_obj));
    ANNE_MODULE_FUNCTIONS(ANNE_STORE_FUNCTION)
    mp_store_global(MP_QSTR_Activation, MP_OBJ_FROM_PTR(&anne_activation_type));
    mp_store_global(MP_QSTR_Plan, MP_OBJ_FROM_PTR(&anne_plan_type));
    mp_store_global(MP_QSTR_ACTIVATIONS, mp_obj_new_tuple(MP_ARRAY_SIZE(names), names));

    MP_DYNRUNTIME_INIT_EXIT
}
