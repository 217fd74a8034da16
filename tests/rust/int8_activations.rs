//! Checks the int8 activation kernels (`anne::activation::s8`) bit for bit
//! against LiteRT, on the fixtures `tools/make_int8_act_fixtures.py` records
//! (`tests/fixtures/int8/act_*.json`: seeded Keras models converted by
//! TensorFlow 2.21's converter to full-integer int8, run by ai-edge-litert
//! 2.3 with `OpResolverType.BUILTIN_REF`; ELU, which the converter keeps in
//! float and the reference resolver lacks, on the converter's model with the
//! float island replaced by LiteRT's int8 ELU).
//!
//! Every activation operator of every fixture (LOGISTIC, TANH, SOFTMAX,
//! HARD_SWISH, LEAKY_RELU, PRELU, ELU, GELU, EXP, LOG), on every row: its input is
//! LiteRT's int8 input tensor for that row, its table or multipliers are
//! prepared here from the tensors' scales and zero points and the
//! operator's options as LiteRT's `Prepare` does (`activation_table`,
//! the `*_prepare` functions); its output must equal LiteRT's output tensor
//! exactly. The `*_sweep` fixtures feed every int8 value to the operator,
//! so every entry of a table is compared.

use anne::activation::s8::{
    activation_table, hard_swish_s8, hard_swish_s8_prepare, leaky_relu_s8, leaky_relu_s8_prepare,
    lut_s8, prelu_s8, prelu_s8_prepare, softmax_s8, softmax_s8_prepare, TableFn, TableS8,
};
use anne::math::requant::Rounding;
use serde_json::Value;

mod int8_common;
use int8_common::i8s;
use std::collections::BTreeMap;
use std::path::Path;

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/int8");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/int8") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name.starts_with("act_") && path.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((name, serde_json::from_str(&text).unwrap()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 10,
        "expected the act_* fixtures in {}",
        dir.display()
    );
    out
}

/// (scale, zero point) of a per-tensor quantized tensor, the scale as the
/// float LiteRT holds (the JSON has it widened to double).
fn quant(t: &Value) -> (f32, i32) {
    let s = t["scales"].as_array().unwrap();
    let z = t["zero_points"].as_array().unwrap();
    assert_eq!(s.len(), 1);
    (s[0].as_f64().unwrap() as f32, z[0].as_i64().unwrap() as i32)
}

/// One activation operator, prepared as LiteRT's `Prepare` prepares it.
enum Prepared {
    Table(Box<TableS8>),
    Softmax(anne::activation::s8::SoftmaxS8Params, usize),
    HardSwish(anne::activation::s8::HardSwishS8Params),
    LeakyRelu(anne::activation::s8::LeakyReluS8Params),
    Prelu(anne::activation::s8::PreluS8Params, Vec<i8>),
}

fn prepare(op: &Value, tensors: &[Value], rounding: Rounding) -> Option<Prepared> {
    let tin = &tensors[op["inputs"][0].as_u64().unwrap() as usize];
    let tout = &tensors[op["outputs"][0].as_u64().unwrap() as usize];
    let (si, zi) = quant(tin);
    let (so, zo) = quant(tout);
    let opcode = op["opcode"].as_str().unwrap();
    let table_fn = match opcode {
        "LOGISTIC" => Some(TableFn::Logistic),
        "TANH" => Some(TableFn::Tanh),
        "ELU" => Some(TableFn::Elu),
        "EXP" => Some(TableFn::Exp),
        "LOG" => Some(TableFn::Log),
        "GELU" => Some(TableFn::Gelu {
            approximate: op["approximate"].as_bool().unwrap(),
        }),
        _ => None,
    };
    if let Some(f) = table_fn {
        let mut table = Box::new([0i8; 256]);
        activation_table(f, si, zi, so, zo, &mut table).unwrap();
        return Some(Prepared::Table(table));
    }
    match opcode {
        "SOFTMAX" => {
            let beta = op["beta"].as_f64().unwrap() as f32;
            let shape = tin["shape"].as_array().unwrap();
            let depth = shape.last().unwrap().as_u64().unwrap() as usize;
            let p = softmax_s8_prepare(beta, si, so, zo, rounding).unwrap();
            Some(Prepared::Softmax(p, depth))
        }
        "HARD_SWISH" => Some(Prepared::HardSwish(
            hard_swish_s8_prepare(si, zi, so, zo, rounding).unwrap(),
        )),
        "LEAKY_RELU" => {
            let alpha = op["alpha"].as_f64().unwrap() as f32;
            Some(Prepared::LeakyRelu(
                leaky_relu_s8_prepare(alpha, si, zi, so, zo, rounding).unwrap(),
            ))
        }
        "PRELU" => {
            let ta = &tensors[op["inputs"][1].as_u64().unwrap() as usize];
            let (sa, za) = quant(ta);
            let alpha = i8s(&ta["values"]);
            let p = prelu_s8_prepare(si, zi, sa, za, so, zo, rounding).unwrap();
            Some(Prepared::Prelu(p, alpha))
        }
        _ => None,
    }
}

