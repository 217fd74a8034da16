// emlearn_bench: emlearn's eml_net (float32 MLP inference) as a MicroPython
// module, for benchmarks only (bench/run_bench.py). Minimal checks.
//
//   net = emlearn_bench.Net([(n_in, n_out, kernel, bias, act), ...])
//   net.predict_into(x, out)          # eml_net_regress: all layers, out = last
//   emlearn_bench.forward(x, kernel, bias, out, act)   # eml_net_forward, one layer
//
// kernel: array('f'), Keras layout (n_in rows x n_out columns), which is
// eml_net's layout too (weights[o + i * n_out]); bias: array('f') of n_out.
// act: IDENTITY, RELU, LOGISTIC, SOFTMAX, TANH (eml_net's activations).
//
//   emlearn_bench.spin(n)             # exactly 2 * n instructions (n >= 1)
//
// spin() is the benchmarks' yardstick: a loop of a known number of
// instructions, to calibrate the SysTick counter (instructions per tick) on
// boards without inline assembler (the nRF51 build of the qemu port).

#include "py/obj.h"
#include "py/runtime.h"

// emlearn's headers define unused static functions and tables; the firmware
// builds with -Wall -Werror.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wfloat-conversion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "eml_net.h"
#pragma GCC diagnostic pop

static float *eb_floats(mp_obj_t obj, size_t want, int flags) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, flags);
    if (info.typecode != 'f' || info.len != want * sizeof(float)) {
        mp_raise_ValueError(MP_ERROR_TEXT("expected array('f') of the right length"));
    }
    return (float *)info.buf;
}

static size_t eb_len(mp_obj_t obj) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_READ);
    return info.len / sizeof(float);
}

typedef struct {
    mp_obj_base_t base;
    EmlNet net;
    mp_obj_t keep;  // the layer list: keeps the weight arrays alive
} eb_net_obj_t;

static mp_obj_t eb_net_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    size_t n_layers;
    mp_obj_t *items;
    mp_obj_get_array(args[0], &n_layers, &items);
    if (n_layers < 2) {
        mp_raise_ValueError(MP_ERROR_TEXT("eml_net needs at least 2 layers"));
    }
    eb_net_obj_t *self = mp_obj_malloc(eb_net_obj_t, type);
    EmlNetLayer *layers = m_new(EmlNetLayer, n_layers);
    int32_t largest = 0;
    for (size_t l = 0; l < n_layers; l++) {
        mp_obj_t *t;
        mp_obj_get_array_fixed_n(items[l], 5, &t);
        int32_t n_in = mp_obj_get_int(t[0]);
        int32_t n_out = mp_obj_get_int(t[1]);
        layers[l].n_inputs = n_in;
        layers[l].n_outputs = n_out;
        layers[l].weights = eb_floats(t[2], (size_t)n_in * n_out, MP_BUFFER_READ);
        layers[l].biases = eb_floats(t[3], n_out, MP_BUFFER_READ);
        layers[l].activation = (EmlNetActivationFunction)mp_obj_get_int(t[4]);
        largest = MAX(largest, MAX(n_in, n_out));
    }
    self->net.n_layers = n_layers;
    self->net.layers = layers;
    self->net.activations1 = m_new(float, largest);
    self->net.activations2 = m_new(float, largest);
    self->net.activations_length = largest;
    self->keep = args[0];
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t eb_net_predict_into(mp_obj_t self_in, mp_obj_t x_in, mp_obj_t out_in) {
    eb_net_obj_t *self = MP_OBJ_TO_PTR(self_in);
    EmlNet *net = &self->net;
    const float *x = eb_floats(x_in, net->layers[0].n_inputs, MP_BUFFER_READ);
    int32_t n_out = net->layers[net->n_layers - 1].n_outputs;
    float *out = eb_floats(out_in, n_out, MP_BUFFER_WRITE);
    EmlError err = eml_net_regress(net, x, net->layers[0].n_inputs, out, n_out);
    if (err != EmlOk) {
        mp_raise_msg_varg(&mp_type_RuntimeError, MP_ERROR_TEXT("eml_net error %d"), (int)err);
    }
    return out_in;
}
static MP_DEFINE_CONST_FUN_OBJ_3(eb_net_predict_into_obj, eb_net_predict_into);

