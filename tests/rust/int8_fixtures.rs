//! Checks the int8 kernels (`anne::layers::*_s8`, `anne::math::requant`) bit for bit against LiteRT's
//! reference kernels, on the fixtures `tools/make_int8_fixtures.py` records
//! (`tests/fixtures/int8/*.json`: real Keras models converted by
//! TensorFlow's converter to full-integer int8, run by LiteRT with
//! `OpResolverType.BUILTIN_REF`).
//!
//! - every FULLY_CONNECTED, CONV_2D (height 1), MAX_POOL_2D and
//!   AVERAGE_POOL_2D (height 1), MEAN and REDUCE_MAX (over the steps), ADD
//!   and MUL operator of every fixture, on every row: its inputs are
//!   LiteRT's int8 tensors for that row (or the model's constants), its
//!   weights, bias and scales what LiteRT reports for the model; its output
//!   must equal LiteRT's output tensor exactly. Other operators (RESHAPE,
//!   SOFTMAX, CONCATENATION, ...) are not looked at here;
//! - every fixture made of FULLY_CONNECTED operators only, end to end: the
//!   chain from the int8 input row must give LiteRT's int8 output row.
//!
//! The multipliers are computed here as each operator's Prepare in LiteRT
//! computes them (FULLY_CONNECTED and CONV_2D: `(double)input_scale *
//! (double)filter_scale[j] / (double)output_scale`, `QuantizeMultiplier`;
//! MEAN: `(double)input_scale / (double)output_scale`; ADD: `left_shift` 20,
//! `twice_max = 2 * max(s1, s2)` in float, `s_k / twice_max` and
//! `twice_max / (2^20 * s_out)`; MUL: `s1 * s2 / s_out` in float), and the
//! fused activation's clamp as `CalculateActivationRangeQuantized` does:
//! inputs to the kernels, not expected values.
//!
//! Which rounding? The kinds other than FULLY_CONNECTED requantize with
//! `MultiplyByQuantizedMultiplier`, and they match LiteRT with
//! `Rounding::Double` (gemmlowp's, `TFLITE_SINGLE_ROUNDING=0`, the build's
//! default) on every value; `Rounding::Single` misses some of CONV_2D's,
//! MEAN's and MUL's (a test below). LiteRT's
//! reference FULLY_CONNECTED does not use `MultiplyByQuantizedMultiplier` at
//! all since April 2025 (LiteRT commit 921360770, "Make the
//! fully_connected ref kernel do requant in float": `round((double)acc *
//! input_scale * filter_scale / output_scale)`, half away from zero);
//! `Rounding::Single` happens to give the same on every recorded
//! FULLY_CONNECTED value and double rounding misses one (the tests below).
//! `dense_s8` with `Multipliers::FloatPerTensor` / `FloatPerChannel`
//! computes the float requantization itself (in integer arithmetic,
//! `anne::math::requant::requantize_float`), and is checked here on every
//! FULLY_CONNECTED value and end to end: parity by construction. Its
//! scales are computed as LiteRT's reference kernel computes them, from
//! the float32 scales: `(double)input_scale * (double)filter_scale[j] /
//! (double)output_scale`.

use anne::layers::conv1d::Conv1d;
use anne::layers::conv1d_s8::conv1d_s8;
use anne::layers::dense_s8::{dense_s8, DenseS8Params, Multipliers};
use anne::layers::elementwise_s8::{add_s8, mul_s8, AddS8Params, MulS8Params, ADD_LEFT_SHIFT};
use anne::layers::mean_s8::{mean_s8, reduce_max_s8, MeanS8Params};
use anne::layers::pool1d::{Pool, Pool1d};
use anne::layers::pool1d_s8::{pool1d_s8, PoolS8Params};
use anne::math::requant::{quantize_multiplier_for, FloatScale, Rounding};
use serde_json::Value;

mod int8_common;
use int8_common::{
    activation_range, compare_kinds, f64s, fixtures_in, i8s, ints, litert_fc_scale, padding,
    Tensors,
};
use std::collections::BTreeMap;

