//! The int8 2-D layers through the C ABI: `anne_forward` on chains of
//! `ANNE_DTYPE_S8` records built from the 2-D fixtures
//! (`tests/fixtures/int8/int8_conv2d_*.json`, tools/make_int8_conv2d_fixtures.py:
//! CONV_2D, DEPTHWISE_CONV_2D, PAD, MAX/AVERAGE_POOL_2D, MEAN and
//! REDUCE_MAX over the plane, a Flatten, FULLY_CONNECTED and SOFTMAX),
//! against LiteRT's recorded outputs, bit for bit, row by row; then
//! refusals of bad records (nothing written).
//!
//! The records hold what a dtype-1 `.anne` file holds (docs/FORMAT.md),
//! computed from the model with LiteRT's Prepare arithmetic
//! (tests/rust/int8_common.rs), not expected values.

use anne::abi::*;
use anne::ffi::anne_forward;
use anne::math::requant::Rounding;
use serde_json::Value;

mod int8_common;
use int8_common::{activation_range, f64s, fixtures_in, i8s, ints, litert_fc_scale, Tensors};

/// One layer's arrays (its record points into them).
struct Layer {
    kernel: Vec<i8>,
    bias: Option<Vec<i32>>,
    /// Q31 multipliers then shifts; a Dense's f64 scales' bits (two words
    /// each, low first); a MEAN's multiplier and shift.
    words: Vec<i32>,
    quant: anne_quant_t,
    out: Vec<i8>,
    act: u32,
    softmax: [i32; 3],
    kind: i32,
    params: [u32; ANNE_LAYER_PARAMS as usize],
}

fn quant(t: &Tensors, x: i64, out: i64, fused: &str) -> anne_quant_t {
    let (lo, hi) = activation_range(fused, t.scale(out), t.zero_point(out));
    anne_quant_t {
        input_offset: -t.zero_point(x),
        output_offset: t.zero_point(out),
        act_min: lo,
        act_max: hi,
        scale: std::ptr::null(),
        count: 0,
        post: std::ptr::null(),
        post_len: 0,
    }
}

fn padding_code(op: &Value) -> u32 {
    u32::from(op["padding"] == "SAME")
}

fn u(v: &Value) -> u32 {
    v.as_u64().unwrap() as u32
}

