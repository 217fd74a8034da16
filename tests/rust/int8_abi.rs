//! The int8 path through the C ABI: `anne_forward` on chains of
//! `ANNE_DTYPE_S8` Dense layer records (as the MicroPython glue builds
//! them), against LiteRT's recorded outputs (`tests/fixtures/int8/*.json`,
//! the models made of FULLY_CONNECTED operators only: `dense_linear` and
//! the others like it), bit for bit, row by row.
//!
//! The layer records hold what a dtype-1 `.anne` file holds
//! (docs/FORMAT.md): the kernel in TFLite's layout, the int32 bias, one
//! double-precision scale per output channel (`(double)input_scale *
//! (double)weight_scale[j] / (double)output_scale` of the float32 scales,
//! as LiteRT's reference FULLY_CONNECTED computes it, passed as the f64's
//! bits in two words, low first), the zero points as offsets and the
//! fused activation's clamp in output steps
//! (`CalculateActivationRangeQuantized`): inputs of the kernel computed
//! from the model, not expected values.

use anne::abi::{
    anne_activation_t, anne_layer_t, anne_quant_t, ANNE_DTYPE_S8, ANNE_LAYER_CONV1D, ANNE_LAYER_DENSE,
    ANNE_LAYER_PARAMS, ANNE_OK,
};
use anne::ffi::anne_forward;
use serde_json::Value;

mod int8_common;
use int8_common::{activation_range, f64s, i8s, ints, litert_fc_scale};
use std::path::Path;

fn fixture(name: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/int8/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).unwrap()
}

/// f64s as the ABI takes them: each one's bits in two words, low first.
fn words(scales: &[f64]) -> Vec<u32> {
    scales
        .iter()
        .flat_map(|s| [s.to_bits() as u32, (s.to_bits() >> 32) as u32])
        .collect()
}

/// One int8 Dense layer's arrays (the records point into them).
struct Layer {
    kernel: Vec<i8>,
    bias: Option<Vec<i32>>,
    /// Two words per scale: the f64's bits, the low word first.
    scale: Vec<u32>,
    quant: anne_quant_t,
    out: Vec<i8>,
    /// The activation after the clamp: its kind and data (softmax: three
    /// int32 as i8 bytes would not do, so words; a table: 256 int8).
    act: u32,
    softmax: [i32; 3],
    table: Vec<i8>,
    /// ANNE_LAYER_DENSE or ANNE_LAYER_CONV1D, and the kind's params.
    kind: u32,
    params: [u32; ANNE_LAYER_PARAMS as usize],
}

/// The (kind, softmax words, table) an activation operator after a
/// FULLY_CONNECTED becomes, from the model's scales with the crate's own
/// Prepare functions (each bit-exact with LiteRT on its own fixtures:
/// tests/rust/int8_activations.rs).
fn post_of(op: &Value, tensors: &[Value]) -> (u32, [i32; 3], Vec<i8>) {
    use anne::activation::s8::*;
    use anne::math::requant::Rounding;
    let q = |k: &str| {
        let t = &tensors[ints(&op[k])[0] as usize];
        (f64s(&t["scales"])[0] as f32, ints(&t["zero_points"])[0] as i32)
    };
    let ((s_in, z_in), (s_out, z_out)) = (q("inputs"), q("outputs"));
    let mut table = [0i8; 256];
    let kind = match op["opcode"].as_str().unwrap() {
        "SOFTMAX" => {
            let beta = op["beta"].as_f64().unwrap_or(1.0) as f32;
            let p = softmax_s8_prepare(beta, s_in, s_out, z_out, Rounding::Double).unwrap();
            let w = [p.input_multiplier, p.input_left_shift, p.diff_min];
            return (anne::abi::ANNE_ACT_SOFTMAX as u32, w, Vec::new());
        }
        "LEAKY_RELU" => {
            let alpha = op["alpha"].as_f64().unwrap() as f32;
            let p = leaky_relu_s8_prepare(alpha, s_in, z_in, s_out, z_out, Rounding::Double).unwrap();
            let x: Vec<i8> = (0..=255u8).map(|b| b as i8).collect();
            leaky_relu_s8(&x, &mut table, &p).unwrap();
            anne::abi::ANNE_ACT_LEAKY_RELU
        }
        name => {
            let (f, kind) = match name {
                "LOGISTIC" => (TableFn::Logistic, anne::abi::ANNE_ACT_SIGMOID),
                "TANH" => (TableFn::Tanh, anne::abi::ANNE_ACT_TANH),
                "GELU" => (
                    TableFn::Gelu {
                        approximate: op["approximate"].as_bool().unwrap_or(false),
                    },
                    anne::abi::ANNE_ACT_GELU,
                ),
                _ => panic!("no int8 activation {name}"),
            };
            activation_table(f, s_in, z_in, s_out, z_out, &mut table).unwrap();
            kind
        }
    };
    (kind as u32, [0; 3], table.to_vec())
}