static const mp_rom_map_elem_t eb_net_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_predict_into), MP_ROM_PTR(&eb_net_predict_into_obj) },
};
static MP_DEFINE_CONST_DICT(eb_net_locals, eb_net_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    eb_net_type,
    MP_QSTR_Net,
    MP_TYPE_FLAG_NONE,
    make_new, eb_net_make_new,
    locals_dict, &eb_net_locals
    );

// forward(x, kernel, bias, out, act): one layer, eml_net_forward.
static mp_obj_t eb_forward(size_t n_args, const mp_obj_t *args) {
    size_t n_in = eb_len(args[0]);
    size_t n_out = eb_len(args[3]);
    const float *x = eb_floats(args[0], n_in, MP_BUFFER_READ);
    const float *w = eb_floats(args[1], n_in * n_out, MP_BUFFER_READ);
    const float *b = eb_floats(args[2], n_out, MP_BUFFER_READ);
    float *out = eb_floats(args[3], n_out, MP_BUFFER_WRITE);
    EmlError err = eml_net_forward(x, n_in, w, b, (EmlNetActivationFunction)mp_obj_get_int(args[4]), out, n_out);
    if (err != EmlOk) {
        mp_raise_msg_varg(&mp_type_RuntimeError, MP_ERROR_TEXT("eml_net error %d"), (int)err);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(eb_forward_obj, 5, 5, eb_forward);

// spin(n): `1: subs n, #1; bne 1b` (RISC-V: `addi n, n, -1; bnez n, 1b`): 2 * n
// instructions (Thumb-1, Thumb-2, RV32).
static mp_obj_t eb_spin(mp_obj_t n_in) {
    uint32_t n = mp_obj_get_int(n_in);
    if (n == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("n >= 1"));
    }
    // GCC writes Thumb-1 inline assembly in divided syntax, where `sub`
    // on a low register with an immediate is the flag-setting SUBS.
    #if defined(__riscv)
    __asm__ volatile (
        "1: addi %0, %0, -1\n"
        "   bnez %0, 1b\n"
        : "+r" (n));
    #else
    __asm__ volatile (
        #if defined(__thumb2__)
        "1: subs %0, %0, #1\n"
        #else
        "1: sub %0, #1\n"
        #endif
        "   bne 1b\n"
        : "+l" (n) : : "cc");
    #endif
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(eb_spin_obj, eb_spin);

static const mp_rom_map_elem_t eb_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_emlearn_bench) },
    { MP_ROM_QSTR(MP_QSTR_Net), MP_ROM_PTR(&eb_net_type) },
    { MP_ROM_QSTR(MP_QSTR_forward), MP_ROM_PTR(&eb_forward_obj) },
    { MP_ROM_QSTR(MP_QSTR_spin), MP_ROM_PTR(&eb_spin_obj) },
    { MP_ROM_QSTR(MP_QSTR_IDENTITY), MP_ROM_INT(EmlNetActivationIdentity) },
    { MP_ROM_QSTR(MP_QSTR_RELU), MP_ROM_INT(EmlNetActivationRelu) },
    { MP_ROM_QSTR(MP_QSTR_LOGISTIC), MP_ROM_INT(EmlNetActivationLogistic) },
    { MP_ROM_QSTR(MP_QSTR_SOFTMAX), MP_ROM_INT(EmlNetActivationSoftmax) },
    { MP_ROM_QSTR(MP_QSTR_TANH), MP_ROM_INT(EmlNetActivationTanh) },
};
static MP_DEFINE_CONST_DICT(eb_module_globals, eb_module_globals_table);

const mp_obj_module_t emlearn_bench_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&eb_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_emlearn_bench, emlearn_bench_user_cmodule);