/// The layer of operator `op` (None for the operators that move no values).
fn layer_of(t: &Tensors, op: &Value) -> Option<Layer> {
    let code = op["opcode"].as_str().unwrap();
    let taken = ["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "PAD", "MEAN", "REDUCE_MAX"];
    if !taken.contains(&code) && code != "FULLY_CONNECTED" {
        return None; // SHAPE, STRIDED_SLICE, PACK, RESHAPE (a flatten: no record), SOFTMAX (layers_of)
    }
    let ins = ints(&op["inputs"]);
    let out = ints(&op["outputs"])[0];
    let in_shape = t.shape(ins[0]);
    let n_out: usize = t.shape(out).iter().product();
    let fused = op["fused_activation"].as_str().unwrap_or("NONE");
    let mut l = Layer {
        kernel: Vec::new(),
        bias: None,
        words: Vec::new(),
        quant: quant(t, ins[0], out, fused),
        out: vec![0; n_out],
        act: ANNE_ACT_LINEAR as u32,
        softmax: [0; 3],
        kind: 0,
        params: [0; ANNE_LAYER_PARAMS as usize],
    };
    let image = || [in_shape[1] as u32, in_shape[2] as u32, in_shape[3] as u32];
    match code {
        "CONV_2D" | "DEPTHWISE_CONV_2D" => {
            let w = t.shape(ins[1]);
            let channels = if code == "CONV_2D" { w[0] } else { w[3] };
            let (m, s) = t.multipliers(ins[0], ins[1], out, channels, Rounding::Double);
            l.words = m.into_iter().chain(s).collect();
            l.quant.count = channels;
            l.kernel = t.values(ins[1], &Value::Null);
            l.bias = t.bias(&ins);
            let (sh, sw, dh, dw) = (u(&op["stride_h"]), u(&op["stride_w"]), u(&op["dilation_h"]), u(&op["dilation_w"]));
            let (kh, kw) = (w[1] as u32, w[2] as u32);
            let [h, wd, c] = image();
            if code == "CONV_2D" {
                l.kind = ANNE_LAYER_CONV2D;
                l.params[..10].copy_from_slice(&[h, wd, c, kh, kw, sh, sw, padding_code(op), dh, dw]);
            } else {
                l.kind = ANNE_LAYER_DEPTHWISE_CONV2D;
                let dm = channels as u32 / c;
                l.params[..11].copy_from_slice(&[h, wd, c, kh, kw, sh, sw, padding_code(op), dm, dh, dw]);
            }
        }
        "MAX_POOL_2D" | "AVERAGE_POOL_2D" => {
            l.kind = if code == "MAX_POOL_2D" { ANNE_LAYER_MAX_POOLING2D } else { ANNE_LAYER_AVERAGE_POOLING2D };
            let [h, w, c] = image();
            l.params[..8].copy_from_slice(&[
                h,
                w,
                c,
                u(&op["filter_height"]),
                u(&op["filter_width"]),
                u(&op["stride_h"]),
                u(&op["stride_w"]),
                padding_code(op),
            ]);
        }
        "PAD" => {
            l.kind = ANNE_LAYER_ZERO_PADDING2D;
            let p = ints(t.constant(ins[1]).unwrap());
            let [h, w, c] = image();
            l.params[..7].copy_from_slice(&[h, w, c, p[2] as u32, p[3] as u32, p[4] as u32, p[5] as u32]);
        }
        "MEAN" | "REDUCE_MAX" => {
            l.params[0] = in_shape[3] as u32;
            if code == "MEAN" {
                l.kind = ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D;
                let (m, s) = anne::math::requant::quantize_multiplier_for(
                    t.scale(ins[0]) as f64 / t.scale(out) as f64,
                    Rounding::Double,
                )
                .unwrap();
                l.words = vec![m, s];
                l.quant.count = 1;
            } else {
                l.kind = ANNE_LAYER_GLOBAL_MAX_POOLING2D;
            }
        }
        "FULLY_CONNECTED" => {
            l.kind = ANNE_LAYER_DENSE;
            l.kernel = t.values(ins[1], &Value::Null);
            l.bias = t.bias(&ins);
            let (s_in, s_out) = (t.scale(ins[0]) as f64, t.scale(out) as f64);
            for s in f64s(&t.t(ins[1])["scales"]) {
                let bits = litert_fc_scale(s_in, s, s_out).to_bits();
                l.words.extend([bits as u32 as i32, (bits >> 32) as u32 as i32]);
            }
            l.quant.count = l.words.len() / 2;
        }
        _ => return None,
    }
    Some(l)
}

fn layers_of(doc: &Value) -> Vec<Layer> {
    let t = Tensors(doc["tensors"].as_array().unwrap());
    let mut layers: Vec<Layer> = Vec::new();
    for op in doc["operators"].as_array().unwrap() {
        if op["opcode"] == "SOFTMAX" {
            let ins = ints(&op["inputs"]);
            let out = ints(&op["outputs"])[0];
            let p = anne::activation::s8::softmax_s8_prepare(
                op["beta"].as_f64().unwrap_or(1.0) as f32,
                t.scale(ins[0]),
                t.scale(out),
                t.zero_point(out),
                Rounding::Double,
            )
            .unwrap();
            let last = layers.last_mut().unwrap();
            last.act = ANNE_ACT_SOFTMAX as u32;
            last.softmax = [p.input_multiplier, p.input_left_shift, p.diff_min];
            continue;
        }
        layers.extend(layer_of(&t, op));
    }
    layers
}

fn records(layers: &mut [Layer]) -> Vec<anne_layer_t> {
    layers
        .iter_mut()
        .map(|l| {
            l.quant.scale = if l.words.is_empty() { std::ptr::null() } else { l.words.as_ptr().cast() };
            if l.act == ANNE_ACT_SOFTMAX as u32 {
                (l.quant.post, l.quant.post_len) = (l.softmax.as_ptr().cast(), 3);
            }
            // SAFETY: all-zero is a valid anne_activation_t (plain data);
            // an int8 layer reads only its kind.
            let mut act: anne_activation_t = unsafe { std::mem::zeroed() };
            act.kind = l.act;
            anne_layer_t {
                kind: l.kind as u32,
                dtype: ANNE_DTYPE_S8 as u32,
                kernel: if l.kernel.is_empty() { std::ptr::null() } else { l.kernel.as_ptr().cast() },
                kernel_len: l.kernel.len(),
                bias: l.bias.as_ref().map_or(std::ptr::null(), |b| b.as_ptr().cast()),
                bias_len: l.bias.as_ref().map_or(0, |b| b.len()),
                out: l.out.as_mut_ptr().cast(),
                out_len: l.out.len(),
                act,
                params: l.params,
                quant: &l.quant,
            }
        })
        .collect()
}

fn forward(recs: &[anne_layer_t], x: &[i8]) -> (i32, usize) {
    let mut failed = usize::MAX;
    // SAFETY: every record points into live vectors of its lengths; x is
    // x.len() int8 values.
    let status = unsafe { anne_forward(x.as_ptr().cast(), x.len(), recs.as_ptr(), recs.len(), &mut failed) };
    (status, failed)
}

fn fixtures() -> Vec<(String, Value)> {
    let all: Vec<_> = fixtures_in("int8", 3).into_iter().filter(|(n, _)| n.starts_with("int8_conv2d_")).collect();
    assert_eq!(all.len(), 3, "the three int8_conv2d_* fixtures");
    all
}

#[test]
fn conv2d_chains_through_the_c_abi_match_litert() {
    let mut compared = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for (name, doc) in fixtures() {
        let mut layers = layers_of(&doc);
        kinds.extend(layers.iter().map(|l| l.kind));
        let recs = records(&mut layers);
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            assert_eq!(forward(&recs, &i8s(row)), (ANNE_OK, usize::MAX), "{name}: row {r}");
            assert_eq!(layers.last().unwrap().out, i8s(&outputs[r]), "{name}: row {r}");
            compared += 1;
        }
    }
    assert_eq!(compared, 48);
    for k in [
        ANNE_LAYER_CONV2D,
        ANNE_LAYER_DEPTHWISE_CONV2D,
        ANNE_LAYER_ZERO_PADDING2D,
        ANNE_LAYER_MAX_POOLING2D,
        ANNE_LAYER_AVERAGE_POOLING2D,
        ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D,
        ANNE_LAYER_GLOBAL_MAX_POOLING2D,
    ] {
        assert!(kinds.contains(&k), "kind {k} covered");
    }
}