fn layers_of(doc: &Value, per_tensor: bool) -> Vec<Layer> {
    let tensors = doc["tensors"].as_array().unwrap();
    let mut layers: Vec<Layer> = Vec::new();
    for op in doc["operators"].as_array().unwrap() {
        let opcode = op["opcode"].as_str().unwrap();
        if SHAPE_OPS.contains(&opcode) {
            continue; // (they move no values)
        }
        if opcode == "CONV_2D" {
            layers.push(conv1d_of(op, tensors));
            continue;
        }
        if ["MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "REDUCE_MAX"].contains(&opcode) {
            layers.push(pool_of(op, tensors));
            continue;
        }
        if opcode != "FULLY_CONNECTED" {
            let (act, softmax, table) = post_of(op, tensors);
            let last = layers.last_mut().expect("an activation after a FULLY_CONNECTED");
            (last.act, last.softmax, last.table) = (act, softmax, table);
            continue;
        }
        let ins = ints(&op["inputs"]);
        let (tin, tw) = (&tensors[ins[0] as usize], &tensors[ins[1] as usize]);
        let tout = &tensors[ints(&op["outputs"])[0] as usize];
        let units = ints(&tw["shape"])[0] as usize;
        let bias = (ins.len() > 2 && ins[2] >= 0).then(|| {
            ints(&tensors[ins[2] as usize]["values"])
                .into_iter()
                .map(|v| v as i32)
                .collect()
        });
        let (s_in, s_out) = (f64s(&tin["scales"])[0], f64s(&tout["scales"])[0]);
        let mut w_scales = f64s(&tw["scales"]);
        if per_tensor {
            // One scale for all: only right if every channel's scale is
            // the same, so the per-tensor test uses the first and checks
            // the layers where they are.
            w_scales.truncate(1);
        }
        let scale = words(
            &w_scales
                .iter()
                .map(|&s| litert_fc_scale(s_in, s, s_out))
                .collect::<Vec<_>>(),
        );
        let z_out = ints(&tout["zero_points"])[0] as i32;
        let (act_min, act_max) = activation_range(
            op["fused_activation"].as_str().unwrap(),
            s_out as f32,
            z_out,
        );
        let quant = anne_quant_t {
            input_offset: -(ints(&tin["zero_points"])[0] as i32),
            output_offset: z_out,
            act_min,
            act_max,
            scale: scale.as_ptr(),
            count: scale.len() / 2,
            post: std::ptr::null(),
            post_len: 0,
        };
        layers.push(Layer {
            kernel: i8s(&tw["values"]),
            bias,
            scale,
            quant,
            out: vec![0; units],
            act: 0,
            softmax: [0; 3],
            table: Vec::new(),
            kind: ANNE_LAYER_DENSE as u32,
            params: [0; ANNE_LAYER_PARAMS as usize],
        });
    }
    layers
}

