/*
 * anne.h: the C ABI of the anne kernels (the one contract between the Rust
 * library in src/ and the MicroPython glue in c_glue/modanne.c).
 *
 * Freestanding: only <stdint.h> and <stddef.h>. Rust's build.rs runs bindgen
 * on this file, so the Rust side uses exactly these ids, codes and layouts.
 *
 * All float32 and int32 buffers are in the CPU's native byte order and
 * 4-byte aligned (a misaligned one is refused with ANNE_ERR_ALIGN: a
 * Cortex-M0 would fault); int8 buffers need no alignment. Lengths count
 * values of the buffer's type, not bytes.
 * Kernels never allocate, never panic, never read or write outside the
 * lengths given, and write nothing unless they return ANNE_OK; they return
 * one of the status codes below instead.
 */
#ifndef ANNE_H
#define ANNE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every kernel: exactly what was refused. The
 * layer kernels check in this order: layer kind and dtype, activation kind,
 * pointers, alignment, sizes (x, kernel, out, bias), overlap, then the
 * activation's parameters. */
#define ANNE_OK 0
#define ANNE_ERR_NULL 1         /* a required pointer was NULL */
#define ANNE_ERR_SIZE 2         /* a length is wrong: n == 0 for argmax, odd n for
                                 * glu, n_layers == 0, or a byte size past SIZE_MAX */
#define ANNE_ERR_ACTIVATION 3   /* unknown activation kind, or glu on conv1d */
#define ANNE_ERR_PARAM 4        /* an activation parameter is out of range */
#define ANNE_ERR_ALIGN 5        /* a buffer is not 4-byte aligned */
#define ANNE_ERR_OVERLAP 6      /* out shares memory with an input or the weights */
#define ANNE_ERR_X_SIZE 7       /* the layer's input is empty, not a whole number of
                                 * steps of its channels, or shorter than a valid
                                 * window */
#define ANNE_ERR_KERNEL_SIZE 8  /* kernel_len is 0, not a multiple of n_in, or (glu)
                                 * has an odd number of units */
#define ANNE_ERR_OUT_SIZE 9     /* out_len is not the layer's outputs (units, or
                                 * units / 2 for glu; units = kernel_len / n_in) */
#define ANNE_ERR_BIAS_SIZE 10   /* bias_len is not units */
#define ANNE_ERR_KIND 11        /* unknown layer kind or dtype */
#define ANNE_ERR_LAYER_PARAM 12 /* a layer kind's parameter is out of range (channels,
                                 * kernel or pool size, strides, dilation, padding) */
#define ANNE_ERR_LABEL 13       /* a class index is not a whole number below the outputs */
#define ANNE_ERR_LOSS_NOT_FINITE 14 /* a batch's loss is NaN or +-inf (anne_fit_epoch_f32) */
#define ANNE_ERR_STEP_NOT_FINITE 15 /* a step would make a weight NaN or +-inf; none changed */

/* Layer dtypes (anne_layer_t.dtype): float32, and TFLite's int8 scheme
 * (docs/int8.md): int8 inputs, outputs and weights, int32 bias. */
#define ANNE_DTYPE_F32 0
#define ANNE_DTYPE_S8 1

/* The op tables (activation ids, names, parameter bits and rules, layer
 * kinds), generated from ops/ops.json by tools/gen_ops.py. */
#include "anne_ops.h"

#define ANNE_ACT_ENUM_ENTRY(id, name, params, halves) ANNE_ACT_##id,
typedef enum anne_activation_kind {
    ANNE_ACTIVATION_LIST(ANNE_ACT_ENUM_ENTRY)
    ANNE_ACT_COUNT
} anne_activation_kind_t;
#undef ANNE_ACT_ENUM_ENTRY

/*
 * An activation and its parameters, named as in Keras. Fields an activation
 * does not use are ignored. anne_activation_default() fills Keras's defaults.
 *   negative_slope  leaky_relu (0.2), relu (0.0)
 *   alpha           elu (1.0), celu (1.0)
 *   threshold       relu (0.0), hard_shrink (0.5), soft_shrink (0.5),
 *                   threshold (no default in Keras: required)
 *   max_value       relu: clip at this value when has_max_value != 0
 *   default_value   threshold (required)
 *   b               squareplus (4.0), must be >= 0
 *   approximate     gelu: 0 = exact (erf, Keras default), 1 = tanh form
 */