#[test]
fn each_2d_layer_matches_litert_s_tensor() {
    // Each record alone on LiteRT's own input tensor gives LiteRT's output
    // tensor (experimental_preserve_all_tensors), every row.
    let mut compared = 0;
    for (name, doc) in fixtures() {
        let t = Tensors(doc["tensors"].as_array().unwrap());
        for op in doc["operators"].as_array().unwrap() {
            if ["FULLY_CONNECTED", "SOFTMAX"].contains(&op["opcode"].as_str().unwrap()) {
                continue;
            }
            let Some(l) = layer_of(&t, op) else { continue };
            let mut layers = [l];
            let recs = records(&mut layers);
            let (x, out) = (ints(&op["inputs"])[0], ints(&op["outputs"])[0]);
            for (r, row) in doc["tensor_values"].as_array().unwrap().iter().enumerate() {
                assert_eq!(forward(&recs, &t.values(x, row)).0, ANNE_OK, "{name} {}: row {r}", op["opcode"]);
                assert_eq!(layers[0].out, t.values(out, row), "{name} {}: row {r}", op["opcode"]);
                compared += 1;
            }
        }
    }
    assert!(compared >= 14 * 16, "only {compared} compared");
}

/// Each change to the named fixture's layer k refused with `want` at layer
/// k, nothing written.
fn refused(name: &str, k: usize, change: &dyn Fn(&mut Layer), want: i32, what: &str) {
    let (_, doc) = fixtures().into_iter().find(|(n, _)| n == name).unwrap();
    let x = i8s(&doc["rows"].as_array().unwrap()[0]);
    let mut layers = layers_of(&doc);
    change(&mut layers[k]);
    for v in layers[k].out.iter_mut() {
        *v = 77;
    }
    let recs = records(&mut layers);
    assert_eq!(forward(&recs, &x), (want, k), "{what}");
    assert!(layers[k].out.iter().all(|&v| v == 77), "{what}: nothing written");
}

