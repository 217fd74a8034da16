//! What the int8 test crates (int8_fixtures, conv2d_fixtures, int8_abi,
//! int8_activations) share: reading the fixtures' JSON (the files, a
//! model's tensors, the operators compared kind by kind), and the parts of
//! LiteRT's Prepare that turn a model's scales into a kernel's inputs,
//! written out from LiteRT's source (not from anne's kernels).
#![allow(dead_code)] // (each crate uses its own subset)

use anne::layers::window::Padding;
use anne::math::requant::{quantize_multiplier_for, Rounding};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Every `tests/fixtures/<dir>/*.json`, parsed, by name (the file's stem),
/// sorted; at least `at_least` of them.
pub fn fixtures_in(dir: &str, at_least: usize) -> Vec<(String, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&path).expect(dir) {
        let file = entry.unwrap().path();
        if file.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, serde_json::from_str(&text).unwrap()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= at_least,
        "expected the fixtures in {}",
        path.display()
    );
    out
}

/// A TFLite model's tensors as a fixture records them (`shape`, `scales`,
/// `zero_points`, a constant's `values`), by index.
pub struct Tensors<'a>(pub &'a [Value]);

impl Tensors<'_> {
    pub fn t(&self, i: i64) -> &Value {
        &self.0[i as usize]
    }
    /// The shape LiteRT ran the tensor with: its `litert_shape` where the
    /// file's differs (SPACE_TO_BATCH_ND's batches, which the file writes as
    /// batch 1), else its `shape`.
    pub fn shape(&self, i: i64) -> Vec<usize> {
        let t = self.t(i);
        usizes(if t["litert_shape"].is_array() { &t["litert_shape"] } else { &t["shape"] })
    }
    /// The (single) scale, as LiteRT holds it: float32.
    pub fn scale(&self, i: i64) -> f32 {
        let s = f64s(&self.t(i)["scales"]);
        assert_eq!(s.len(), 1, "tensor {i}: one scale");
        s[0] as f32
    }
    pub fn zero_point(&self, i: i64) -> i32 {
        let z = ints(&self.t(i)["zero_points"]);
        assert_eq!(z.len(), 1, "tensor {i}: one zero point");
        z[0] as i32
    }
    pub fn constant(&self, i: i64) -> Option<&Value> {
        self.t(i).get("values").filter(|v| !v.is_null())
    }
    /// A tensor's int8 values for one row: the constant's, or LiteRT's.
    pub fn values(&self, i: i64, row: &Value) -> Vec<i8> {
        match self.constant(i) {
            Some(v) => i8s(v),
            None => i8s(&row[i.to_string()]),
        }
    }
    /// A convolution's int32 bias (its third input), if it has one.
    pub fn bias(&self, ins: &[i64]) -> Option<Vec<i32>> {
        ins.get(2).filter(|&&b| b >= 0).map(|&b| {
            ints(self.constant(b).unwrap())
                .into_iter()
                .map(|v| i32::try_from(v).unwrap())
                .collect()
        })
    }
    /// Per output channel, LiteRT's `PopulateConvolutionQuantizationParams`:
    /// `QuantizeMultiplier((double)s_in * (double)s_w[o] / (double)s_out)`
    /// (one filter scale broadcast to the `n` channels); the filter's zero
    /// points must be 0.
    pub fn multipliers(
        &self,
        x_t: i64,
        w_t: i64,
        out_t: i64,
        n: usize,
        rounding: Rounding,
    ) -> (Vec<i32>, Vec<i32>) {
        let s_in = self.scale(x_t) as f64;
        let s_out = self.scale(out_t) as f64;
        let s_w = f64s(&self.t(w_t)["scales"]);
        assert!(ints(&self.t(w_t)["zero_points"]).iter().all(|&z| z == 0));
        (0..n)
            .map(|o| {
                let s = s_w[if s_w.len() == 1 { 0 } else { o }] as f32 as f64;
                quantize_multiplier_for(s_in * s / s_out, rounding).unwrap()
            })
            .unzip()
    }
}

/// Keras's or TFLite's padding name.
pub fn padding(v: &Value) -> Padding {
    match v.as_str().unwrap() {
        "valid" | "VALID" => Padding::Valid,
        "same" | "SAME" => Padding::Same,
        other => panic!("padding {other}"),
    }
}

/// Per kind: (values compared, operator rows compared, operator rows that
/// differ), over every operator of `kinds` in each model (`(name, model)`:
/// a model's `tensors`, `operators` and `tensor_values`), on every row:
/// `run(tensors, operator, row)` gives `(got, want)`, which must be equal
/// when `strict`.
pub fn compare_kinds<'a>(
    models: impl IntoIterator<Item = (String, &'a Value)>,
    kinds: &[&'static str],
    strict: bool,
    run: impl Fn(&Tensors, &Value, &Value) -> (Vec<i8>, Vec<i8>),
) -> BTreeMap<&'static str, (usize, usize, usize)> {
    let mut counts: BTreeMap<&'static str, (usize, usize, usize)> =
        kinds.iter().map(|&k| (k, (0, 0, 0))).collect();
    for (name, model) in models {
        let t = Tensors(model["tensors"].as_array().unwrap());
        let rows = model["tensor_values"].as_array().unwrap();
        for (k, op) in model["operators"].as_array().unwrap().iter().enumerate() {
            let Some(&kind) = kinds.iter().find(|&&x| op["opcode"] == x) else {
                continue;
            };
            for (r, row) in rows.iter().enumerate() {
                let (got, want) = run(&t, op, row);
                if strict {
                    assert_eq!(got, want, "{name}: operator {k} ({kind}), row {r}");
                }
                let c = counts.get_mut(kind).unwrap();
                c.0 += want.len();
                c.1 += 1;
                c.2 += usize::from(got != want);
            }
        }
    }
    counts
}

pub fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

pub fn i8s(v: &Value) -> Vec<i8> {
    ints(v)
        .into_iter()
        .map(|x| i8::try_from(x).unwrap())
        .collect()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// LiteRT's reference FULLY_CONNECTED's effective scale for one unit, from
/// the float32 scales (`static_cast<double>` of each, a product and a
/// quotient in double).
pub fn litert_fc_scale(s_in: f64, s_w: f64, s_out: f64) -> f64 {
    (s_in as f32 as f64) * (s_w as f32 as f64) / (s_out as f32 as f64)
}

/// LiteRT's `CalculateActivationRangeQuantized` for int8 (the quantize
/// lambda: `zero_point + (int32)TfLiteRound(f / scale)`, in float).
pub fn activation_range(act: &str, scale: f32, zero_point: i32) -> (i32, i32) {
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

pub fn f32s(v: &Value) -> Vec<f32> {
    f64s(v).into_iter().map(|x| x as f32).collect()
}

pub fn usizes(v: &Value) -> Vec<usize> {
    ints(v)
        .into_iter()
        .map(|x| usize::try_from(x).unwrap())
        .collect()
}