typedef struct anne_activation {
    uint32_t kind;          /* an anne_activation_kind_t */
    float negative_slope;
    float alpha;
    float threshold;
    float max_value;
    float default_value;
    float b;
    uint8_t has_max_value;
    uint8_t approximate;
    uint8_t reserved[2];
} anne_activation_t;

/* Fills *act with kind and Keras's default parameters. Returns
 * ANNE_ERR_ACTIVATION for an unknown kind, ANNE_ERR_NULL for act == NULL. */
int32_t anne_activation_default(uint32_t kind, anne_activation_t *act);

/* Number of outputs an activation produces from n inputs: n, except glu (n/2,
 * n must be even). On odd n with glu it returns ANNE_ERR_SIZE and sets
 * *n_out to 0. */
int32_t anne_activation_outputs(uint32_t kind, size_t n, size_t *n_out);

/*
 * Applies act in place to buf[0..n). glu writes its n/2 results to
 * buf[0..n/2) (buf[n/2..n) is left undefined). Vector activations (softmax,
 * log_softmax, sparsemax, glu) work over the whole buffer (Keras axis=-1).
 */
int32_t anne_activate_f32(float *buf, size_t n, const anne_activation_t *act);

/*
 * anne_act_table_s8 (issue 29: the board's quantizer): the 256-entry int8
 * table LiteRT's Prepare builds for an element-wise activation (LUTPopulate,
 * in float32 with glibc's expf, tanhf, expm1f, erfcf): kind ANNE_ACT_SIGMOID,
 * _TANH, _ELU (alpha 1), _GELU (approximate != 0: its tanh form) or
 * _EXPONENTIAL, from the input's and the output's scale and zero point;
 * table[q & 0xFF] for q in -128..127. Another kind is ANNE_ERR_ACTIVATION, a
 * NULL table ANNE_ERR_NULL, n other than 256 ANNE_ERR_SIZE; a scale not > 0
 * and finite, a zero point outside -128..127, or sigmoid's output scale other
 * than 1/256 ANNE_ERR_PARAM (nothing written then).
 */
int32_t anne_act_table_s8(uint32_t kind, uint32_t approximate, float in_scale, int32_t in_zp,
    float out_scale, int32_t out_zp, int8_t *table, size_t n);

/*
 * Dense layer, Keras semantics: out = act(x . kernel + bias).
 *   x       n_in values
 *   kernel  Keras layout: n_in rows x units columns, row-major
 *           (kernel[i * units + j] connects input i to unit j);
 *           kernel_len must equal n_in * units
 *   bias    units values, or NULL (use_bias=False); bias_len ignored if NULL
 *   out     n_out values: n_out == units, or units / 2 for glu
 * out must not overlap x, kernel or bias (ANNE_ERR_OVERLAP if it does).
 * n_in == 0 is ANNE_ERR_X_SIZE; the other sizes as listed with the codes.
 */
int32_t anne_dense_f32(const float *x, size_t n_in,
                       const float *kernel, size_t kernel_len,
                       const float *bias, size_t bias_len,
                       float *out, size_t n_out,
                       const anne_activation_t *act);

/*
 * The requantization of an int8 (ANNE_DTYPE_S8) layer, in TFLite's terms:
 * LiteRT's reference FULLY_CONNECTED, which requantizes in double-precision
 * float, round((double)acc * scale[j]) (half away from zero), computed
 * exactly with integers (no FPU needed).
 *   input_offset   -(input zero point), -127..128
 *   output_offset  the output zero point, -128..127
 *   act_min, act_max  the fused activation's clamp in output steps,
 *                  -128 <= act_min <= act_max <= 127
 *   scale          count double-precision scales, (double)input_scale *
 *                  (double)filter_scale[j] / (double)output_scale, as
 *                  their IEEE 754 bits, two uint32 each, the low word
 *                  first (on a little-endian board: the doubles as a file
 *                  stores them); 4-byte aligned; none NaN or infinite
 *   count          1 (per tensor) or units (per output channel)
 *   post, post_len what the layer's act (its kind only) applies after the
 *                  clamp, in place over the layer's units outputs:
 *                  linear: nothing (post not read); softmax: LiteRT's
 *                  reference int8 SOFTMAX (output scale 1/256, zero point
 *                  -128), post 3 int32 (input_multiplier >= 0,
 *                  input_left_shift 0..31, diff_min <= 0); any other
 *                  element-wise kind: post a 256-entry int8 table,
 *                  out[j] = table[(uint8_t)out[j]] (TFLite's LUT order);
 *                  a vector kind other than softmax: ANNE_ERR_ACTIVATION
 * A value out of range (a post_len too) is ANNE_ERR_PARAM.
 */
typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    const uint32_t *scale;
    size_t count;
    const void *post;
    size_t post_len;       /* in values: 3 int32 for softmax, 256 int8 */
} anne_quant_t;

/*
 * One layer of a chain run by anne_forward, tagged with its kind and dtype
 * so that one chain can hold layers of different kinds. Inputs and outputs
 * of Conv1D and pooling are steps x channels values, row-major
 * (x[t * channels + c]), of the 2-D kinds height x width x channels
 * (x[(y * width + x) * channels + c]); padding codes are 0 = valid, 1 =
 * same, 2 = causal (Keras's rules: see src/layers/window.rs). Each kind
 * computes its Keras class (the layer registry, ops/ops.json); its params
 * and its float32 weights' layouts are listed in anne_ops.h (generated from
 * the registry): the input's dims (channels; an image's height, width,
 * channels), then its parameter slots in the registry's one order, from
 * ANNE_<KIND>_AT (the file's order too). A layer with an activation applies
 * it per output (the vector ones over each position's units: a step's, a
 * pixel's; glu is ANNE_ERR_ACTIVATION but for dense); DepthwiseConv2D's
 * output channel c * depth_multiplier + m reads input channel c; affine
 * (Keras's Normalization, Rescaling, BatchNormalization at inference) is
 * out = x * kernel[c] + bias[c] per channel c of the last axis, its act not
 * read; pooling with same padding averages over the positions in range.
 * kernel, bias and out are read by dtype: ANNE_DTYPE_F32 float ones;
 * ANNE_DTYPE_S8 (the kinds that have int8 kernels: docs/int8.md) an int8
 * kernel, an int32 bias and an int8 out, as LiteRT's reference kernels
 * read them; for instance:
 *   ANNE_LAYER_DENSE   int8: kernel in TFLite's layout, units rows of n_in
 *                      (kernel[j * n_in + i] connects input i to unit j),
 *                      bias units int32 values or NULL, quant its
 *                      requantization (not NULL); act's kind says what
 *                      quant's post is (the clamp is quant's).
 *   ANNE_LAYER_CONV1D  int8 (LiteRT's CONV_2D of height 1):
 *                      kernel in TFLite's layout, filters rows of
 *                      kernel_size x in_channels; bias filters int32 values
 *                      or NULL; quant's scale holds count int32 Q31
 *                      multipliers, then count int32 shifts (-31..31),
 *                      count 1 or filters, requantized with gemmlowp's
 *                      double rounding; act linear (else
 *                      ANNE_ERR_ACTIVATION), post not read.
 *   int8 1-D poolings (LiteRT's MAX/AVERAGE_POOL_2D of height 1, REDUCE_MAX
 *                      and MEAN over the steps): quant not NULL, act
 *                      linear; the output keeps the input's zero point
 *                      (output_offset == -input_offset) and the poolings
 *                      clamp to act_min..act_max; MEAN (GLOBAL_AVERAGE)
 *                      requantizes: its own output_offset, scale 2 int32
 *                      words (the Q31 multiplier and shift of input_scale /
 *                      output_scale), count 1, clamp -128..127 (as
 *                      REDUCE_MAX's).
 * Pooling layers read no kernel, bias or act. A parameter out of range is
 * ANNE_ERR_LAYER_PARAM; an input that is not whole steps, or shorter than a
 * valid window, ANNE_ERR_X_SIZE; a kind that has no kernel for the dtype,
 * ANNE_ERR_KIND. quant is NULL for float32 layers (not read). (Flatten and
 * Reshape move nothing: the caller leaves them out of the chain.)
 */
/* The kind parameters an anne_layer_t holds (a Conv2D takes 10, a
 * DepthwiseConv2D 11). */
#define ANNE_LAYER_PARAMS 12

typedef struct {
    uint32_t kind;         /* ANNE_LAYER_* */
    uint32_t dtype;        /* ANNE_DTYPE_* */
    const void *kernel;    /* kernel_len values of the dtype (above) */
    size_t kernel_len;
    const void *bias;      /* units values (float32; int32 for int8), or NULL;
                            * bias_len ignored if NULL */
    size_t bias_len;
    void *out;             /* out_len values: units, or units / 2 for glu */
    size_t out_len;
    anne_activation_t act;
    uint32_t params[ANNE_LAYER_PARAMS]; /* kind-specific (above); zero for dense
                            * and past a kind's last */
    const anne_quant_t *quant; /* ANNE_DTYPE_S8: the requantization */
} anne_layer_t;