#[test]
fn bad_2d_records_refused() {
    // int8_conv2d_ds_cnn: 0 conv2d, 1 depthwise, 2 conv2d 1x1, 3 average pooling, 4 dense
    let ds = "int8_conv2d_ds_cnn";
    refused(ds, 0, &|l| l.quant.count = 3, ANNE_ERR_PARAM, "3 multipliers for 4 filters");
    refused(ds, 0, &|l| l.quant.count = 0, ANNE_ERR_PARAM, "no multipliers");
    refused(ds, 0, &|l| l.words[4] = 32, ANNE_ERR_PARAM, "a shift of 32");
    refused(ds, 1, &|l| l.quant.input_offset = 200, ANNE_ERR_PARAM, "an input offset of 200");
    refused(ds, 2, &|l| (l.quant.act_min, l.quant.act_max) = (9, 8), ANNE_ERR_PARAM, "act_min > act_max");
    refused(ds, 0, &|l| l.act = ANNE_ACT_RELU as u32, ANNE_ERR_ACTIVATION, "an activation");
    refused(ds, 0, &|l| { l.kernel.pop(); }, ANNE_ERR_KERNEL_SIZE, "a kernel one short");
    refused(ds, 1, &|l| { l.kernel.pop(); }, ANNE_ERR_KERNEL_SIZE, "a depthwise kernel one short");
    refused(ds, 1, &|l| { l.bias.as_mut().unwrap().pop(); }, ANNE_ERR_BIAS_SIZE, "a bias one short");
    refused(ds, 2, &|l| { l.out.pop(); }, ANNE_ERR_OUT_SIZE, "an out one short");
    refused(ds, 0, &|l| l.params[5] = 0, ANNE_ERR_LAYER_PARAM, "strides 0");
    refused(ds, 0, &|l| l.params[7] = 3, ANNE_ERR_LAYER_PARAM, "padding 3");
    refused(ds, 0, &|l| l.params[0] = 11, ANNE_ERR_X_SIZE, "72 inputs are not 11 x 6 x 1");
    refused(ds, 1, &|l| l.params[3 + 5] = 2, ANNE_ERR_KERNEL_SIZE, "depth_multiplier 2: 8 channels' kernel");
    refused(ds, 1, &|l| l.kernel.clear(), ANNE_ERR_NULL, "no kernel");
    refused(ds, 3, &|l| l.quant.output_offset += 1, ANNE_ERR_PARAM, "a pooling that changes the zero point");
    refused(ds, 3, &|l| l.params[3] = 0, ANNE_ERR_LAYER_PARAM, "pool height 0");
    refused(ds, 3, &|l| l.act = ANNE_ACT_RELU as u32, ANNE_ERR_ACTIVATION, "a pooling's activation");
    // int8_conv2d_mobilenet: 0 pad, 1 depthwise (multiplier 2), 2 conv2d, 3 max pooling, 4 MEAN
    let mb = "int8_conv2d_mobilenet";
    refused(mb, 0, &|l| l.quant.output_offset += 1, ANNE_ERR_PARAM, "a pad that changes the zero point");
    refused(mb, 0, &|l| l.quant.act_min = 0, ANNE_ERR_PARAM, "a clamped pad");
    refused(mb, 0, &|l| { l.out.push(0); }, ANNE_ERR_OUT_SIZE, "a pad's out one long");
    refused(mb, 0, &|l| l.params[2] = 3, ANNE_ERR_X_SIZE, "180 inputs are not 10 x 9 x 3");
    refused(mb, 1, &|l| l.quant.count = 2, ANNE_ERR_PARAM, "2 multipliers for 4 channels");
    refused(mb, 4, &|l| l.quant.count = 0, ANNE_ERR_PARAM, "a MEAN without its multiplier");
    refused(mb, 4, &|l| l.words[1] = 32, ANNE_ERR_PARAM, "a MEAN's shift of 32");
    refused(mb, 4, &|l| { l.out.push(0); }, ANNE_ERR_OUT_SIZE, "a MEAN's out one long");
    // a NULL quant; out over x; out over the kernel
    let (_, doc) = fixtures().into_iter().find(|(n, _)| n == ds).unwrap();
    let x = i8s(&doc["rows"].as_array().unwrap()[0]);
    let mut layers = layers_of(&doc);
    let mut recs = records(&mut layers);
    recs[1].quant = std::ptr::null();
    assert_eq!(forward(&recs, &x), (ANNE_ERR_NULL, 1));
    let mut recs = records(&mut layers);
    recs[3].quant = (recs[3].quant as usize + 1) as *const anne_quant_t;
    assert_eq!(forward(&recs, &x), (ANNE_ERR_ALIGN, 3));
    let mut recs = records(&mut layers);
    recs[2].out = recs[2].kernel as *mut _;
    recs[2].out_len = recs[2].kernel_len.min(layers[2].out.len());
    assert!(forward(&recs, &x).0 != ANNE_OK);
}

