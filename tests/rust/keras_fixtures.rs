//! Checks every case of the Keras fixtures (`tests/fixtures/activations.json`
//! and `tests/fixtures/dense.json`, written by
//! `tools/make_activation_fixtures.py`) through the safe Rust API and through
//! the C ABI functions.
//!
//! Tolerance: |got - want| <= 1e-6 + 1e-6 * |want|, NaN matches NaN, equal
//! infinities match. Every activation, exp-based ones included, meets it;
//! the fixtures' "keras_differs" entries (see the generator) are the only
//! places where the expected value is not Keras's own float32 output.

use anne::abi::{anne_activation_t, ANNE_OK};
use anne::ffi::{anne_activate_f32, anne_activation_default, anne_dense_f32};
use anne::{activate_f32, dense_f32, Activation};
use serde_json::Value;
use std::path::Path;

const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-6;

fn manifest_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn kind_of(name: &str) -> u32 {
    anne::ops_table::NAMES
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("no kind {name}")) as u32
}

fn number(v: &Value) -> f32 {
    match v {
        Value::Number(n) => n.as_f64().unwrap() as f32,
        Value::String(s) => match s.as_str() {
            "inf" => f32::INFINITY,
            "-inf" => f32::NEG_INFINITY,
            "nan" => f32::NAN,
            other => panic!("bad number {other:?}"),
        },
        other => panic!("bad number {other:?}"),
    }
}

fn numbers(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(number).collect()
}

fn close(got: f32, want: f32, rtol: f64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got == want {
        return true;
    }
    let (g, w) = (got as f64, want as f64);
    (g - w).abs() <= ATOL + rtol * w.abs()
}

/// The C struct for a fixture's name and params: Keras defaults from
/// `anne_activation_default`, then the params given.
fn abi_activation(name: &str, params: &Value) -> anne_activation_t {
    let mut raw = std::mem::MaybeUninit::<anne_activation_t>::uninit();
    // SAFETY: raw is writable; the function fills it on ANNE_OK.
    let status = unsafe { anne_activation_default(kind_of(name), raw.as_mut_ptr()) };
    assert_eq!(status, ANNE_OK);
    // SAFETY: initialised by anne_activation_default above.
    let mut raw = unsafe { raw.assume_init() };
    for (key, value) in params.as_object().unwrap() {
        match key.as_str() {
            "negative_slope" => raw.negative_slope = number(value),
            "alpha" => raw.alpha = number(value),
            "threshold" => raw.threshold = number(value),
            "default_value" => raw.default_value = number(value),
            "b" => raw.b = number(value),
            "max_value" => {
                raw.max_value = number(value);
                raw.has_max_value = 1;
            }
            "approximate" => raw.approximate = value.as_bool().unwrap() as u8,
            other => panic!("unknown param {other}"),
        }
    }
    raw
}

fn load(relative: &str, key: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(manifest_path(relative)).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json[key].as_array().unwrap().clone()
}

/// Compares `got` with `want`, returning one line per mismatch.
fn mismatches(label: &str, got: &[f32], want: &[f32], rtol: f64) -> Vec<String> {
    assert_eq!(got.len(), want.len(), "{label}: length");
    got.iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (&g, &w))| !close(g, w, rtol))
        .map(|(i, (g, w))| format!("{label}[{i}]: got {g:e}, want {w:e}"))
        .collect()
}

#[test]
fn keras_activations_through_safe_api_and_c_abi() {
    let cases = load("tests/fixtures/activations.json", "activations");
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let params = &case["params"];
        let x = numbers(&case["x"]);
        let y = numbers(&case["y"]);
        let rtol = RTOL;
        let label = format!("#{index} {name} {params}");
        let raw = abi_activation(name, params);

        let act = Activation::from_abi(&raw).unwrap();
        let mut buf = x.clone();
        let outputs = activate_f32(&mut buf, &act).unwrap();
        failures.extend(mismatches(
            &format!("{label} safe"),
            &buf[..outputs],
            &y,
            rtol,
        ));

        let mut buf = x.clone();
        // SAFETY: buf holds x.len() floats; raw is a valid struct.
        let status = unsafe { anne_activate_f32(buf.as_mut_ptr(), buf.len(), &raw) };
        assert_eq!(status, ANNE_OK, "{label}");
        failures.extend(mismatches(&format!("{label} C"), &buf[..y.len()], &y, rtol));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn keras_dense_layers_through_safe_api_and_c_abi() {
    let cases = load("tests/fixtures/dense.json", "dense");
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let name = case["activation"].as_str().unwrap();
        let params = &case["params"];
        let n_in = case["n_in"].as_u64().unwrap() as usize;
        let units = case["units"].as_u64().unwrap() as usize;
        let x = numbers(&case["x"]);
        let kernel = numbers(&case["kernel"]);
        let bias = (!case["bias"].is_null()).then(|| numbers(&case["bias"]));
        let y = numbers(&case["y"]);
        assert_eq!((x.len(), kernel.len()), (n_in, n_in * units));
        let rtol = RTOL;
        let label = format!("#{index} {n_in}x{units} {name}");
        let raw = abi_activation(name, params);

        let act = Activation::from_abi(&raw).unwrap();
        let mut out = vec![f32::NAN; y.len()];
        dense_f32(&x, &kernel, bias.as_deref(), &mut out, &act).unwrap();
        failures.extend(mismatches(&format!("{label} safe"), &out, &y, rtol));

        let mut out = vec![f32::NAN; y.len()];
        let (bias_ptr, bias_len) = match &bias {
            Some(b) => (b.as_ptr(), b.len()),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe {
            anne_dense_f32(
                x.as_ptr(),
                n_in,
                kernel.as_ptr(),
                kernel.len(),
                bias_ptr,
                bias_len,
                out.as_mut_ptr(),
                out.len(),
                &raw,
            )
        };
        assert_eq!(status, ANNE_OK, "{label}");
        failures.extend(mismatches(&format!("{label} C"), &out, &y, rtol));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_cover_every_activation() {
    let cases = load("tests/fixtures/activations.json", "activations");
    for name in anne::ops_table::NAMES {
        assert!(
            cases.iter().any(|c| c["name"] == name),
            "no fixture for {name}"
        );
    }
}