/// The fixtures of the 1-D and dense operators (the 2-D chains,
/// `int8_conv2d_*`, are tests/rust/int8_2d_abi.rs's; the 2-D graph
/// `graph_conv2d_resnet`'s merges tests/rust/int8_merge_abi.rs's).
fn fixtures() -> Vec<(String, Value)> {
    fixtures_in("int8", 3)
        .into_iter()
        .filter(|(name, _)| !name.contains("conv2d"))
        .collect()
}

fn scales(t: &Value) -> Vec<f64> {
    f64s(&t["scales"])
}

/// How a FULLY_CONNECTED operator requantizes here: Q31 multipliers with
/// one of `MultiplyByQuantizedMultiplier`'s builds, or LiteRT's reference
/// kernel's float scales.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Requant {
    Q31(Rounding),
    Float,
}

/// One FULLY_CONNECTED operator, ready to run.
struct Fc {
    input: usize,
    output: usize,
    filter: Vec<i8>,
    bias: Option<Vec<i32>>,
    multipliers: Vec<i32>,
    shifts: Vec<i32>,
    per_tensor: bool,
    input_offset: i32,
    output_offset: i32,
    act: (i32, i32),
    units: usize,
    rounding: Rounding,
    /// `Some` in float mode: one prepared scale per filter scale.
    float_scales: Option<Vec<FloatScale>>,
}

impl Fc {
    fn from_json(doc: &Value, op: &Value, requant: Requant) -> Fc {
        let rounding = match requant {
            Requant::Q31(r) => r,
            Requant::Float => Rounding::Single, // not used
        };
        let tensors = doc["tensors"].as_array().unwrap();
        let ins = ints(&op["inputs"]);
        let outs = ints(&op["outputs"]);
        let tin = &tensors[ins[0] as usize];
        let tw = &tensors[ins[1] as usize];
        let tout = &tensors[outs[0] as usize];
        assert_eq!(tw["dtype"], "int8");
        assert!(ints(&tw["zero_points"]).iter().all(|&z| z == 0));
        let filter = i8s(&tw["values"]);
        let shape = ints(&tw["shape"]);
        let units = shape[0] as usize;
        let bias = if ins.len() > 2 && ins[2] >= 0 {
            let tb = &tensors[ins[2] as usize];
            assert_eq!(tb["dtype"], "int32");
            Some(
                ints(&tb["values"])
                    .into_iter()
                    .map(|x| i32::try_from(x).unwrap())
                    .collect(),
            )
        } else {
            None
        };
        let s_in = scales(tin)[0];
        let s_out = scales(tout)[0];
        let s_w = scales(tw);
        let float_scales = (requant == Requant::Float).then(|| {
            s_w.iter()
                .map(|&s| FloatScale::from_f64(litert_fc_scale(s_in, s, s_out)).unwrap())
                .collect()
        });
        let (mut multipliers, mut shifts) = (Vec::new(), Vec::new());
        for s in &s_w {
            let (m, sh) = quantize_multiplier_for(s_in * s / s_out, rounding).unwrap();
            multipliers.push(m);
            shifts.push(sh);
        }
        let zin = ints(&tin["zero_points"])[0] as i32;
        let zout = ints(&tout["zero_points"])[0] as i32;
        let act = activation_range(op["fused_activation"].as_str().unwrap(), s_out as f32, zout);
        Fc {
            input: ins[0] as usize,
            output: outs[0] as usize,
            filter,
            bias,
            per_tensor: s_w.len() == 1,
            multipliers,
            shifts,
            input_offset: -zin,
            output_offset: zout,
            act,
            units,
            rounding,
            float_scales,
        }
    }

    fn run(&self, x: &[i8]) -> Vec<i8> {
        let multipliers = if let Some(scales) = &self.float_scales {
            if self.per_tensor {
                Multipliers::FloatPerTensor { scale: scales[0] }
            } else {
                Multipliers::FloatPerChannel { scales }
            }
        } else if self.per_tensor {
            Multipliers::PerTensor {
                multiplier: self.multipliers[0],
                shift: self.shifts[0],
            }
        } else {
            Multipliers::PerChannel {
                multipliers: &self.multipliers,
                shifts: &self.shifts,
            }
        };
        let p = DenseS8Params {
            input_offset: self.input_offset,
            output_offset: self.output_offset,
            act_min: self.act.0,
            act_max: self.act.1,
            multipliers,
            rounding: self.rounding,
        };
        let mut out = vec![0i8; self.units];
        dense_s8(x, &self.filter, self.bias.as_deref(), &mut out, &p).unwrap();
        out
    }
}