fn run(p: &Prepared, x: &[i8]) -> Vec<i8> {
    let mut out = vec![0i8; x.len()];
    match p {
        Prepared::Table(t) => lut_s8(x, t, &mut out).unwrap(),
        Prepared::Softmax(sp, depth) => softmax_s8(x, *depth, &mut out, sp).unwrap(),
        Prepared::HardSwish(hp) => hard_swish_s8(x, &mut out, hp).unwrap(),
        Prepared::LeakyRelu(lp) => leaky_relu_s8(x, &mut out, lp).unwrap(),
        Prepared::Prelu(pp, alpha) => prelu_s8(x, alpha, &mut out, pp).unwrap(),
    }
    out
}

/// Per opcode: (values compared, values that differ, distinct input values).
fn compare(
    rounding_of: &dyn Fn(&str) -> Rounding,
    strict: bool,
) -> BTreeMap<String, (usize, usize, usize)> {
    let mut stats: BTreeMap<String, (usize, usize, [bool; 256])> = BTreeMap::new();
    for (name, doc) in fixtures() {
        let tensors = doc["tensors"].as_array().unwrap();
        let rows = doc["tensor_values"].as_array().unwrap();
        for (k, op) in doc["operators"].as_array().unwrap().iter().enumerate() {
            let i = op["inputs"][0].as_u64().unwrap() as usize;
            let o = op["outputs"][0].as_u64().unwrap() as usize;
            if tensors[i]["dtype"] != "int8" || tensors[o]["dtype"] != "int8" {
                continue; // (a float island's operator: act_elu_float's float ELU, the importer's)
            }
            let rounding = rounding_of(op["opcode"].as_str().unwrap());
            let Some(p) = prepare(op, tensors, rounding) else {
                continue;
            };
            let opcode = op["opcode"].as_str().unwrap().to_string();
            let entry = stats.entry(opcode).or_insert((0, 0, [false; 256]));
            for (r, values) in rows.iter().enumerate() {
                let x = i8s(&values[i.to_string()]);
                let want = i8s(&values[o.to_string()]);
                let got = run(&p, &x);
                assert_eq!(got.len(), want.len());
                if strict {
                    assert_eq!(
                        got, want,
                        "{name}: operator {k} ({}), row {r}",
                        op["opcode"]
                    );
                }
                entry.0 += want.len();
                entry.1 += got.iter().zip(&want).filter(|(a, b)| a != b).count();
                for &v in &x {
                    entry.2[v as u8 as usize] = true;
                }
            }
        }
    }
    stats
        .into_iter()
        .map(|(k, (n, d, seen))| (k, (n, d, seen.iter().filter(|&&s| s).count())))
        .collect()
}

