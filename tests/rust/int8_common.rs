//! What the int8 test crates (int8_fixtures, int8_abi, int8_activations)
//! share: reading the fixtures' JSON, and the parts of LiteRT's Prepare that
//! turn a model's scales into a kernel's inputs, written out from LiteRT's
//! source (not from anne's kernels).
#![allow(dead_code)] // (each crate uses its own subset)

use serde_json::Value;

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