/// (operator rows compared, operator rows that differ) over every
/// FULLY_CONNECTED operator of every fixture.
fn compare_ops(requant: Requant, strict: bool) -> (usize, usize) {
    let (mut compared, mut differ) = (0usize, 0usize);
    for (name, doc) in fixtures() {
        let rows = doc["tensor_values"].as_array().unwrap();
        for (k, op) in doc["operators"].as_array().unwrap().iter().enumerate() {
            if op["opcode"] != "FULLY_CONNECTED" {
                continue;
            }
            let fc = Fc::from_json(&doc, op, requant);
            for (r, values) in rows.iter().enumerate() {
                let x = i8s(&values[fc.input.to_string()]);
                let want = i8s(&values[fc.output.to_string()]);
                let got = fc.run(&x);
                if strict {
                    assert_eq!(got, want, "{name}: operator {k}, row {r}");
                }
                differ += usize::from(got != want);
                compared += 1;
            }
        }
    }
    (compared, differ)
}

/// `dense_s8` in float mode: LiteRT's reference FULLY_CONNECTED's own
/// requantization, on every recorded operator row.
#[test]
fn every_fully_connected_op_matches_litert_bit_for_bit_in_float_mode() {
    let (compared, _) = compare_ops(Requant::Float, true);
    println!("int8 FULLY_CONNECTED, float mode: {compared} operator rows bit-exact with LiteRT");
    assert!(compared >= 200, "only {compared} rows compared");
}

#[test]
fn every_fully_connected_op_matches_litert_bit_for_bit() {
    let (compared, _) = compare_ops(Requant::Q31(Rounding::Single), true);
    println!("int8 FULLY_CONNECTED: {compared} operator rows bit-exact with LiteRT");
    assert!(compared >= 100, "only {compared} rows compared");
}

#[test]
fn dense_only_models_match_litert_end_to_end() {
    for requant in [Requant::Float, Requant::Q31(Rounding::Single)] {
        let compared = dense_only_end_to_end(requant);
        println!("int8 dense-only models ({requant:?}): {compared} rows bit-exact with LiteRT end to end");
        assert!(compared >= 16, "only {compared} rows compared");
    }
}

/// Runs every model made of FULLY_CONNECTED operators only on its rows,
/// asserting LiteRT's output row; the rows compared.
fn dense_only_end_to_end(requant: Requant) -> usize {
    let mut compared = 0usize;
    for (name, doc) in fixtures() {
        let ops = doc["operators"].as_array().unwrap();
        if !ops.iter().all(|op| op["opcode"] == "FULLY_CONNECTED") {
            continue;
        }
        let layers: Vec<Fc> = ops
            .iter()
            .map(|op| Fc::from_json(&doc, op, requant))
            .collect();
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            let mut x = i8s(row);
            for layer in &layers {
                x = layer.run(&x);
            }
            assert_eq!(x, i8s(&outputs[r]), "{name}: row {r} ({requant:?})");
            compared += 1;
        }
    }
    compared
}

/// On FULLY_CONNECTED the fixtures tell the two rounding builds apart:
/// double rounding misses at least one of LiteRT's values (LiteRT's
/// reference FULLY_CONNECTED requantizes in float, see the next test, which
/// single rounding happens to match on every recorded value).
#[test]
fn double_rounding_is_not_what_litert_computes() {
    let (compared, differ) = compare_ops(Requant::Q31(Rounding::Double), false);
    println!("double rounding: {differ} of {compared} operator rows differ from LiteRT");
    assert!(differ >= 1);
}