/// The `MultiplyByQuantizedMultiplier` build that reproduces LiteRT's
/// operator. LEAKY_RELU and PRELU: the fixtures show double rounding
/// (gemmlowp's; see `single_rounding_is_not_what_litert_computes`), the
/// default of LiteRT's sources (`TFLITE_SINGLE_ROUNDING` unset). SOFTMAX (same source
/// file, activations.cc): the same build; its rescaling is a left shift,
/// where the two builds agree (the unit test
/// `both_roundings_agree_on_softmax_rescaling`). The table-based operators
/// and HARD_SWISH do not requantize with it.
fn litert_rounding(opcode: &str) -> Rounding {
    match opcode {
        "LEAKY_RELU" | "PRELU" | "SOFTMAX" => Rounding::Double,
        _ => Rounding::Single,
    }
}

#[test]
fn every_activation_op_matches_litert_bit_for_bit() {
    let stats = compare(&litert_rounding, true);
    for (op, (n, _, distinct)) in &stats {
        println!("int8 {op}: {n} values bit-exact with LiteRT ({distinct} distinct inputs)");
    }
    for op in [
        "LOGISTIC",
        "TANH",
        "SOFTMAX",
        "HARD_SWISH",
        "LEAKY_RELU",
        "PRELU",
        "ELU",
        "GELU",
        "EXP",
        "LOG",
    ] {
        let (n, _, _) = stats.get(op).copied().unwrap_or_default();
        assert!(n >= 100, "{op}: only {n} values compared");
    }
    // the sweeps reach every input value of the table-based operators
    for op in [
        "LOGISTIC",
        "TANH",
        "ELU",
        "GELU",
        "EXP",
        "HARD_SWISH",
        "LEAKY_RELU",
        "SOFTMAX",
    ] {
        assert_eq!(stats[op].2, 256, "{op}: not every int8 input was compared");
    }
}

/// The hard-swish fixtures exercise the three branches of the reluish
/// multiplier's exponent (left shift, none, right shift).
#[test]
fn hard_swish_fixtures_cover_both_shift_directions() {
    let mut exponents = Vec::new();
    for (_, doc) in fixtures() {
        let tensors = doc["tensors"].as_array().unwrap();
        for op in doc["operators"].as_array().unwrap() {
            if op["opcode"] == "HARD_SWISH" {
                let i = op["inputs"][0].as_u64().unwrap() as usize;
                let o = op["outputs"][0].as_u64().unwrap() as usize;
                let (si, zi) = quant(&tensors[i]);
                let (so, zo) = quant(&tensors[o]);
                let p = hard_swish_s8_prepare(si, zi, so, zo, Rounding::Single).unwrap();
                exponents.push(p.reluish_multiplier_exponent);
            }
        }
    }
    println!("HARD_SWISH reluish exponents: {exponents:?}");
    assert!(exponents.iter().any(|&e| e > 0), "{exponents:?}");
    assert!(exponents.iter().any(|&e| e < 0), "{exponents:?}");
}

/// LEAKY_RELU's and PRELU's fixtures tell the two rounding builds apart:
/// the single-rounding build misses many of LiteRT's values (their
/// multipliers have small shifts, where the two roundings differ often:
/// LEAKY_RELU 100 of 1,152 values, PRELU 3 of 640).
#[test]
fn single_rounding_is_not_what_litert_computes() {
    let stats = compare(&|_| Rounding::Single, false);
    for op in ["LEAKY_RELU", "PRELU"] {
        let (n, differ, _) = stats[op];
        println!("{op}, single rounding: {differ} of {n} values differ from LiteRT");
        assert!(differ >= 1, "{op}");
    }
    // SOFTMAX: both builds reproduce LiteRT (a left-shift rescaling)
    let (n, differ, _) = stats["SOFTMAX"];
    println!("SOFTMAX, single rounding: {differ} of {n} values differ from LiteRT");
    assert_eq!(differ, 0);
}