#[test]
fn a_dilated_conv2d_record_runs_as_the_kernel() {
    // TensorFlow's converter makes no dilated CONV_2D (it writes
    // SPACE_TO_BATCH_ND around an undilated one); the record's dilation
    // reaches the kernels: through the ABI equals the kernels' own call.
    use anne::layers::conv2d::Conv2d;
    use anne::layers::conv2d_s8::conv2d_s8;
    use anne::layers::dense_s8::{DenseS8Params, Multipliers};
    use anne::layers::window::{Padding, Window2d};
    let (h, w, c, f) = (7usize, 6usize, 2usize, 3usize);
    let x: Vec<i8> = (0..h * w * c).map(|i| ((i * 37 + 11) % 251) as i8).collect();
    let kernel: Vec<i8> = (0..f * 3 * 2 * c).map(|i| ((i * 53 + 7) % 255) as i8).collect();
    let bias: Vec<i32> = vec![100, -2000, 37];
    let (m, s) = (vec![1 << 30, 1_500_000_000, 1_234_567_890], vec![-7, -8, -6]);
    let spec = Conv2d {
        window: Window2d {
            height: h,
            width: w,
            kernel_size: (3, 2),
            strides: (1, 1),
            dilation: (2, 3),
            padding: Padding::Same,
        },
        in_channels: c,
    };
    let p = DenseS8Params {
        input_offset: 5,
        output_offset: -3,
        act_min: -100,
        act_max: 120,
        multipliers: Multipliers::PerChannel { multipliers: &m, shifts: &s },
        rounding: Rounding::Double,
    };
    let mut want = vec![0i8; h * w * f];
    conv2d_s8(&spec, &x, &kernel, Some(&bias), &mut want, &p).unwrap();
    let mut l = Layer {
        kernel,
        bias: Some(bias),
        words: m.iter().chain(&s).copied().collect(),
        quant: anne_quant_t {
            input_offset: 5,
            output_offset: -3,
            act_min: -100,
            act_max: 120,
            scale: std::ptr::null(),
            count: 3,
            post: std::ptr::null(),
            post_len: 0,
        },
        out: vec![0; h * w * f],
        act: ANNE_ACT_LINEAR as u32,
        softmax: [0; 3],
        kind: ANNE_LAYER_CONV2D,
        params: [0; ANNE_LAYER_PARAMS as usize],
    };
    l.params[..10].copy_from_slice(&[h as u32, w as u32, c as u32, 3, 2, 1, 1, 1, 2, 3]);
    let mut layers = [l];
    let recs = records(&mut layers);
    assert_eq!(forward(&recs, &x), (ANNE_OK, usize::MAX));
    assert_eq!(layers[0].out, want);
    assert!(want.iter().any(|&v| v != want[0]));
}