/// What LiteRT's reference FULLY_CONNECTED computes since LiteRT commit
/// 921360770 ("Make the fully_connected ref kernel do requant in float",
/// April 2025; `reference_integer_ops::FullyConnectedPerChannel`): the int32
/// accumulator times `(double)input_scale * (double)filter_scale[j] /
/// (double)output_scale`, rounded half away from zero (`round`), offset and
/// clamped. A fact about the oracle, checked here on every recorded value
/// with plain loops (no kernel of the crate): `dense_s8` with
/// `Rounding::Single` matches these fixtures, but is not this formula.
#[test]
fn litert_fully_connected_requantizes_in_float() {
    let mut compared = 0usize;
    for (name, doc) in fixtures() {
        let tensors = doc["tensors"].as_array().unwrap();
        let rows = doc["tensor_values"].as_array().unwrap();
        for op in doc["operators"].as_array().unwrap() {
            if op["opcode"] != "FULLY_CONNECTED" {
                continue;
            }
            let ins = ints(&op["inputs"]);
            let out_t = ints(&op["outputs"])[0] as usize;
            let (tin, tw, tout) = (
                &tensors[ins[0] as usize],
                &tensors[ins[1] as usize],
                &tensors[out_t],
            );
            let w = i8s(&tw["values"]);
            let units = ints(&tw["shape"])[0] as usize;
            let bias: Vec<i64> = if ins.len() > 2 && ins[2] >= 0 {
                ints(&tensors[ins[2] as usize]["values"])
            } else {
                vec![0; units]
            };
            let (s_in, s_out) = (scales(tin)[0], scales(tout)[0]);
            let s_w = scales(tw);
            let zin = ints(&tin["zero_points"])[0];
            let zout = ints(&tout["zero_points"])[0];
            let (lo, hi) = activation_range(
                op["fused_activation"].as_str().unwrap(),
                s_out as f32,
                zout as i32,
            );
            for row in rows {
                let x = i8s(&row[ins[0].to_string()]);
                let want = i8s(&row[out_t.to_string()]);
                for (j, ws) in w.chunks_exact(x.len()).enumerate() {
                    let acc: i64 = ws
                        .iter()
                        .zip(&x)
                        .map(|(&a, &b)| a as i64 * (b as i64 - zin))
                        .sum::<i64>()
                        + bias[j];
                    let eff = s_in * s_w[if s_w.len() == 1 { 0 } else { j }] / s_out;
                    let v = (acc as f64 * eff).round() as i64 + zout;
                    assert_eq!(
                        v.clamp(lo as i64, hi as i64),
                        want[j] as i64,
                        "{name}: unit {j}"
                    );
                    compared += 1;
                }
            }
        }
    }
    println!("LiteRT's FULLY_CONNECTED is the float requantization on all {compared} values");
    assert!(compared >= 1000);
}

// ---------------------------------------------------------------------
// CONV_2D, pooling, MEAN, REDUCE_MAX, ADD, MUL

/// The kinds checked operator by operator (FULLY_CONNECTED above).
const KINDS: [&str; 7] = [
    "CONV_2D",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "MEAN",
    "REDUCE_MAX",
    "ADD",
    "MUL",
];

fn fused_activation(op: &Value) -> &str {
    op.get("fused_activation")
        .or_else(|| op.get("options").and_then(|o| o.get("fused_activation")))
        .and_then(Value::as_str)
        .unwrap_or("NONE")
}

fn quantized(real: f64, rounding: Rounding) -> (i32, i32) {
    quantize_multiplier_for(real, rounding).unwrap()
}