/// The tables against tables built with the host C library's own `expf`,
/// `tanhf`, `expm1f`, `erfcf` and `logf` (LiteRT's wheel calls glibc's),
/// by `LUTPopulate`'s float steps, on seeded random quantizations: no entry
/// may differ. This catches a wrong formula or order of float operations;
/// last-bit differences of the elementary functions reach a table only
/// rarely (measured with glibc 2.36 over 200,000 quantizations per kind:
/// none with ours, 1 to 13 of 51.2 M entries with libm's `expf`, `tanhf`
/// or `logf` instead; see `src/activation/s8/mod.rs`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn tables_match_tables_built_with_the_c_library() {
    extern "C" {
        fn expf(x: f32) -> f32;
        fn logf(x: f32) -> f32;
        fn expm1f(x: f32) -> f32;
        fn tanhf(x: f32) -> f32;
        fn erfcf(x: f32) -> f32;
    }
    // LUTPopulateInt8 in f32, x86's float-to-int conversion
    fn c_table(f: &dyn Fn(f32) -> f32, si: f32, zi: i32, so: f32, zo: i32) -> [i8; 256] {
        let mut t = [0i8; 256];
        let inverse = 1.0f32 / so;
        for q in -128i32..=127 {
            let v = (f(si * ((q - zi) as f32)) * inverse).round() + zo as f32;
            let v = if v.is_nan() || !(-2147483648.0..2147483648.0).contains(&v) {
                i32::MIN
            } else {
                v as i32
            };
            t[(q as i8) as u8 as usize] = v.clamp(-128, 127) as i8;
        }
        t
    }
    let neg_sqrt1_2 = -std::f64::consts::FRAC_1_SQRT_2 as f32;
    let sqrt_2_over_pi =
        (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let scale = move |r: u64| 10f64.powf(-3.0 + 3.0 * (r % 1_000_000) as f64 / 1e6) as f32;
    let kinds = [
        TableFn::Logistic,
        TableFn::Tanh,
        TableFn::Elu,
        TableFn::Gelu { approximate: false },
        TableFn::Gelu { approximate: true },
        TableFn::Exp,
        TableFn::Log,
    ];
    let mut compared = 0usize;
    for kind in kinds {
        for _ in 0..1000 {
            let (si, zi) = (scale(rnd()), (rnd() % 256) as i32 - 128);
            let (so, zo) = match kind {
                TableFn::Logistic => (1.0 / 256.0, -128),
                TableFn::Tanh => (1.0 / 128.0, 0),
                _ => (scale(rnd()), (rnd() % 256) as i32 - 128),
            };
            let output_min = ((-128 - zo) as f32) * so;
            let f: Box<dyn Fn(f32) -> f32> = match kind {
                TableFn::Logistic => Box::new(|v| 1.0f32 / (1.0f32 + unsafe { expf(-v) })),
                TableFn::Tanh => Box::new(|v| unsafe { tanhf(v) }),
                TableFn::Elu => Box::new(|v| if v < 0.0 { unsafe { expm1f(v) } } else { v }),
                TableFn::Gelu { approximate: false } => {
                    Box::new(move |v| 0.5f32 * v * unsafe { erfcf(v * neg_sqrt1_2) })
                }
                TableFn::Gelu { approximate: true } => Box::new(move |v| {
                    0.5f32
                        * v
                        * (1.0f32
                            + unsafe { tanhf(sqrt_2_over_pi * (v + 0.044715f32 * v * v * v)) })
                }),
                TableFn::Exp => Box::new(|v| unsafe { expf(v) }),
                TableFn::Log => Box::new(move |v| {
                    if v <= 0.0 {
                        output_min
                    } else {
                        unsafe { logf(v) }
                    }
                }),
            };
            let mut mine = [0i8; 256];
            activation_table(kind, si, zi, so, zo, &mut mine).unwrap();
            let want = c_table(&*f, si, zi, so, zo);
            assert_eq!(mine, want, "{kind:?}: {si} {zi} {so} {zo}");
            compared += 256;
        }
    }
    println!("{compared} table entries equal to the C library's");
}