/// A 1-D pooling's record arrays: MAX/AVERAGE_POOL_2D of height 1 (its
/// fused clamp), MEAN over the steps (the Q31 multiplier and shift of the
/// scale ratio, as LiteRT's PrepareMeanOrSum computes it), REDUCE_MAX.
fn pool_of(op: &Value, tensors: &[Value]) -> Layer {
    use anne::abi::*;
    use anne::math::requant::{quantize_multiplier_for, Rounding};
    let opcode = op["opcode"].as_str().unwrap();
    let tin = &tensors[ints(&op["inputs"])[0] as usize];
    let tout = &tensors[ints(&op["outputs"])[0] as usize];
    let (s_in, s_out) = (f64s(&tin["scales"])[0] as f32 as f64, f64s(&tout["scales"])[0] as f32 as f64);
    let z_out = ints(&tout["zero_points"])[0] as i32;
    let channels = *ints(&tin["shape"]).last().unwrap() as u32;
    let mut params = [0; ANNE_LAYER_PARAMS as usize];
    params[0] = channels;
    let (kind, scale, (act_min, act_max)) = match opcode {
        "MEAN" => {
            let (m, shift) = quantize_multiplier_for(s_in / s_out, Rounding::Double).unwrap();
            (ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D, vec![m as u32, shift as u32], (-128, 127))
        }
        "REDUCE_MAX" => (ANNE_LAYER_GLOBAL_MAX_POOLING1D, Vec::new(), (-128, 127)),
        _ => {
            params[1] = op["filter_width"].as_u64().unwrap() as u32;
            params[2] = op["stride_w"].as_u64().unwrap() as u32;
            params[3] = if op["padding"] == "VALID" { 0 } else { 1 };
            let kind = if opcode == "MAX_POOL_2D" { ANNE_LAYER_MAX_POOLING1D } else { ANNE_LAYER_AVERAGE_POOLING1D };
            (kind, Vec::new(), activation_range(op["fused_activation"].as_str().unwrap(), s_out as f32, z_out))
        }
    };
    let n_out = ints(&tout["shape"]).iter().product::<i64>() as usize;
    Layer {
        kernel: Vec::new(),
        bias: None,
        quant: anne_quant_t {
            input_offset: -(ints(&tin["zero_points"])[0] as i32),
            output_offset: z_out,
            act_min,
            act_max,
            scale: scale.as_ptr(),
            count: scale.len() / 2,
            post: std::ptr::null(),
            post_len: 0,
        },
        scale,
        out: vec![0; n_out],
        act: 0,
        softmax: [0; 3],
        table: Vec::new(),
        kind: kind as u32,
        params,
    }
}

/// The operators around a Conv1D's CONV_2D and a Flatten (no values move).
const SHAPE_OPS: [&str; 5] = ["EXPAND_DIMS", "RESHAPE", "SHAPE", "STRIDED_SLICE", "PACK"];

/// A CONV_2D of height 1 as an int8 Conv1D record's arrays: the filter in
/// TFLite's layout, the multipliers and shifts LiteRT's
/// PopulateConvolutionQuantizationParams computes (QuantizeMultiplier of
/// the double product of the float32 scales, double-rounding build), as
/// `count` multipliers then `count` shifts.
fn conv1d_of(op: &Value, tensors: &[Value]) -> Layer {
    use anne::math::requant::{quantize_multiplier_for, Rounding};
    let ins = ints(&op["inputs"]);
    let (tin, tw) = (&tensors[ins[0] as usize], &tensors[ins[1] as usize]);
    let tout = &tensors[ints(&op["outputs"])[0] as usize];
    let shape = ints(&tw["shape"]);
    let (filters, ks, cin) = (shape[0] as u32, shape[2] as u32, shape[3] as u32);
    let (s_in, s_out) = (f64s(&tin["scales"])[0], f64s(&tout["scales"])[0]);
    let pairs: Vec<(i32, i32)> = f64s(&tw["scales"])
        .iter()
        .map(|&s| quantize_multiplier_for(litert_fc_scale(s_in, s, s_out), Rounding::Double).unwrap())
        .collect();
    let scale: Vec<u32> = pairs
        .iter()
        .map(|p| p.0 as u32)
        .chain(pairs.iter().map(|p| p.1 as u32))
        .collect();
    let z_out = ints(&tout["zero_points"])[0] as i32;
    let (act_min, act_max) = activation_range(op["fused_activation"].as_str().unwrap(), s_out as f32, z_out);
    let padding = match op["padding"].as_str().unwrap() {
        "VALID" => 0,
        _ => 1,
    };
    let mut params = [0; ANNE_LAYER_PARAMS as usize];
    params[..5].copy_from_slice(&[
        cin,
        ks,
        op["stride_w"].as_u64().unwrap() as u32,
        padding,
        op["dilation_w"].as_u64().unwrap() as u32,
    ]);
    let n_out = ints(&tout["shape"]).iter().product::<i64>() as usize;
    assert_eq!(n_out % filters as usize, 0);
    Layer {
        kernel: i8s(&tw["values"]),
        bias: Some(ints(&tensors[ins[2] as usize]["values"]).into_iter().map(|v| v as i32).collect()),
        quant: anne_quant_t {
            input_offset: -(ints(&tin["zero_points"])[0] as i32),
            output_offset: z_out,
            act_min,
            act_max,
            scale: scale.as_ptr(),
            count: pairs.len(),
            post: std::ptr::null(),
            post_len: 0,
        },
        scale,
        out: vec![0; n_out],
        act: 0,
        softmax: [0; 3],
        table: Vec::new(),
        kind: ANNE_LAYER_CONV1D as u32,
        params,
    }
}