/// Runs one operator of a checked kind on one row: `(got, want)`.
fn run_op(doc: &Tensors, op: &Value, row: &Value, rounding: Rounding) -> (Vec<i8>, Vec<i8>) {
    let kind = op["opcode"].as_str().unwrap();
    let ins = ints(&op["inputs"]);
    let out_t = ints(&op["outputs"])[0];
    let want = i8s(&row[out_t.to_string()]);
    let mut got = vec![0i8; want.len()];
    let (s_out, z_out) = (doc.scale(out_t), doc.zero_point(out_t));
    let act = activation_range(fused_activation(op), s_out, z_out);
    match kind {
        "CONV_2D" => {
            let (x_t, w_t) = (ins[0], ins[1]);
            let xs = doc.shape(x_t); // [batches, 1, steps, in_channels]
            let ws = doc.shape(w_t); // [filters, 1, kernel, in_channels]
            assert_eq!((xs.len(), xs[1], ws[1]), (4, 1, 1), "CONV_2D of height 1");
            assert_eq!(ws[3], xs[3], "groups 1");
            assert_eq!(
                (op["stride_h"].as_i64(), op["dilation_h"].as_i64()),
                (Some(1), Some(1))
            );
            let filter = i8s(doc.constant(w_t).unwrap());
            let bias = doc.bias(&ins);
            let (m, sh) = doc.multipliers(x_t, w_t, out_t, ws[0], rounding);
            let spec = Conv1d {
                in_channels: xs[3],
                kernel_size: ws[2],
                strides: op["stride_w"].as_u64().unwrap() as usize,
                dilation: op["dilation_w"].as_u64().unwrap() as usize,
                padding: padding(&op["padding"]),
            };
            let p = DenseS8Params {
                input_offset: -doc.zero_point(x_t),
                output_offset: z_out,
                act_min: act.0,
                act_max: act.1,
                multipliers: Multipliers::PerChannel {
                    multipliers: &m,
                    shifts: &sh,
                },
                rounding,
            };
            // batches (SPACE_TO_BATCH_ND's) are convolved one by one
            let x = doc.values(x_t, row);
            let b = xs[0];
            let (n_in, n_out) = (x.len() / b, got.len() / b);
            for (xb, ob) in x.chunks_exact(n_in).zip(got.chunks_exact_mut(n_out)) {
                conv1d_s8(&spec, xb, &filter, bias.as_deref(), ob, &p).unwrap();
            }
        }
        "MAX_POOL_2D" | "AVERAGE_POOL_2D" => {
            let x_t = ins[0];
            let xs = doc.shape(x_t);
            assert_eq!((xs.len(), xs[0], xs[1]), (4, 1, 1), "pooling of height 1");
            assert_eq!(
                (op["filter_height"].as_i64(), op["stride_h"].as_i64()),
                (Some(1), Some(1))
            );
            assert_eq!((doc.scale(x_t), doc.zero_point(x_t)), (s_out, z_out));
            let spec = Pool1d {
                pool: if kind == "MAX_POOL_2D" {
                    Pool::Max
                } else {
                    Pool::Average
                },
                global: false,
                channels: xs[3],
                pool_size: op["filter_width"].as_u64().unwrap() as usize,
                strides: op["stride_w"].as_u64().unwrap() as usize,
                padding: padding(&op["padding"]),
            };
            let p = PoolS8Params {
                act_min: act.0,
                act_max: act.1,
            };
            pool1d_s8(&spec, &doc.values(x_t, row), &mut got, &p).unwrap();
        }
        "MEAN" | "REDUCE_MAX" => {
            let x_t = ins[0];
            let xs = doc.shape(x_t);
            let axes: Vec<usize> = ints(doc.constant(ins[1]).unwrap())
                .into_iter()
                .map(|a| if a < 0 { a + xs.len() as i64 } else { a } as usize)
                .collect();
            // over the steps: the axes reduced lie between the batch (1)
            // and the channels (the last axis, kept)
            assert_eq!(xs[0], 1);
            assert!(
                !axes.contains(&(xs.len() - 1)) && !axes.contains(&0),
                "{axes:?}"
            );
            assert!(
                (1..xs.len() - 1).all(|d| axes.contains(&d) || xs[d] == 1),
                "{xs:?} {axes:?}"
            );
            assert_eq!(got.len(), xs[xs.len() - 1]);
            let x = doc.values(x_t, row);
            if kind == "MEAN" {
                let (multiplier, shift) = quantized(doc.scale(x_t) as f64 / s_out as f64, rounding);
                let p = MeanS8Params {
                    input_zero_point: doc.zero_point(x_t),
                    output_zero_point: z_out,
                    multiplier,
                    shift,
                    rounding,
                };
                mean_s8(&x, &mut got, &p).unwrap();
            } else {
                assert_eq!((doc.scale(x_t), doc.zero_point(x_t)), (s_out, z_out));
                reduce_max_s8(&x, &mut got).unwrap();
            }
        }
        "ADD" | "MUL" => {
            let (a_t, b_t) = (ins[0], ins[1]);
            // the kernels' broadcasting: a smaller input's shape (without
            // leading 1s) is a suffix of the output's
            let out_shape = doc.shape(out_t);
            for i in [a_t, b_t] {
                let sh = doc.shape(i);
                let trimmed: Vec<usize> = sh.iter().copied().skip_while(|&d| d == 1).collect();
                let n: usize = sh.iter().product();
                assert!(
                    n == got.len() || out_shape.ends_with(&trimmed),
                    "{kind}: {sh:?} against {out_shape:?}"
                );
            }
            let (a, b) = (doc.values(a_t, row), doc.values(b_t, row));
            let (s1, s2) = (doc.scale(a_t), doc.scale(b_t));
            let (z1, z2) = (doc.zero_point(a_t), doc.zero_point(b_t));
            if kind == "ADD" {
                // add.cc's Prepare (int8): float max, doubled in float
                let twice_max = (2.0 * s1.max(s2)) as f64;
                let (m1, sh1) = quantized(s1 as f64 / twice_max, rounding);
                let (m2, sh2) = quantized(s2 as f64 / twice_max, rounding);
                let (mo, sho) = quantized(
                    twice_max / (((1i32 << ADD_LEFT_SHIFT) as f32 * s_out) as f64),
                    rounding,
                );
                let p = AddS8Params {
                    input1_offset: -z1,
                    input2_offset: -z2,
                    output_offset: z_out,
                    input1_multiplier: m1,
                    input1_shift: sh1,
                    input2_multiplier: m2,
                    input2_shift: sh2,
                    output_multiplier: mo,
                    output_shift: sho,
                    act_min: act.0,
                    act_max: act.1,
                    rounding,
                };
                add_s8(&a, &b, &mut got, &p).unwrap();
            } else {
                // mul.cc's Prepare: the product and quotient in float
                let (multiplier, shift) = quantized((s1 * s2 / s_out) as f64, rounding);
                let p = MulS8Params {
                    input1_offset: -z1,
                    input2_offset: -z2,
                    output_offset: z_out,
                    multiplier,
                    shift,
                    act_min: act.0,
                    act_max: act.1,
                    rounding,
                };
                mul_s8(&a, &b, &mut got, &p).unwrap();
            }
        }
        other => panic!("not a checked kind: {other}"),
    }
    (got, want)
}

