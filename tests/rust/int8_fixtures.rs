//! Checks the int8 kernels (`anne::layers::*_s8`, `anne::math::requant`) bit for bit against LiteRT's
//! reference kernels, on the fixtures `tools/make_int8_fixtures.py` records
//! (`tests/fixtures/int8/*.json`: real Keras models converted by
//! TensorFlow's converter to full-integer int8, run by LiteRT with
//! `OpResolverType.BUILTIN_REF`).
//!
//! - every FULLY_CONNECTED operator of every fixture, on every row: its
//!   input is LiteRT's int8 input tensor for that row, its weights, bias and
//!   scales are what LiteRT reports for the model; its output must equal
//!   LiteRT's output tensor exactly;
//! - every fixture made of FULLY_CONNECTED operators only, end to end: the
//!   chain from the int8 input row must give LiteRT's int8 output row.
//!
//! The multipliers are computed here as LiteRT's FULLY_CONNECTED prepares
//! them for per-channel weights (`(double)input_scale *
//! (double)filter_scale[j] / (double)output_scale`, `QuantizeMultiplier`;
//! every fixture's FULLY_CONNECTED has per-channel weights), and the fused
//! activation's clamp as `CalculateActivationRangeQuantized` does: both
//! inputs to the kernel, not expected values.
//!
//! LiteRT's wheel is built with `TFLITE_SINGLE_ROUNDING=1`: the kernels run
//! with `Rounding::Single`; a last test shows that double rounding (gemmlowp's,
//! `TFLITE_SINGLE_ROUNDING=0`) does not reproduce LiteRT's outputs.

use anne::layers::dense_s8::{dense_s8, DenseS8Params, Multipliers};
use anne::math::requant::{quantize_multiplier_for, Rounding};
use serde_json::Value;
use std::path::Path;

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/int8");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/int8") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, serde_json::from_str(&text).unwrap()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 3,
        "expected the int8 fixtures in {}",
        dir.display()
    );
    out
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn i8s(v: &Value) -> Vec<i8> {
    ints(v)
        .into_iter()
        .map(|x| i8::try_from(x).unwrap())
        .collect()
}

fn scales(t: &Value) -> Vec<f64> {
    t["scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// LiteRT's `CalculateActivationRangeQuantized` for int8 (the quantize
/// lambda: `zero_point + (int32)TfLiteRound(f / scale)`, in float).
fn activation_range(act: &str, scale: f32, zero_point: i32) -> (i32, i32) {
    let q = |f: f32| zero_point + (f / scale).round() as i32;
    let (lo, hi) = (-128, 127);
    match act {
        "NONE" => (lo, hi),
        "RELU" => (lo.max(q(0.0)), hi),
        "RELU6" => (lo.max(q(0.0)), hi.min(q(6.0))),
        "RELU_N1_TO_1" => (lo.max(q(-1.0)), hi.min(q(1.0))),
        other => panic!("fused activation {other} not handled here"),
    }
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
}

impl Fc {
    fn from_json(doc: &Value, op: &Value, rounding: Rounding) -> Fc {
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
        }
    }

    fn run(&self, x: &[i8]) -> Vec<i8> {
        let multipliers = if self.per_tensor {
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
fn compare_ops(rounding: Rounding, strict: bool) -> (usize, usize) {
    let (mut compared, mut differ) = (0usize, 0usize);
    for (name, doc) in fixtures() {
        let rows = doc["tensor_values"].as_array().unwrap();
        for (k, op) in doc["operators"].as_array().unwrap().iter().enumerate() {
            if op["opcode"] != "FULLY_CONNECTED" {
                continue;
            }
            let fc = Fc::from_json(&doc, op, rounding);
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

#[test]
fn every_fully_connected_op_matches_litert_bit_for_bit() {
    let (compared, _) = compare_ops(Rounding::Single, true);
    println!("int8 FULLY_CONNECTED: {compared} operator rows bit-exact with LiteRT");
    assert!(compared >= 100, "only {compared} rows compared");
}

#[test]
fn dense_only_models_match_litert_end_to_end() {
    let mut compared = 0usize;
    for (name, doc) in fixtures() {
        let ops = doc["operators"].as_array().unwrap();
        if !ops.iter().all(|op| op["opcode"] == "FULLY_CONNECTED") {
            continue;
        }
        let layers: Vec<Fc> = ops
            .iter()
            .map(|op| Fc::from_json(&doc, op, Rounding::Single))
            .collect();
        let outputs = doc["outputs"].as_array().unwrap();
        for (r, row) in doc["rows"].as_array().unwrap().iter().enumerate() {
            let mut x = i8s(row);
            for layer in &layers {
                x = layer.run(&x);
            }
            assert_eq!(x, i8s(&outputs[r]), "{name}: row {r}");
            compared += 1;
        }
    }
    println!("int8 dense-only models: {compared} rows bit-exact with LiteRT end to end");
    assert!(compared >= 16, "only {compared} rows compared");
}

/// The fixtures tell TFLite's two rounding builds apart: gemmlowp's double
/// rounding misses at least one of LiteRT's values (so LiteRT is not the
/// double-rounding build, and the fixtures would catch a kernel that is).
#[test]
fn double_rounding_is_not_what_litert_computes() {
    let (compared, differ) = compare_ops(Rounding::Double, false);
    println!("double rounding: {differ} of {compared} operator rows differ from LiteRT");
    assert!(differ >= 1);
}