/// The C records of `layers` (their quant records point into the layers).
fn records(layers: &mut [Layer]) -> Vec<anne_layer_t> {
    layers
        .iter_mut()
        .map(|l| {
            l.quant.scale = l.scale.as_ptr();
            (l.quant.post, l.quant.post_len) = if l.act == anne::abi::ANNE_ACT_SOFTMAX as u32 {
                (l.softmax.as_ptr().cast(), 3)
            } else {
                (l.table.as_ptr().cast(), l.table.len())
            };
            // SAFETY: all-zero is a valid anne_activation_t (plain data);
            // an int8 layer reads only its kind.
            let mut act: anne_activation_t = unsafe { std::mem::zeroed() };
            act.kind = l.act;
            anne_layer_t {
                kind: l.kind,
                dtype: ANNE_DTYPE_S8 as u32,
                kernel: l.kernel.as_ptr().cast(),
                kernel_len: l.kernel.len(),
                bias: l
                    .bias
                    .as_ref()
                    .map_or(std::ptr::null(), |b| b.as_ptr().cast()),
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
    let status = unsafe {
        anne_forward(
            x.as_ptr().cast(),
            x.len(),
            recs.as_ptr(),
            recs.len(),
            &mut failed,
        )
    };
    (status, failed)
}

/// The fixtures made of FULLY_CONNECTED operators, each optionally followed
/// by one of the activations an int8 Dense layer applies.
fn dense_only_fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/int8");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc = fixture(&name);
        if doc["operators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|op| {
                ["FULLY_CONNECTED", "SOFTMAX", "LOGISTIC", "TANH", "GELU", "LEAKY_RELU"]
                    .contains(&op["opcode"].as_str().unwrap())
            })
            && doc["operators"][0]["opcode"] == "FULLY_CONNECTED"
        {
            out.push((name, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn dense_chains_through_the_c_abi_match_litert() {
    let fixtures = dense_only_fixtures();
    for name in ["dense_linear", "dense_relu_softmax", "act_sigmoid", "act_tanh", "act_gelu", "act_leaky_relu"] {
        assert!(fixtures.iter().any(|(n, _)| n == name), "{name}.json is a Dense chain");
    }
    let mut compared = 0;
    for (name, doc) in fixtures {
        let mut layers = layers_of(&doc, false);
        let recs = records(&mut layers);
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            let x = i8s(row);
            assert_eq!(forward(&recs, &x).0, ANNE_OK, "{name}: row {r}");
            // SAFETY: the last record's out is the last layer's vector,
            // written by the call; read through the record's pointer.
            let got = unsafe {
                std::slice::from_raw_parts(
                    recs.last().unwrap().out as *const i8,
                    recs.last().unwrap().out_len,
                )
            };
            assert_eq!(got, &i8s(&outputs[r])[..], "{name}: row {r}");
            compared += 1;
        }
    }
    assert!(compared >= 16, "only {compared} rows compared");
}

#[test]
fn conv1d_and_pooling_chains_through_the_c_abi_match_litert() {
    // Conv1D (CONV_2D of height 1, each padding and stride the fixtures
    // hold), MAX_POOL_2D and AVERAGE_POOL_2D of height 1 (valid and same),
    // MEAN and REDUCE_MAX over the steps, a Flatten (no record: it moves
    // nothing), a Dense (and softmax)
    let mut compared = 0;
    for name in ["conv1d_dense", "conv1d_variants", "pool1d_chain", "pool1d_global_max"] {
        let doc = fixture(name);
        let mut layers = layers_of(&doc, false);
        assert!(layers.iter().any(|l| l.kind == ANNE_LAYER_CONV1D as u32), "{name}");
        let recs = records(&mut layers);
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            assert_eq!(forward(&recs, &i8s(row)), (ANNE_OK, usize::MAX), "{name}: row {r}");
            assert_eq!(layers.last().unwrap().out, i8s(&outputs[r]), "{name}: row {r}");
            compared += 1;
        }
    }
    assert!(compared >= 64, "only {compared} rows compared");
}

#[test]
fn pooling_refusals() {
    use anne::abi::*;
    let doc = fixture("pool1d_chain");
    let x = i8s(&doc["rows"].as_array().unwrap()[0]);
    // layer 1 max pooling, 2 average pooling, 3 MEAN
    let check = |k: usize, change: &dyn Fn(&mut Layer), want: i32, what: &str| {
        let mut layers = layers_of(&doc, false);
        change(&mut layers[k]);
        let recs = records(&mut layers);
        let before = layers[k].out.clone();
        assert_eq!(forward(&recs, &x), (want, k), "{what}");
        assert_eq!(layers[k].out, before, "{what}: nothing written");
    };
    check(1, &|l| l.quant.output_offset += 1, ANNE_ERR_PARAM, "a pooling that changes the zero point");
    check(2, &|l| (l.quant.act_min, l.quant.act_max) = (5, 4), ANNE_ERR_PARAM, "act_min > act_max");
    check(3, &|l| l.quant.count = 0, ANNE_ERR_PARAM, "a MEAN without its multiplier");
    check(3, &|l| l.scale[1] = 32, ANNE_ERR_PARAM, "a MEAN's shift of 32");
    check(3, &|l| l.quant.act_min = 0, ANNE_ERR_PARAM, "a clamped MEAN");
    check(1, &|l| l.params[3] = 2, ANNE_ERR_LAYER_PARAM, "causal pooling");
    check(1, &|l| l.params[1] = 0, ANNE_ERR_LAYER_PARAM, "pool size 0");
    check(2, &|l| { l.out.pop(); }, ANNE_ERR_OUT_SIZE, "an out one short");
    check(3, &|l| { l.out.push(0); }, ANNE_ERR_OUT_SIZE, "a MEAN's out one long");
    check(1, &|l| l.params[0] = 3, ANNE_ERR_X_SIZE, "52 inputs in steps of 3 channels");
    let mut layers = layers_of(&doc, false);
    let mut recs = records(&mut layers);
    recs[1].act.kind = ANNE_ACT_RELU as u32;
    assert_eq!(forward(&recs, &x), (ANNE_ERR_ACTIVATION, 1));
    let mut recs = records(&mut layers);
    recs[2].kind = ANNE_LAYER_AFFINE as u32; // (no int8 kernel; the 2-D poolings have one: int8_2d_abi.rs)
    assert_eq!(forward(&recs, &x), (ANNE_ERR_KIND, 2));
}

#[test]
fn conv1d_refusals() {
    use anne::abi::*;
    let doc = fixture("conv1d_variants");
    let rows = doc["rows"].as_array().unwrap();
    let x = i8s(&rows[0]);
    let check = |change: &dyn Fn(&mut Vec<Layer>), want: i32, what: &str| {
        let mut layers = layers_of(&doc, false);
        change(&mut layers);
        let mut recs = records(&mut layers);
        if what == "an activation" {
            recs[0].act.kind = ANNE_ACT_RELU as u32;
        }
        let before = layers[0].out.clone();
        assert_eq!(forward(&recs, &x), (want, 0), "{what}");
        assert_eq!(layers[0].out, before, "{what}: nothing written");
    };
    check(&|l| l[0].quant.count = 3, ANNE_ERR_PARAM, "3 multipliers for 4 filters");
    check(&|l| l[0].quant.count = 0, ANNE_ERR_PARAM, "no multipliers");
    check(&|l| l[0].scale[4] = 32, ANNE_ERR_PARAM, "a shift of 32");
    check(&|l| (l[0].quant.act_min, l[0].quant.act_max) = (100, 50), ANNE_ERR_PARAM, "act_min > act_max");
    check(&|l| l[0].quant.input_offset = 200, ANNE_ERR_PARAM, "an input offset of 200");
    check(&|_| (), ANNE_ERR_ACTIVATION, "an activation");
    check(&|l| { l[0].kernel.pop(); }, ANNE_ERR_KERNEL_SIZE, "a kernel one short");
    check(&|l| { l[0].bias.as_mut().unwrap().pop(); }, ANNE_ERR_BIAS_SIZE, "a bias one short");
    check(&|l| { l[0].out.pop(); }, ANNE_ERR_OUT_SIZE, "an out one short");
    check(&|l| l[0].params[2] = 0, ANNE_ERR_LAYER_PARAM, "strides 0");
    check(&|l| l[0].params[3] = 3, ANNE_ERR_LAYER_PARAM, "padding 3");
    check(&|l| l[0].params[0] = 2, ANNE_ERR_X_SIZE, "33 inputs are not steps of 2 channels");
    check(&|l| l[0].params[1] = 5, ANNE_ERR_KERNEL_SIZE, "kernel_size 5, not 3");
    // a NULL quant, and out over the kernel
    let mut layers = layers_of(&doc, false);
    let mut recs = records(&mut layers);
    recs[0].quant = std::ptr::null();
    assert_eq!(forward(&recs, &x), (ANNE_ERR_NULL, 0));
    let mut recs = records(&mut layers);
    recs[0].out = recs[0].kernel as *mut _;
    recs[0].out_len = 4;
    recs[0].params[2] = 3;
    assert!(forward(&recs, &x).0 != ANNE_OK);
}

#[test]
fn per_tensor_scales_and_unaligned_int8_buffers() {
    // The same chain with each layer's first channel's scale for all
    // (count 1) must equal the per-channel chain where every channel has
    // that scale: checked against the kernel per channel, with x at
    // an odd address (int8 needs no alignment).
    let doc = fixture("dense_linear");
    let mut pc = layers_of(&doc, false);
    for l in &mut pc {
        let first = [l.scale[0], l.scale[1]];
        l.scale
            .chunks_exact_mut(2)
            .for_each(|w| w.copy_from_slice(&first));
    }
    let mut pt = layers_of(&doc, true);
    let (rpc, rpt) = (records(&mut pc), records(&mut pt));
    for row in doc["rows"].as_array().unwrap() {
        let mut buf = vec![0i8; 1];
        buf.extend(i8s(row));
        assert_eq!(forward(&rpc, &buf[1..]), (ANNE_OK, usize::MAX));
        assert_eq!(forward(&rpt, &buf[1..]), (ANNE_OK, usize::MAX));
        assert_eq!(pc.last().unwrap().out, pt.last().unwrap().out);
    }
}

#[test]
fn refusals_name_the_layer() {
    let doc = fixture("dense_linear");
    let mut layers = layers_of(&doc, false);
    let x = i8s(&doc["rows"][0]);
    let mut recs = records(&mut layers);
    // the second layer's input is the first's 7 outputs: a kernel for 6
    recs[1].kernel_len -= recs[1].out_len;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_KERNEL_SIZE, 1));
    let mut recs = records(&mut layers);
    recs[2].quant = std::ptr::null();
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_NULL, 2));
    // a NaN, infinite or missing scale (per channel and per tensor), an
    // odd or short count: refused, nothing written
    for (bits, layer) in [
        (f64::NAN.to_bits(), 0),
        (f64::INFINITY.to_bits(), 1),
        (f64::NEG_INFINITY.to_bits(), 2),
    ] {
        let mut bad = layers_of(&doc, false);
        let j = bad[layer].scale.len() / 2 - 1;
        bad[layer].scale[2 * j] = bits as u32;
        bad[layer].scale[2 * j + 1] = (bits >> 32) as u32;
        let recs = records(&mut bad);
        bad[layer].out.iter_mut().for_each(|v| *v = 5);
        assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_PARAM, layer));
        assert!(
            bad[layer].out.iter().all(|&v| v == 5),
            "written after a bad scale"
        );
        let mut pt = layers_of(&doc, true);
        pt[layer].scale[0] = bits as u32;
        pt[layer].scale[1] = (bits >> 32) as u32;
        assert_eq!(
            forward(&records(&mut pt), &x),
            (anne::abi::ANNE_ERR_PARAM, layer)
        );
    }
    let mut recs = records(&mut layers);
    let short = anne_quant_t {
        count: layers[1].quant.count - 1,
        ..layers[1].quant
    };
    recs[1].quant = &short;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_PARAM, 1));
    let none = anne_quant_t {
        scale: std::ptr::null(),
        ..layers[1].quant
    };
    recs[1].quant = &none;
    assert_eq!(forward(&recs, &x), (anne::abi::ANNE_ERR_NULL, 1));
    // an x of the wrong length
    let mut recs = records(&mut layers);
    assert_eq!(
        forward(&recs, &x[..5]),
        (anne::abi::ANNE_ERR_KERNEL_SIZE, 0)
    );
    // a float32 layer after int8 ones: refused before it reads anything
    recs[1].dtype = anne::abi::ANNE_DTYPE_F32 as u32;
    assert_eq!(
        forward(&recs, &x),
        (anne::abi::ANNE_ERR_KIND, 1),
        "mixed dtypes"
    );
}