/// Per kind: (values compared, operator rows compared, operator rows that
/// differ), over every operator of the kinds in [`KINDS`] in every fixture.
fn compare(rounding: Rounding, strict: bool) -> BTreeMap<&'static str, (usize, usize, usize)> {
    let docs = fixtures();
    let models = docs.iter().map(|(name, doc)| (name.clone(), doc));
    compare_kinds(models, &KINDS, strict, |t, op, row| {
        run_op(t, op, row, rounding)
    })
}

#[test]
fn every_conv_pool_mean_add_mul_op_matches_litert_bit_for_bit() {
    let counts = compare(Rounding::Double, true);
    for (kind, (values, rows, _)) in &counts {
        println!("int8 {kind}: {values} values in {rows} operator rows bit-exact with LiteRT");
        // every kind is in the fixtures, each on at least 16 rows
        assert!(*rows >= 16, "{kind}: only {rows} operator rows compared");
    }
}

/// Single rounding misses LiteRT's CONV_2D and MEAN values (the fixtures
/// tell the two builds apart for these kinds); the kinds that do not
/// requantize are unaffected.
#[test]
fn single_rounding_is_not_what_litert_computes_for_these_kinds() {
    let counts = compare(Rounding::Single, false);
    for (kind, (_, rows, differ)) in &counts {
        println!("single rounding: {differ} of {rows} {kind} operator rows differ from LiteRT");
    }
    assert_eq!(
        counts["MAX_POOL_2D"].2 + counts["AVERAGE_POOL_2D"].2 + counts["REDUCE_MAX"].2,
        0
    );
    assert!(counts["MEAN"].2 >= 1 && counts["CONV_2D"].2 >= 1);
}