/*
 * A chain of layers in one call, for every dtype: layer 0 reads x (n_in
 * values of the first layer's dtype), layer i > 0 reads layer i - 1's out;
 * every layer has the first one's dtype (else ANNE_ERR_KIND). Each dense
 * layer must satisfy anne_dense_f32's rules with that input (an int8 one
 * the rules above), each other layer its kind's (above), its out
 * overlapping neither its input, nor its kernel, nor its bias. Each layer
 * is checked, then run: on an error *failed (unless failed is NULL) is set
 * to the index of the layer at fault and the status says what it got
 * wrong; that layer and the later ones write nothing (the earlier ones have
 * written their outputs, so the last layer's out is untouched).
 * n_layers == 0 is ANNE_ERR_SIZE.
 */
int32_t anne_forward(const void *x, size_t n_in,
                     const anne_layer_t *layers, size_t n_layers,
                     size_t *failed);

/* Index of the largest value (the first on ties; NaN never wins unless all
 * values are NaN, then 0). n == 0 is ANNE_ERR_SIZE. */
int32_t anne_argmax_f32(const float *buf, size_t n, size_t *index);

/* A graph's merge layer (kind ANNE_LAYER_ADD .. ANNE_LAYER_CONCATENATE,
 * else ANNE_ERR_KIND) of the n_xs inputs xs[i] (lens[i] floats each) into
 * out: Add, Subtract, Multiply, Average, Maximum, Minimum element-wise over
 * inputs of n_out floats each, in Keras's order (the first, then each next
 * in turn; Average divides the sum by n_xs); Concatenate on the last axis,
 * rows positions of lens[i] / rows channels each, side by side. n_xs 2..7
 * (Subtract: 2), else ANNE_ERR_SIZE; lengths that do not fit are
 * ANNE_ERR_OUT_SIZE; out overlapping an input ANNE_ERR_OVERLAP. */
int32_t anne_merge_f32(uint32_t kind, const float *const *xs, const size_t *lens, size_t n_xs,
                       float *out, size_t n_out, size_t rows);

/* anne_merge_s8: an int8 graph's merge (issue 29), as LiteRT's reference
 * integer kernels compute it: ANNE_LAYER_ADD, ANNE_LAYER_SUBTRACT (ADD with
 * input 2's multiplier negated) and ANNE_LAYER_MULTIPLY of two inputs (an
 * input shorter than out is read cyclically: a constant per-channel
 * operand), ANNE_LAYER_CONCATENATE of 2..7 inputs on the last axis (rows
 * as anne_merge_f32's). quant: n_quant int32, the output zero point,
 * act_min, act_max, each input's zero point, then the operation's words
 * (add, subtract: left shift 20, input 1's multiplier and shift, input
 * 2's, the output's; multiply: its multiplier and shift; concatenate:
 * none). A count or a value out of range is ANNE_ERR_PARAM; sizes as
 * anne_merge_f32's (a cyclic input's length must divide out's:
 * ANNE_ERR_X_SIZE). Nothing is written unless the call returns ANNE_OK. */
int32_t anne_merge_s8(uint32_t kind, const int8_t *const *xs, const size_t *lens, size_t n_xs,
                      int8_t *out, size_t n_out, size_t rows, const int32_t *quant, size_t n_quant);

/* Training. Every buffer is float32, 4-byte aligned; the ones written (dz,
 * gk, gb, dx, w, m, v) must not overlap any other argument
 * (ANNE_ERR_OVERLAP); a length that does not fit is ANNE_ERR_SIZE. Nothing
 * is written unless the call returns ANNE_OK. */

/* dz[0..n_z) = dy . J(z): the activation's backward pass from the forward
 * pass's z (n_z units) and y (n_y outputs: n_z, or n_z / 2 for glu); dy
 * has n_y values. */
int32_t anne_activation_backward_f32(const anne_activation_t *act,
                                     const float *z, size_t n_z,
                                     const float *y, size_t n_y,
                                     const float *dy, float *dz);

