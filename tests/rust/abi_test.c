/*
 * abi_test.c: calls every anne kernel through c_glue/anne.h, as the
 * MicroPython glue will, to prove the header and the Rust library agree.
 *
 * anne_c_abi_selftest() returns 0 when every check passes, otherwise the
 * number of the first failing check. Linked only into the `c_abi` Rust
 * integration test (tests/rust/c_abi.rs); build.rs compiles it on hosted
 * targets.
 */
#include <stddef.h>

#include "anne.h"

int32_t anne_c_abi_selftest(void);

#define CHECK(cond) do { ++check; if (!(cond)) return check; } while (0)

static int near(float a, float b) {
    float d = a - b;
    if (d < 0) d = -d;
    return d <= 1e-6f + 1e-6f * (b < 0 ? -b : b);
}

int32_t anne_c_abi_selftest(void) {
    int32_t check = 0;
    anne_activation_t act;
    size_t n_out = 99, index = 99;

    /* 1-3: struct layout as the Rust side sees it (32 bytes, 30 kinds). */
    CHECK(sizeof(anne_activation_t) == 32);
    CHECK(ANNE_ACT_COUNT == 30);
    CHECK(offsetof(anne_activation_t, has_max_value) == 28);

    /* 4-13: anne_activation_default fills Keras's defaults. */
    CHECK(anne_activation_default(ANNE_ACT_LEAKY_RELU, &act) == ANNE_OK);
    CHECK(act.kind == ANNE_ACT_LEAKY_RELU && act.negative_slope == 0.2f);
    CHECK(anne_activation_default(ANNE_ACT_SQUAREPLUS, &act) == ANNE_OK && act.b == 4.0f);
    CHECK(anne_activation_default(ANNE_ACT_ELU, &act) == ANNE_OK && act.alpha == 1.0f);
    CHECK(anne_activation_default(ANNE_ACT_SOFT_SHRINK, &act) == ANNE_OK && act.threshold == 0.5f);
    CHECK(anne_activation_default(ANNE_ACT_RELU, &act) == ANNE_OK && act.negative_slope == 0.0f
          && act.has_max_value == 0 && act.threshold == 0.0f);
    CHECK(anne_activation_default(ANNE_ACT_GELU, &act) == ANNE_OK && act.approximate == 0);
    CHECK(anne_activation_default(ANNE_ACT_COUNT, &act) == ANNE_ERR_ACTIVATION);
    CHECK(anne_activation_default(ANNE_ACT_LINEAR, NULL) == ANNE_ERR_NULL);
    CHECK(anne_activation_default(ANNE_ACT_THRESHOLD, &act) == ANNE_OK
          && act.threshold == 0.0f && act.default_value == 0.0f);

    /* 14-19: anne_activation_outputs. */
    CHECK(anne_activation_outputs(ANNE_ACT_RELU, 5, &n_out) == ANNE_OK && n_out == 5);
    CHECK(anne_activation_outputs(ANNE_ACT_GLU, 6, &n_out) == ANNE_OK && n_out == 3);
    CHECK(anne_activation_outputs(ANNE_ACT_GLU, 5, &n_out) == ANNE_ERR_SIZE && n_out == 0);
    CHECK(anne_activation_outputs(ANNE_ACT_COUNT, 5, &n_out) == ANNE_ERR_ACTIVATION);
    CHECK(anne_activation_outputs(ANNE_ACT_RELU, 5, NULL) == ANNE_ERR_NULL);
    CHECK(anne_activation_outputs(ANNE_ACT_SOFTMAX, 0, &n_out) == ANNE_OK && n_out == 0);

    /* 20-30: anne_activate_f32. */
    {
        float buf[4] = {-1.0f, 0.0f, 2.0f, 0.5f};
        anne_activation_default(ANNE_ACT_RELU, &act);
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_OK);
        CHECK(buf[0] == 0.0f && buf[1] == 0.0f && buf[2] == 2.0f && buf[3] == 0.5f);
        anne_activation_default(ANNE_ACT_SOFTMAX, &act);
        buf[0] = 0.0f; buf[1] = 0.0f; buf[2] = 0.0f; buf[3] = 0.0f;
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_OK && buf[0] == 0.25f && buf[3] == 0.25f);
        anne_activation_default(ANNE_ACT_GLU, &act);
        buf[0] = 3.0f; buf[1] = 4.0f; buf[2] = 0.0f; buf[3] = 0.0f;
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_OK && buf[0] == 1.5f && buf[1] == 2.0f);
        CHECK(anne_activate_f32(buf, 3, &act) == ANNE_ERR_SIZE);
        CHECK(anne_activate_f32(NULL, 4, &act) == ANNE_ERR_NULL);
        CHECK(anne_activate_f32(buf, 4, NULL) == ANNE_ERR_NULL);
        act.kind = ANNE_ACT_COUNT;
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_ERR_ACTIVATION);
        anne_activation_default(ANNE_ACT_SQUAREPLUS, &act);
        act.b = -1.0f;
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_ERR_PARAM);
        anne_activation_default(ANNE_ACT_CELU, &act);
        act.alpha = 0.0f;
        CHECK(anne_activate_f32(buf, 4, &act) == ANNE_ERR_PARAM);
        anne_activation_default(ANNE_ACT_RELU, &act);
        act.has_max_value = 1;
        act.max_value = 1.0f;
        buf[0] = 5.0f;
        CHECK(anne_activate_f32(buf, 1, &act) == ANNE_OK && buf[0] == 1.0f);
    }

    /* 31-45: anne_dense_f32 (x 2, kernel 2x3, bias 3). */
    {
        const float x[2] = {1.0f, 2.0f};
        const float kernel[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
        const float bias[3] = {0.5f, 0.0f, -1.0f};
        float out[3] = {0};
        anne_activation_default(ANNE_ACT_LINEAR, &act);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, out, 3, &act) == ANNE_OK);
        CHECK(out[0] == 9.5f && out[1] == 12.0f && out[2] == 14.0f);
        CHECK(anne_dense_f32(x, 2, kernel, 6, NULL, 0, out, 3, &act) == ANNE_OK);
        CHECK(out[0] == 9.0f && out[1] == 12.0f && out[2] == 15.0f);
        CHECK(anne_dense_f32(x, 2, kernel, 5, bias, 3, out, 3, &act) == ANNE_ERR_KERNEL_SIZE);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 2, out, 3, &act) == ANNE_ERR_BIAS_SIZE);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, out, 2, &act) == ANNE_ERR_OUT_SIZE);
        CHECK(anne_dense_f32(x, 0, kernel, 6, bias, 3, out, 3, &act) == ANNE_ERR_X_SIZE);
        CHECK(anne_dense_f32(x, 2, kernel, 0, bias, 3, out, 3, &act) == ANNE_ERR_KERNEL_SIZE);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, (float *)kernel, 3, &act) == ANNE_ERR_OVERLAP);
        CHECK(anne_dense_f32(x, 2, (const float *)((const char *)kernel + 1), 4, bias, 3, out, 2, &act)
              == ANNE_ERR_ALIGN);
        CHECK(anne_dense_f32(NULL, 2, kernel, 6, bias, 3, out, 3, &act) == ANNE_ERR_NULL);
        CHECK(anne_dense_f32(x, 2, NULL, 6, bias, 3, out, 3, &act) == ANNE_ERR_NULL);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, NULL, 3, &act) == ANNE_ERR_NULL);
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, out, 3, NULL) == ANNE_ERR_NULL);
        act.kind = 1000;
        CHECK(anne_dense_f32(x, 2, kernel, 6, bias, 3, out, 3, &act) == ANNE_ERR_ACTIVATION);
        /* glu over 4 units (x 1, kernel 1x4) writes 2 outputs. */
        {
            const float one[1] = {1.0f};
            const float k4[4] = {3.0f, 4.0f, 0.0f, 0.0f};
            anne_activation_default(ANNE_ACT_GLU, &act);
            CHECK(anne_dense_f32(one, 1, k4, 4, NULL, 0, out, 2, &act) == ANNE_OK
                  && out[0] == 1.5f && out[1] == 2.0f);
        }
    }

    /* 46-47: softmax dense, sigmoid dense. */
    {
        const float x[1] = {1.0f};
        const float kernel[2] = {0.0f, 0.0f};
        float out[2];
        anne_activation_default(ANNE_ACT_SOFTMAX, &act);
        CHECK(anne_dense_f32(x, 1, kernel, 2, NULL, 0, out, 2, &act) == ANNE_OK
              && out[0] == 0.5f && out[1] == 0.5f);
        anne_activation_default(ANNE_ACT_SIGMOID, &act);
        CHECK(anne_dense_f32(x, 1, kernel, 2, NULL, 0, out, 2, &act) == ANNE_OK
              && near(out[0], 0.5f));
    }

    /* 48-53: anne_argmax_f32. */
    {
        const float v[5] = {1.0f, 3.0f, 3.0f, -1.0f, 2.0f};
        CHECK(anne_argmax_f32(v, 5, &index) == ANNE_OK && index == 1);
        CHECK(anne_argmax_f32(v, 1, &index) == ANNE_OK && index == 0);
        CHECK(anne_argmax_f32(v, 0, &index) == ANNE_ERR_SIZE);
        CHECK(anne_argmax_f32(NULL, 5, &index) == ANNE_ERR_NULL);
        CHECK(anne_argmax_f32(v, 5, NULL) == ANNE_ERR_NULL);
        CHECK(anne_argmax_f32(v + 3, 2, &index) == ANNE_OK && index == 1);
    }

    /* 54-61: anne_forward (float32): x 2 -> 3 (relu) -> 1 (linear). */
    {
        const float x[2] = {1.0f, 2.0f};
        const float k1[6] = {1.0f, -2.0f, 3.0f, 4.0f, 5.0f, -6.0f};
        const float b1[3] = {0.5f, 0.0f, -1.0f};
        const float k2[3] = {1.0f, 1.0f, 1.0f};
        float h[3] = {0}, y[1] = {7.0f};
        size_t failed = 99;
        anne_layer_t layers[2] = {
            {ANNE_LAYER_DENSE, ANNE_DTYPE_F32, k1, 6, b1, 3, h, 3, {0}, {0}, NULL},
            {ANNE_LAYER_DENSE, ANNE_DTYPE_F32, k2, 3, NULL, 0, y, 1, {0}, {0}, NULL},
        };
        anne_activation_default(ANNE_ACT_RELU, &layers[0].act);
        anne_activation_default(ANNE_ACT_LINEAR, &layers[1].act);
        /* h = relu([9.5, 8, -10]) = [9.5, 8, 0]; y = 17.5 */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_OK);
        CHECK(h[0] == 9.5f && h[1] == 8.0f && h[2] == 0.0f && y[0] == 17.5f);
        CHECK(anne_forward(x, 2, layers, 2, NULL) == ANNE_OK);
        /* a second layer that does not chain: nothing of it written */
        y[0] = 7.0f;
        layers[1].kernel_len = 2;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_KERNEL_SIZE && failed == 1 && y[0] == 7.0f);
        layers[1].kernel_len = 3;
        /* an output that overlaps the layer's input */
        layers[1].out = h;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_OVERLAP && failed == 1);
        layers[1].out = y;
        /* the last out too long; a bias too short; an unknown kind */
        layers[1].out_len = 2;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_OUT_SIZE && failed == 1);
        layers[1].out_len = 1;
        layers[0].bias_len = 2;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_BIAS_SIZE && failed == 0);
        layers[0].bias_len = 3;
        layers[1].kind = 99;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_KIND && failed == 1);
        layers[1].kind = ANNE_LAYER_DENSE;
        layers[1].dtype = ANNE_DTYPE_S8; /* a chain holds one dtype */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_KIND && failed == 1);
        layers[1].dtype = ANNE_DTYPE_F32;
        layers[0].act.kind = 1000;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_ACTIVATION && failed == 0);
        CHECK(anne_forward(x, 2, layers, 0, &failed) == ANNE_ERR_SIZE);
        CHECK(anne_forward(NULL, 2, layers, 2, &failed) == ANNE_ERR_NULL);
    }
    {
        /* training: dense backward, an activation's backward, SGD, Adam */
        float x[2] = {1.0f, -2.0f}, k[6] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f, 0.25f};
        float dz[3] = {1.0f, 0.5f, -1.0f}, gk[6] = {0}, gb[3] = {0}, dx[2] = {0};
        CHECK(anne_dense_backward_f32(x, 2, k, dz, 3, 1.0f, gk, gb, dx) == ANNE_OK);
        CHECK(gk[3] == -2.0f && gb[2] == -1.0f && dx[0] == 2.0f);
        CHECK(anne_dense_backward_f32(x, 2, k, dz, 3, 1.0f, gk, NULL, NULL) == ANNE_OK && gk[3] == -4.0f);
        CHECK(anne_dense_backward_f32(x, 2, k, dz, 3, 1.0f, k, NULL, NULL) == ANNE_ERR_OVERLAP);
        CHECK(anne_dense_backward_f32(x, 2, k, dz, 3, 1.0f, gk, gb, gk + 1) == ANNE_ERR_OVERLAP);
        CHECK(anne_dense_backward_f32(x, 0, k, dz, 3, 1.0f, gk, NULL, NULL) == ANNE_ERR_SIZE);
        CHECK(anne_dense_backward_f32(NULL, 2, k, dz, 3, 1.0f, gk, NULL, NULL) == ANNE_ERR_NULL);
        /* Conv1D (1 channel in, 2 taps, 1 filter) and max pooling backward */
        float cx[3] = {1.0f, 2.0f, 3.0f}, ck[2] = {0.5f, -1.0f}, cdz[2] = {1.0f, 2.0f};
        float cgk[2] = {0}, cgb[1] = {0}, cdx[3] = {9.0f, 9.0f, 9.0f};
        anne_layer_t conv = {.kind = ANNE_LAYER_CONV1D, .kernel = ck, .kernel_len = 2, .params = {1, 2, 1, 0, 1}};
        CHECK(anne_layer_backward_f32(cx, 3, &conv, cdz, 2, 1.0f, cgk, cgb, cdx) == ANNE_OK);
        CHECK(cgk[0] == 5.0f && cgk[1] == 8.0f && cgb[0] == 3.0f);
        CHECK(cdx[0] == 0.5f && cdx[1] == 0.0f && cdx[2] == -2.0f);
        CHECK(anne_layer_backward_f32(cx, 3, &conv, cdz, 1, 1.0f, cgk, NULL, NULL) == ANNE_ERR_OUT_SIZE);
        CHECK(anne_layer_backward_f32(cx, 3, &conv, cdz, 2, 1.0f, ck, NULL, NULL) == ANNE_ERR_OVERLAP);
        CHECK(anne_layer_backward_f32(cx, 3, NULL, cdz, 2, 1.0f, cgk, NULL, NULL) == ANNE_ERR_NULL);
        anne_layer_t maxpool = {.kind = ANNE_LAYER_MAX_POOLING1D, .params = {1, 3, 3, 0}};
        float pdy[1] = {4.0f};
        CHECK(anne_layer_backward_f32(cx, 3, &maxpool, pdy, 1, 1.0f, NULL, NULL, cdx) == ANNE_OK);
        CHECK(cdx[0] == 0.0f && cdx[2] == 4.0f);
        CHECK(anne_layer_backward_f32(cx, 3, &maxpool, pdy, 1, 1.0f, NULL, NULL, NULL) == ANNE_ERR_NULL);
        CHECK(anne_layer_backward_f32(cx, 3, &maxpool, pdy, 1, 1.0f, NULL, NULL, cx) == ANNE_ERR_OVERLAP);
        anne_activation_t relu;
        CHECK(anne_activation_default(ANNE_ACT_RELU, &relu) == ANNE_OK);
        float z[3] = {-1.0f, 0.0f, 2.0f}, y[3] = {0.0f, 0.0f, 2.0f}, d[3];
        CHECK(anne_activation_backward_f32(&relu, z, 3, y, 3, dz, d) == ANNE_OK);
        CHECK(d[0] == 0.0f && d[1] == 0.0f && d[2] == -1.0f);
        CHECK(anne_activation_backward_f32(&relu, z, 3, y, 2, dz, d) == ANNE_ERR_SIZE);
        CHECK(anne_activation_backward_f32(&relu, z, 3, y, 3, dz, z) == ANNE_ERR_OVERLAP);
        float w[2] = {1.0f, 1.0f}, g[2] = {1.0f, -1.0f}, m[2] = {0}, v[2] = {0};
        uint8_t finite = 7;
        CHECK(anne_sgd_f32(w, g, NULL, 2, 0.5f, 0.0f, 0, &finite) == ANNE_OK && w[0] == 0.5f && w[1] == 1.5f);
        CHECK(finite == 1);
        CHECK(anne_sgd_f32(w, g, NULL, 2, 0.5f, 0.9f, 0, &finite) == ANNE_ERR_NULL);
        CHECK(anne_sgd_f32(w, w, m, 2, 0.5f, 0.9f, 1, NULL) == ANNE_ERR_OVERLAP);
        CHECK(anne_adam_f32(w, g, m, v, 2, 0.1f, 0.9f, 0.999f, 1e-7f, &finite) == ANNE_OK && w[0] < 0.5f);
        CHECK(anne_adam_f32(w, g, m, m, 2, 0.1f, 0.9f, 0.999f, 1e-7f, NULL) == ANNE_ERR_OVERLAP);
        g[0] = 1e38f;
        CHECK(anne_sgd_f32(w, g, NULL, 2, 1e10f, 0.0f, 0, &finite) == ANNE_OK && finite == 0);
    }
    /* The other layer kinds in one chain: x 4 steps x 1 channel -> affine
     * (x * 2 + 1) -> conv1d 2 taps, 1 filter, valid -> max pooling 2 ->
     * global average. */
    {
        const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
        const float scale[1] = {2.0f}, offset[1] = {1.0f};
        const float k[2] = {1.0f, -1.0f}, b[1] = {0.5f};
        float a[4], c[3], p[1], g[1] = {7.0f};
        size_t failed = 99;
        anne_layer_t layers[4] = {
            {ANNE_LAYER_AFFINE, ANNE_DTYPE_F32, scale, 1, offset, 1, a, 4, {0}, {1}, NULL},
            {ANNE_LAYER_CONV1D, ANNE_DTYPE_F32, k, 2, b, 1, c, 3, {0}, {1, 2, 1, 0, 1}, NULL},
            {ANNE_LAYER_MAX_POOLING1D, ANNE_DTYPE_F32, NULL, 0, NULL, 0, p, 1, {0}, {1, 2, 2, 0}, NULL},
            {ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D, ANNE_DTYPE_F32, NULL, 0, NULL, 0, g, 1, {0}, {1}, NULL},
        };
        anne_activation_default(ANNE_ACT_LINEAR, &layers[1].act);
        /* a = [3, 5, 7, 9]; c = a[t] - a[t+1] + 0.5 = [-1.5, -1.5, -1.5];
         * p = max(c[0], c[1]) = -1.5; g = -1.5 */
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_OK);
        CHECK(a[0] == 3.0f && a[3] == 9.0f && c[2] == -1.5f && p[0] == -1.5f && g[0] == -1.5f);
        layers[1].params[3] = 3; /* padding 3 */
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_LAYER_PARAM && failed == 1);
        layers[1].params[3] = 1; /* same: 4 outputs, out holds 3 */
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_OUT_SIZE && failed == 1);
        layers[1].params[3] = 0;
        layers[1].params[1] = 5; /* a window of 5 steps on 4 */
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_X_SIZE && failed == 1);
        layers[1].params[1] = 2;
        anne_activation_default(ANNE_ACT_GLU, &layers[1].act);
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_ACTIVATION && failed == 1);
        anne_activation_default(ANNE_ACT_LINEAR, &layers[1].act);
        layers[0].bias = NULL;
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_NULL && failed == 0);
        layers[0].bias = offset;
        layers[2].out = c; /* pooling's output over its input */
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_OVERLAP && failed == 2);
        layers[2].out = p;
        layers[3].params[0] = 0;
        CHECK(anne_forward(x, 4, layers, 4, &failed) == ANNE_ERR_LAYER_PARAM && failed == 3);
    }
    /* The 2-D kinds in one chain: a 3 x 3 x 1 image -> conv2d 2 x 2, one
     * filter, valid (params: h, w, c, kh, kw, sh, sw, padding, dh, dw) ->
     * max pooling 2 x 2, strides 1, valid (h, w, c, ph, pw, sh, sw,
     * padding) -> global average over the 1 x 1 position. */
    {
        const float x[9] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f};
        const float k[4] = {1.0f, 0.0f, 0.0f, -1.0f}, b[1] = {10.0f};
        float c[4], p[1], g[1] = {7.0f};
        size_t failed = 99;
        CHECK(ANNE_LAYER_PARAMS >= 10);
        anne_layer_t layers[3] = {
            {ANNE_LAYER_CONV2D, ANNE_DTYPE_F32, k, 4, b, 1, c, 4, {0}, {3, 3, 1, 2, 2, 1, 1, 0, 1, 1}, NULL},
            {ANNE_LAYER_MAX_POOLING2D, ANNE_DTYPE_F32, NULL, 0, NULL, 0, p, 1, {0}, {2, 2, 1, 2, 2, 1, 1, 0}, NULL},
            {ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D, ANNE_DTYPE_F32, NULL, 0, NULL, 0, g, 1, {0}, {1}, NULL},
        };
        anne_activation_default(ANNE_ACT_LINEAR, &layers[0].act);
        /* c[y, x] = x[y, x] - x[y + 1, x + 1] + 10 = 6 everywhere; p = 6 */
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_OK);
        CHECK(c[0] == 6.0f && c[3] == 6.0f && p[0] == 6.0f && g[0] == 6.0f);
        layers[0].params[7] = 2; /* causal: not for 2-D */
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_LAYER_PARAM && failed == 0);
        layers[0].params[7] = 1; /* same: 3 x 3 outputs, out holds 4 */
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_OUT_SIZE && failed == 0);
        layers[0].params[7] = 0;
        CHECK(anne_forward(x, 8, layers, 3, &failed) == ANNE_ERR_X_SIZE && failed == 0);
        layers[0].kernel_len = 3;
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_KERNEL_SIZE && failed == 0);
        layers[0].kernel_len = 4;
        anne_activation_default(ANNE_ACT_GLU, &layers[0].act);
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_ACTIVATION && failed == 0);
        anne_activation_default(ANNE_ACT_LINEAR, &layers[0].act);
        layers[1].params[5] = 0; /* strides 0 */
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_LAYER_PARAM && failed == 1);
        layers[1].params[5] = 1;
        layers[1].out = c; /* pooling's output over its input */
        CHECK(anne_forward(x, 9, layers, 3, &failed) == ANNE_ERR_OVERLAP && failed == 1);
    }
    /* ZeroPadding2D then DepthwiseConv2D: a 1 x 2 x 1 image padded by one
     * row on top (params: h, w, c, then the slots top, bottom, left,
     * right) -> 2 x 2 x 1; a depthwise 2 x 1 kernel, multiplier 2 (h, w,
     * c, kh, kw, sh, sw, padding, depth_multiplier, dh, dw) -> 1 x 2 x 2. */
    {
        const float x[3] = {3.0f, 5.0f, 0.0f};
        const float k[4] = {1.0f, 2.0f, 10.0f, -1.0f}, b[2] = {0.5f, 0.0f};
        float z[4] = {9.0f, 9.0f, 9.0f, 9.0f}, d[4];
        size_t failed = 99;
        CHECK(ANNE_ZERO_PADDING2D_PADDING_TOP == 0 && ANNE_DEPTHWISE_CONV2D_DEPTH_MULTIPLIER == 5);
        /* the slots start past the input's dims, in the registry's order */
        CHECK(ANNE_CONV1D_AT + ANNE_CONV1D_PADDING == 3 && ANNE_CONV2D_AT + ANNE_CONV2D_PADDING == 7);
        anne_layer_t layers[2] = {
            {ANNE_LAYER_ZERO_PADDING2D, ANNE_DTYPE_F32, NULL, 0, NULL, 0, z, 4, {0}, {1, 2, 1, 1, 0, 0, 0}, NULL},
            {ANNE_LAYER_DEPTHWISE_CONV2D, ANNE_DTYPE_F32, k, 4, b, 2, d, 4, {0}, {2, 2, 1, 2, 1, 1, 1, 0, 2, 1, 1}, NULL},
        };
        anne_activation_default(ANNE_ACT_LINEAR, &layers[1].act);
        /* z = (0, 0, 3, 5); d[x, m] = z[0, x] * k[0, m] + z[1, x] * k[1, m] + b[m] */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_OK);
        CHECK(z[0] == 0.0f && z[1] == 0.0f && z[2] == 3.0f && z[3] == 5.0f);
        CHECK(d[0] == 30.5f && d[1] == -3.0f && d[2] == 50.5f && d[3] == -5.0f);
        layers[1].params[ANNE_DEPTHWISE_CONV2D_AT + ANNE_DEPTHWISE_CONV2D_DEPTH_MULTIPLIER] = 0;
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_LAYER_PARAM && failed == 1);
        layers[1].params[ANNE_DEPTHWISE_CONV2D_AT + ANNE_DEPTHWISE_CONV2D_DEPTH_MULTIPLIER] = 1; /* 2 x 1 x 1 floats, not 4 */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_KERNEL_SIZE && failed == 1);
        layers[1].params[ANNE_DEPTHWISE_CONV2D_AT + ANNE_DEPTHWISE_CONV2D_DEPTH_MULTIPLIER] = 2;
        anne_activation_default(ANNE_ACT_GLU, &layers[1].act);
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_ACTIVATION && failed == 1);
        anne_activation_default(ANNE_ACT_LINEAR, &layers[1].act);
        layers[0].params[4] = 1; /* bottom 1: 3 x 2 outputs, out holds 4 */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_OUT_SIZE && failed == 0);
        layers[0].params[4] = 0;
        CHECK(anne_forward(x, 3, layers, 2, &failed) == ANNE_ERR_X_SIZE && failed == 0);
        layers[0].out = (float *)x; /* over its input */
        CHECK(anne_forward(x, 2, layers, 2, &failed) == ANNE_ERR_OVERLAP && failed == 0);
    }
    {
        /* anne_fit_epoch_f32: a 2-1 linear layer, SGD, mse, 2 rows in one
         * batch: w -= lr * mean(2 (y - t) x). */
        float k[2] = {1.0f, 0.0f}, b[1] = {0.0f}, x[4] = {1.0f, 0.0f, 0.0f, 1.0f}, t[2] = {2.0f, 1.0f};
        float ws[64], sums[1];
        uint32_t it = 0;
        size_t n = 0, failed = 9;
        anne_train_layer_t layer = {ANNE_LAYER_DENSE, {0}, k, 2, b, 1, {0}, 1, {NULL, NULL, NULL, NULL}, 0, {0}};
        anne_fit_t fit = {0};
        anne_activation_default(ANNE_ACT_LINEAR, &layer.act);
        fit.loss = ANNE_LOSS_MEAN_SQUARED_ERROR;
        fit.optimizer = ANNE_OPTIMIZER_SGD;
        fit.learning_rate = 0.25f;
        fit.train = 1;
        fit.batch_size = 2;
        /* a Conv2D (1 x 2 x 1 input, 1x1 kernel, one filter) before the
         * dense layer: its params read (all 12); alone (not dense), refused;
         * with two filters, the dense layer's kernel no longer fits */
        float kc[2] = {1.0f, 1.0f};
        anne_train_layer_t cnn[2] = {{ANNE_LAYER_CONV2D, {1, 2, 1, 1, 1, 1, 1, 0, 1, 1}, kc, 1, NULL, 0, {0}, 1,
                                      {NULL}, 0, {0}}, layer};
        anne_activation_default(ANNE_ACT_LINEAR, &cnn[0].act);
        CHECK(anne_fit_workspace(cnn, 1, 2, 2, &n, &failed) == ANNE_ERR_KIND && failed == 0);
        CHECK(anne_fit_workspace(cnn, 2, 2, 2, &n, &failed) == ANNE_OK && n > 0 && n <= 64);
        cnn[0].kernel_len = 2;
        CHECK(anne_fit_workspace(cnn, 2, 2, 2, &n, &failed) == ANNE_ERR_KERNEL_SIZE && failed == 1);
        CHECK(anne_fit_workspace(&layer, 1, 2, 2, &n, &failed) == ANNE_OK && n > 0 && n <= 64);
        CHECK(anne_fit_epoch_f32(&layer, 1, &fit, x, 4, 2, t, 2, NULL, 0, ws, n - 1, sums, 1, &it, &failed) == ANNE_ERR_SIZE);
        CHECK(anne_fit_epoch_f32(&layer, 1, &fit, x, 4, 2, t, 2, NULL, 0, k, 2, sums, 1, &it, &failed) == ANNE_ERR_OVERLAP);
        /* an order shorter than the rows (2) is refused, not read past */
        uint32_t order1[1] = {0};
        CHECK(anne_fit_epoch_f32(&layer, 1, &fit, x, 4, 2, t, 2, order1, 1, ws, n, sums, 1, &it, &failed) == ANNE_ERR_SIZE);
        CHECK(k[0] == 1.0f && it == 0);
        CHECK(anne_fit_epoch_f32(&layer, 1, &fit, x, 4, 2, t, 2, NULL, 0, ws, n, sums, 1, &it, &failed) == ANNE_OK);
        /* y = (1, 0), errors (-1, -1): loss (1 + 1) per row summed = 2;
         * gk = (-1, -1), gb = -2: k = (1.25, 0.25), b = 0.5 */
        CHECK(it == 1 && sums[0] == 2.0f && k[0] == 1.25f && k[1] == 0.25f && b[0] == 0.5f);
        fit.loss = ANNE_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        CHECK(anne_fit_epoch_f32(&layer, 1, &fit, x, 4, 2, t, 2, NULL, 0, ws, n, sums, 1, &it, &failed) == ANNE_ERR_LABEL);
        /* a graph: Add(x, x) (no kernel; inputs 0 and 0: x), then the dense
         * layer reading it (inputs 1: layer 0); one naming a layer not
         * before it is refused, with its index */
        anne_train_layer_t g[2] = {{ANNE_LAYER_ADD, {1}, NULL, 0, NULL, 0, {0}, 0, {NULL}, 2, {0, 0}}, layer};
        anne_activation_default(ANNE_ACT_LINEAR, &g[0].act);
        g[1].n_inputs = 1, g[1].inputs[0] = 1;
        CHECK(anne_fit_workspace(g, 2, 2, 2, &n, &failed) == ANNE_OK && n > 0 && n <= 64);
        g[1].inputs[0] = 2;
        CHECK(anne_fit_workspace(g, 2, 2, 2, &n, &failed) == ANNE_ERR_SIZE && failed == 1);
        /* a global average pooling (no kernel) before it: rows of 2 steps x
         * 2 channels, averaged: (x0 + x2) / 2, (x1 + x3) / 2; the pooling
         * alone as the last layer is refused */
        float x2[8] = {1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 2.0f, 0.0f, 0.0f};
        anne_train_layer_t two[2] = {{ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D, {2}, NULL, 0, NULL, 0, {0}, 0, {NULL}, 0, {0}}, layer};
        anne_activation_default(ANNE_ACT_LINEAR, &two[0].act);
        fit.loss = ANNE_LOSS_MEAN_SQUARED_ERROR;
        k[0] = 1.0f, k[1] = 0.0f, b[0] = 0.0f, it = 0;
        CHECK(anne_fit_workspace(two, 1, 4, 2, &n, &failed) == ANNE_ERR_KIND && failed == 0);
        CHECK(anne_fit_workspace(two, 2, 4, 2, &n, &failed) == ANNE_OK && n > 0 && n <= 64);
        CHECK(anne_fit_epoch_f32(two, 2, &fit, x2, 8, 4, t, 2, NULL, 0, ws, n, sums, 1, &it, &failed) == ANNE_OK);
        CHECK(it == 1 && sums[0] == 2.0f && k[0] == 1.25f && k[1] == 0.25f && b[0] == 0.5f);
    }
    /* anne_forward on an int8 chain: x 2 -> 2 units (TFLite's layout),
     * scale 0.5 (a double's bits, two words, low first), rounded half away
     * from zero; then a second layer with per-channel scales 0.5, 1.0. */
    {
        const int8_t xs[3] = {0, 1, -2}; /* x at xs + 1: int8 needs no alignment */
        const int8_t k[4] = {1, 1, 2, -1};
        const int32_t b[2] = {3, 0};
        uint32_t sc[4] = {0, 0x3FE00000u, 0, 0x3FF00000u};
        int8_t h[2] = {0}, y[2] = {9, 9};
        size_t failed = 99;
        anne_quant_t q = {0, 0, -128, 127, sc, 1, NULL, 0};
        anne_quant_t q2 = {0, -1, -128, 2, sc, 2, NULL, 0};
        anne_layer_t layers[2] = {
            {ANNE_LAYER_DENSE, ANNE_DTYPE_S8, k, 4, b, 2, h, 2, {0}, {0}, &q},
            {ANNE_LAYER_DENSE, ANNE_DTYPE_S8, k, 4, NULL, 0, y, 2, {0}, {0}, &q2},
        };
        /* h = round([(1 - 2 + 3) / 2, (2 + 2) / 2]) = [1, 2];
         * y = [(1 + 2) / 2 -> 2, (2 - 2) * 1] - 1 = [1, -1], clamped at 2 */
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_OK);
        CHECK(h[0] == 1 && h[1] == 2 && y[0] == 1 && y[1] == -1);
        q2.count = 3;
        y[0] = 9;
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_PARAM && failed == 1 && y[0] == 9);
        q2.count = 2;
        sc[3] = 0x7FF80000u; /* a NaN scale: refused, nothing written */
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_PARAM && failed == 1 && y[0] == 9);
        sc[3] = 0x3FF00000u;
        layers[1].quant = NULL;
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_NULL && failed == 1);
        layers[1].quant = &q2;
        layers[1].out = h; /* over its input */
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_OVERLAP && failed == 1);
        layers[1].out = y;
        layers[0].bias = (const int32_t *)(const void *)((const char *)b + 1);
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_ALIGN && failed == 0);
        layers[0].bias = b;
        layers[0].kernel_len = 3;
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_KERNEL_SIZE && failed == 0);
        layers[0].kernel_len = 4;
        layers[1].dtype = ANNE_DTYPE_F32; /* mixed dtypes */
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_KIND && failed == 1);
        layers[1].dtype = ANNE_DTYPE_S8;
        layers[0].kind = ANNE_LAYER_AFFINE; /* no int8 kernel (Conv2D has one: tests/rust/int8_2d_abi.rs) */
        CHECK(anne_forward(xs + 1, 2, layers, 2, &failed) == ANNE_ERR_KIND && failed == 0);
    }
    /* an int8 Conv1D: 4 steps of 1 channel, filters [1, 1] and [1, -1],
     * bias [0, 10], valid; quant's words: the Q31 multipliers, then the
     * shifts, here one of each (1.0 = 2^30 * 2^(1 - 31)) */
    {
        const int8_t x[4] = {1, 2, 3, -4};
        const int8_t k[4] = {1, 1, 1, -1};
        const int32_t b[2] = {0, 10};
        uint32_t words[2] = {1u << 30, 1};
        int8_t y[6] = {0};
        size_t failed = 99;
        anne_quant_t q = {0, 0, -128, 127, words, 1, NULL, 0};
        anne_layer_t conv = {ANNE_LAYER_CONV1D, ANNE_DTYPE_S8, k, 4, b, 2, y, 6, {0}, {1, 2, 1, 0, 1}, &q};
        CHECK(anne_forward(x, 4, &conv, 1, &failed) == ANNE_OK);
        CHECK(y[0] == 3 && y[1] == 9 && y[2] == 5 && y[3] == 9 && y[4] == -1 && y[5] == 17);
        words[1] = 32; /* a shift out of range: refused, nothing written */
        y[0] = 9;
        CHECK(anne_forward(x, 4, &conv, 1, &failed) == ANNE_ERR_PARAM && failed == 0 && y[0] == 9);
        words[1] = 1;
        conv.act.kind = ANNE_ACT_RELU; /* the clamp is its activation */
        CHECK(anne_forward(x, 4, &conv, 1, &failed) == ANNE_ERR_ACTIVATION && y[0] == 9);
    }
    {
        /* anne_merge_f32: a graph's merges (Add .. Concatenate) */
        float a[4] = {1.0f, -2.0f, 3.0f, 0.5f}, b[4] = {0.5f, 4.0f, -1.0f, 0.5f}, out[6];
        const float *xs[3] = {a, b, a};
        size_t lens[3] = {4, 4, 4};
        CHECK(anne_merge_f32(ANNE_LAYER_ADD, xs, lens, 3, out, 4, 1) == ANNE_OK
              && out[0] == 2.5f && out[1] == -0.0f && out[2] == 5.0f && out[3] == 1.5f);
        CHECK(anne_merge_f32(ANNE_LAYER_SUBTRACT, xs, lens, 2, out, 4, 1) == ANNE_OK
              && out[0] == 0.5f && out[1] == -6.0f);
        CHECK(anne_merge_f32(ANNE_LAYER_MAXIMUM, xs, lens, 2, out, 4, 1) == ANNE_OK
              && out[0] == 1.0f && out[1] == 4.0f && out[2] == 3.0f);
        CHECK(anne_merge_f32(ANNE_LAYER_AVERAGE, xs, lens, 2, out, 4, 1) == ANNE_OK && out[1] == 1.0f);
        size_t cat_lens[2] = {2, 4}; /* two positions: 1 channel, then 2 */
        CHECK(anne_merge_f32(ANNE_LAYER_CONCATENATE, xs, cat_lens, 2, out, 6, 2) == ANNE_OK
              && out[0] == 1.0f && out[1] == 0.5f && out[2] == 4.0f && out[3] == -2.0f
              && out[4] == -1.0f && out[5] == 0.5f);
        CHECK(anne_merge_f32(ANNE_LAYER_CONCATENATE, xs, cat_lens, 2, out, 5, 2) == ANNE_ERR_OUT_SIZE);
        CHECK(anne_merge_f32(ANNE_LAYER_SUBTRACT, xs, lens, 3, out, 4, 1) == ANNE_ERR_SIZE);
        CHECK(anne_merge_f32(ANNE_LAYER_ADD, xs, lens, 1, out, 4, 1) == ANNE_ERR_SIZE);
        CHECK(anne_merge_f32(ANNE_LAYER_DENSE, xs, lens, 2, out, 4, 1) == ANNE_ERR_KIND);
        CHECK(anne_merge_f32(ANNE_LAYER_ADD, NULL, lens, 2, out, 4, 1) == ANNE_ERR_NULL);
        CHECK(anne_merge_f32(ANNE_LAYER_ADD, xs, lens, 2, a, 4, 1) == ANNE_ERR_OVERLAP);
        CHECK(anne_merge_f32(ANNE_LAYER_ADD, xs, lens, 2, (float *)(void *)((char *)out + 1), 4, 1)
              == ANNE_ERR_ALIGN);
    }
    return 0;
}