#[test]
fn bad_activation_data_is_refused_before_anything_is_written() {
    let doc = fixture("dense_relu_softmax");
    let x = i8s(&doc["rows"][0]);
    let last = doc["operators"].as_array().unwrap().len() - 2; // the softmax's layer
    let run = |edit: &dyn Fn(&mut anne_layer_t, &mut anne_quant_t)| {
        let mut layers = layers_of(&doc, false);
        let mut recs = records(&mut layers);
        let mut q = layers[last].quant;
        edit(&mut recs[last], &mut q);
        recs[last].quant = &q;
        layers[last].out.iter_mut().for_each(|v| *v = 5);
        let r = forward(&recs, &x);
        assert!(layers[last].out.iter().all(|&v| v == 5), "written after a refusal");
        r
    };
    use anne::abi::*;
    assert_eq!(run(&|_, q| q.post_len = 2), (ANNE_ERR_PARAM, last));
    assert_eq!(run(&|_, q| q.post = std::ptr::null()), (ANNE_ERR_NULL, last));
    assert_eq!(run(&|l, _| l.act.kind = ANNE_ACT_GLU as u32), (ANNE_ERR_ACTIVATION, last));
    assert_eq!(run(&|l, _| l.act.kind = 200), (ANNE_ERR_ACTIVATION, last));
    // an element-wise kind wants a 256-entry table, not softmax's 3 words
    assert_eq!(run(&|l, _| l.act.kind = ANNE_ACT_TANH as u32), (ANNE_ERR_PARAM, last));
    // a table that is the layer's own output
    assert_eq!(
        run(&|l, q| {
            l.act.kind = ANNE_ACT_TANH as u32;
            q.post = l.out as *const _;
            q.post_len = 256;
        }),
        (ANNE_ERR_OVERLAP, last)
    );
    let bad_shift = [1 << 30, 32, -10];
    assert_eq!(
        run(&|_, q| q.post = bad_shift.as_ptr().cast()),
        (ANNE_ERR_PARAM, last)
    );
}