/* Dense backward for one sample (kernel and gk: n_in x units, Keras
 * layout): gk += scale * outer(x, dz); gb += scale * dz unless gb is NULL;
 * dx = kernel . dz unless dx is NULL (n_in values, not scaled). */
int32_t anne_dense_backward_f32(const float *x, size_t n_in,
                                const float *kernel, const float *dz, size_t units,
                                float scale, float *gk, float *gb, float *dx);

/* The backward pass of one Conv1D, Conv2D, DepthwiseConv2D, pooling (1-D
 * or 2-D), ZeroPadding2D, UpSampling1D or affine layer (float32,
 * described as for anne_forward; its out and act are not read) for one sample that
 * read x (n_in values), from dy (n_dy values: the gradient at the layer's
 * outputs; for a convolution at its pre-activations, the activation's backward
 * pass taken before, by anne_activation_backward_f32):
 *   convolutions: gk += scale * dL/dkernel (kernel_len values) unless gk is NULL,
 *           gb += scale * dL/dbias (one per output channel) unless gb is NULL,
 *           dx = dL/dx unless dx is NULL;
 *   pooling (TensorFlow's gradients: a window's first max, a global max's
 *           ties share, an average spreads evenly over the steps in range),
 *           ZeroPadding2D, UpSampling1D (dx sums each step's copies) and
 *           affine (dx = dy * scale): dx = dL/dx (not
 *           NULL; gk and gb NULL).
 * A dy that is not the layer's output size is ANNE_ERR_OUT_SIZE; a dx not
 * n_in long, ANNE_ERR_X_SIZE; the other refusals as anne_forward's. */
int32_t anne_layer_backward_f32(const float *x, size_t n_in, const anne_layer_t *layer,
                                const float *dy, size_t n_dy, float scale,
                                float *gk, float *gb, float *dx);

/* Keras 3's SGD step on w[0..n) with gradient g: m (n values) is the
 * momentum slot, needed (not NULL) when momentum != 0. *finite (unless
 * NULL) is set to 1 if every weight is finite after the step, else 0. */
int32_t anne_sgd_f32(float *w, const float *g, float *m, size_t n,
                     float learning_rate, float momentum, uint8_t nesterov,
                     uint8_t *finite);

/* Keras 3's Adam step; alpha = learning_rate * sqrt(1 - beta_2^t) /
 * (1 - beta_1^t) for step t; *finite as for anne_sgd_f32. */
int32_t anne_adam_f32(float *w, const float *g, float *m, float *v, size_t n,
                      float alpha, float beta_1, float beta_2, float epsilon,
                      uint8_t *finite);

/*
 * Keras's fit() inner loop in one call: one epoch over a chain of layers
 * (anne_train_layer_t; layer 0 reads x's rows of n_in values, layer i > 0
 * layer i - 1's outputs), batch_size rows per step (the last batch may be smaller), each
 * step the forward pass of its rows, the loss, the backward pass and the
 * optimizer's update of the trainable layers (Keras 3's SGD and Adam). With
 * train == 0 it only sums the loss and metrics (Keras's evaluate()).
 *   x       n_rows x n_in values (x_len a multiple of n_in)
 *   t       n_rows x n_out targets, or n_rows class indices (as floats) for
 *           ANNE_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
 *   order   the rows' order (order_len == n_rows indices below n_rows), or
 *           NULL: 0, 1, ... (order_len is then ignored)
 *   ws      the workspace, at least anne_fit_workspace()'s n_floats
 *   sums    1 + n_metrics values: the sums over the rows of the loss and of
 *           each metric (the caller divides by n_rows for Keras's means)
 *   *iterations  the optimizer's step count (Adam's t), counted up per step
 * Every buffer written (weights, slots, ws, sums) must overlap no other
 * buffer (ANNE_ERR_OVERLAP). Arguments that do not fit are refused before
 * anything is written (a layer's status with its index in *failed); a step
 * that cannot be taken stops the epoch with its batch index in *failed:
 * ANNE_ERR_LOSS_NOT_FINITE (that batch changed nothing) or
 * ANNE_ERR_STEP_NOT_FINITE (no weight is changed: they stay as they were before
 * it). Allocates nothing.
 */
#define ANNE_LOSS_MEAN_SQUARED_ERROR 0
#define ANNE_LOSS_MEAN_ABSOLUTE_ERROR 1
#define ANNE_LOSS_BINARY_CROSSENTROPY 2
#define ANNE_LOSS_CATEGORICAL_CROSSENTROPY 3
#define ANNE_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY 4

#define ANNE_METRIC_BINARY_ACCURACY 0
#define ANNE_METRIC_CATEGORICAL_ACCURACY 1
#define ANNE_METRIC_SPARSE_CATEGORICAL_ACCURACY 2
#define ANNE_METRIC_MEAN_SQUARED_ERROR 3
#define ANNE_METRIC_MEAN_ABSOLUTE_ERROR 4
#define ANNE_METRIC_MAX 8 /* at most this many metrics */

#define ANNE_TRAIN_LAYER_PARAMS 12
#define ANNE_TRAIN_INPUTS 7

#define ANNE_OPTIMIZER_SGD 0
#define ANNE_OPTIMIZER_ADAM 1

/* A layer to train: kind and params as in anne_layer_t (ANNE_LAYER_DENSE,
 * ANNE_LAYER_CONV1D, ANNE_LAYER_CONV2D, ANNE_LAYER_DEPTHWISE_CONV2D, a 1-D
 * or 2-D pooling, ANNE_LAYER_ZERO_PADDING2D, ANNE_LAYER_UP_SAMPLING1D or
 * ANNE_LAYER_AFFINE; the last
 * layer dense), its first ANNE_TRAIN_LAYER_PARAMS params.
 * kernel and bias (a dense's n_in x units and units values, a
 * convolution's as anne_layer_t says; bias may be NULL) written by the
 * update; a pooling, ZeroPadding2D or UpSampling1D has none (NULL), an affine layer its
 * scale and offset. Pooling, padding and affine layers are linear and
 * frozen. slots: the optimizer's state,
 * kernel_len values for slots[0] and [1], bias_len for [2] and [3] (SGD
 * with momentum uses [0] and [2], Adam all four; NULL where unused). */
typedef struct {
    uint32_t kind;         /* ANNE_LAYER_* */
    uint32_t params[ANNE_TRAIN_LAYER_PARAMS]; /* kind-specific; zero for dense */
    float *kernel;
    size_t kernel_len;
    float *bias;
    size_t bias_len;
    anne_activation_t act;
    uint32_t trainable;    /* 0: frozen (gradients pass through it) */
    float *slots[4];
    /* A graph's (issue 30): n_inputs 0 reads the layer before's outputs
     * (layer 0: x), as a chain; else inputs[0 .. n_inputs - 1], each 0 for
     * x or j + 1 for layer j's outputs (j below this layer's index). A
     * merge (kind ANNE_LAYER_ADD .. ANNE_LAYER_CONCATENATE, params[0] its
     * rows as anne_merge_f32's, no kernel or bias, frozen, an element-wise
     * activation) takes 2 or more. A graph trains sample by sample; at most
     * 16 layers; the gradient of a tensor several layers read is summed. */
    uint32_t n_inputs;
    uint32_t inputs[ANNE_TRAIN_INPUTS];
} anne_train_layer_t;

typedef struct {
    uint32_t loss;         /* ANNE_LOSS_* */
    uint32_t optimizer;    /* ANNE_OPTIMIZER_* */
    float learning_rate;
    float momentum;        /* SGD */
    float beta_1, beta_2, epsilon; /* Adam */
    uint8_t nesterov;      /* SGD */
    uint8_t train;         /* 0: evaluate only */
    uint8_t n_metrics;     /* at most ANNE_METRIC_MAX */
    uint8_t metrics[ANNE_METRIC_MAX]; /* ANNE_METRIC_* */
    uint32_t batch_size;
} anne_fit_t;

/* Floats of workspace anne_fit_epoch_f32 needs for these layers (the first
 * reading n_in values) and batch_size rows per step, in *n_floats (more
 * than 65,535 layers: ANNE_ERR_SIZE). */
int32_t anne_fit_workspace(const anne_train_layer_t *layers, size_t n_layers,
                           size_t n_in, size_t batch_size, size_t *n_floats,
                           size_t *failed);

int32_t anne_fit_epoch_f32(const anne_train_layer_t *layers, size_t n_layers,
                           const anne_fit_t *fit, const float *x, size_t x_len,
                           size_t n_in, const float *t, size_t t_len,
                           const uint32_t *order, size_t order_len,
                           float *ws, size_t ws_len,
                           float *sums, size_t n_sums, uint32_t *iterations,
                           size_t *failed);

#ifdef __cplusplus
}
#endif

#endif /* ANNE_H */
