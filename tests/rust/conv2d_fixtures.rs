//! The 2-D kernels (`anne::layers::{conv2d, depthwise2d, pool2d}` and their
//! `_s8` twins) against real Keras and LiteRT, and against plain loops.
//!
//! - Fixtures (`tests/fixtures/conv2d/*.json`, recorded by
//!   `tools/make_conv2d_fixtures.py`): every Conv2D, DepthwiseConv2D,
//!   MaxPooling2D and AveragePooling2D layer of each Keras model, on every
//!   recorded row, from the layer's Keras input to within 1e-5 abs + 1e-4
//!   rel of Keras's float32 output; and every CONV_2D, DEPTHWISE_CONV_2D,
//!   MAX_POOL_2D and AVERAGE_POOL_2D operator of the model's full-integer
//!   TFLite conversion, on every row, from LiteRT's int8 input tensor to
//!   LiteRT's int8 output tensor bit for bit (LiteRT's reference kernels,
//!   `OpResolverType.BUILTIN_REF`). Multipliers and clamps are computed
//!   as LiteRT's Prepare computes them (tests/rust/int8_common.rs), the
//!   double-rounding `MultiplyByQuantizedMultiplier` as LiteRT's build.
//! - Properties: random shapes (size 1 and odd sizes included), every
//!   padding, stride and dilation, against the definitions written here as
//!   plain loops over signed positions.

use anne::activation::Activation;
use anne::layers::conv2d::{conv2d_f32, Conv2d};
use anne::layers::conv2d_s8::conv2d_s8;
use anne::layers::dense_s8::{DenseS8Params, Multipliers};
use anne::layers::depthwise2d::{depthwise2d_f32, Depthwise2d};
use anne::layers::depthwise2d_s8::depthwise2d_s8;
use anne::layers::pool1d::Pool;
use anne::layers::pool1d_s8::PoolS8Params;
use anne::layers::pool2d::{pool2d_f32, Pool2d};
use anne::layers::pool2d_s8::pool2d_s8;
use anne::layers::window::{Padding, Window2d};
use anne::math::requant::{requantize, Rounding};
use anne::Status;
use serde_json::Value;
use std::collections::BTreeMap;

mod int8_common;
mod rng;
use int8_common::{
    activation_range, compare_kinds, f32s, fixtures_in, i8s, ints, padding, usizes, Tensors,
};
use rng::Rng;

fn fixtures() -> Vec<(String, Value)> {
    fixtures_in("conv2d", 4)
}

fn pair(v: &Value) -> (usize, usize) {
    let u = usizes(v);
    assert_eq!(u.len(), 2, "{v}");
    (u[0], u[1])
}

fn keras_activation(name: &str) -> Activation {
    match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        },
        "relu6" => Activation::Relu6,
        other => panic!("activation {other} not in the fixtures' layers"),
    }
}

/// Runs one recorded Keras layer on one input.
fn run_keras_layer(layer: &Value, x: &[f32], n_out: usize) -> Vec<f32> {
    let class = layer["class"].as_str().unwrap();
    let cfg = &layer["config"];
    let ins = usizes(&layer["input_shape"]);
    let mut out = vec![f32::NAN; n_out];
    let window = |size: &Value, dilation: Option<&Value>| Window2d {
        height: ins[0],
        width: ins[1],
        kernel_size: pair(size),
        strides: pair(&cfg["strides"]),
        dilation: dilation.map_or((1, 1), pair),
        padding: padding(&cfg["padding"]),
    };
    match class {
        "Conv2D" | "DepthwiseConv2D" => {
            let w = window(&cfg["kernel_size"], Some(&cfg["dilation_rate"]));
            let kernel = f32s(&layer["kernel"]);
            let bias = layer.get("bias").map(f32s);
            assert_eq!(bias.is_some(), cfg["use_bias"].as_bool().unwrap());
            let act = keras_activation(cfg["activation"].as_str().unwrap());
            if class == "Conv2D" {
                let spec = Conv2d {
                    window: w,
                    in_channels: ins[2],
                };
                conv2d_f32(&spec, x, &kernel, bias.as_deref(), &mut out, &act).unwrap();
            } else {
                let spec = Depthwise2d {
                    window: w,
                    in_channels: ins[2],
                    depth_multiplier: cfg["depth_multiplier"].as_u64().unwrap() as usize,
                };
                depthwise2d_f32(&spec, x, &kernel, bias.as_deref(), &mut out, &act).unwrap();
            }
        }
        "MaxPooling2D" | "AveragePooling2D" => {
            let spec = Pool2d {
                pool: if class == "MaxPooling2D" {
                    Pool::Max
                } else {
                    Pool::Average
                },
                window: window(&cfg["pool_size"], None),
                channels: ins[2],
            };
            pool2d_f32(&spec, x, &mut out).unwrap();
        }
        other => panic!("layer {other}"),
    }
    out
}

#[test]
fn every_keras_layer_matches_keras_float32() {
    let mut counts = std::collections::BTreeMap::<String, (usize, usize)>::new();
    let mut worst = 0.0f64;
    for (name, doc) in fixtures() {
        let layers = doc["float"]["layers"].as_array().unwrap();
        for (r, row) in doc["float"]["rows"].as_array().unwrap().iter().enumerate() {
            let outputs = row["outputs"].as_array().unwrap();
            for (i, layer) in layers.iter().enumerate() {
                let src = layer["source"].as_i64().unwrap();
                let x = if src < 0 {
                    f32s(&row["input"])
                } else {
                    f32s(&outputs[src as usize])
                };
                let want = f32s(&outputs[i]);
                let got = run_keras_layer(layer, &x, want.len());
                for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    let err = (g as f64 - w as f64).abs();
                    let tol = 1e-5 + 1e-4 * (w as f64).abs();
                    assert!(
                        err <= tol,
                        "{name}: layer {i} ({}), row {r}, value {k}: {g} against Keras's {w}",
                        layer["class"]
                    );
                    worst = worst.max(err / tol);
                }
                let c = counts
                    .entry(layer["class"].as_str().unwrap().to_string())
                    .or_default();
                c.0 += want.len();
                c.1 += 1;
            }
        }
    }
    for (class, (values, runs)) in &counts {
        println!("float32 {class}: {values} values in {runs} layer rows within tolerance of Keras");
    }
    println!("largest error: {worst:.3} of the tolerance");
    for class in [
        "Conv2D",
        "DepthwiseConv2D",
        "MaxPooling2D",
        "AveragePooling2D",
    ] {
        assert!(counts.get(class).is_some_and(|c| c.1 >= 6), "{class}");
    }
}

const KINDS: [&str; 4] = [
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
];

/// Runs one operator on one row of LiteRT's tensors: `(got, want)`.
fn run_op(t: &Tensors, op: &Value, row: &Value, rounding: Rounding) -> (Vec<i8>, Vec<i8>) {
    let kind = op["opcode"].as_str().unwrap();
    let ins = ints(&op["inputs"]);
    let out_t = ints(&op["outputs"])[0];
    let want = i8s(&row[out_t.to_string()]);
    let mut got = vec![0i8; want.len()];
    let act = op["fused_activation"].as_str().unwrap();
    let (act_min, act_max) = activation_range(act, t.scale(out_t), t.zero_point(out_t));
    let x_t = ins[0];
    let xs = t.shape(x_t); // [batches, height, width, channels]
    let x = t.values(x_t, row);
    let num = |k: &str| op[k].as_u64().unwrap() as usize;
    let window = |kernel_size| Window2d {
        height: xs[1],
        width: xs[2],
        kernel_size,
        strides: (num("stride_h"), num("stride_w")),
        dilation: if kind.ends_with("POOL_2D") {
            (1, 1)
        } else {
            (num("dilation_h"), num("dilation_w"))
        },
        padding: padding(&op["padding"]),
    };
    // batches (SPACE_TO_BATCH_ND's, for a dilated layer) one by one
    let b = xs[0];
    let (n_in, n_out) = (x.len() / b, got.len() / b);
    let batches = x.chunks_exact(n_in).zip(got.chunks_exact_mut(n_out));
    match kind {
        "CONV_2D" | "DEPTHWISE_CONV_2D" => {
            let w_t = ins[1];
            let ws = t.shape(w_t);
            let filter = i8s(t.constant(w_t).unwrap());
            let bias = t.bias(&ins);
            let cout = t.shape(out_t)[3];
            let (m, sh) = t.multipliers(x_t, w_t, out_t, cout, rounding);
            let p = DenseS8Params {
                input_offset: -t.zero_point(x_t),
                output_offset: t.zero_point(out_t),
                act_min,
                act_max,
                multipliers: Multipliers::PerChannel {
                    multipliers: &m,
                    shifts: &sh,
                },
                rounding,
            };
            if kind == "CONV_2D" {
                // OHWI, groups 1
                assert_eq!((ws[0], ws[3]), (cout, xs[3]));
                let spec = Conv2d {
                    window: window((ws[1], ws[2])),
                    in_channels: xs[3],
                };
                for (xb, ob) in batches {
                    conv2d_s8(&spec, xb, &filter, bias.as_deref(), ob, &p).unwrap();
                }
            } else {
                // 1 x kh x kw x (in_channels * depth_multiplier)
                assert_eq!((ws[0], ws[3]), (1, cout));
                let dm = num("depth_multiplier");
                assert_eq!(cout, xs[3] * dm);
                let spec = Depthwise2d {
                    window: window((ws[1], ws[2])),
                    in_channels: xs[3],
                    depth_multiplier: dm,
                };
                for (xb, ob) in batches {
                    depthwise2d_s8(&spec, xb, &filter, bias.as_deref(), ob, &p).unwrap();
                }
            }
        }
        "MAX_POOL_2D" | "AVERAGE_POOL_2D" => {
            // no requantization: the same scale and zero point
            assert_eq!(
                (t.scale(x_t), t.zero_point(x_t)),
                (t.scale(out_t), t.zero_point(out_t))
            );
            let spec = Pool2d {
                pool: if kind == "MAX_POOL_2D" {
                    Pool::Max
                } else {
                    Pool::Average
                },
                window: window((num("filter_height"), num("filter_width"))),
                channels: xs[3],
            };
            let p = PoolS8Params { act_min, act_max };
            for (xb, ob) in batches {
                pool2d_s8(&spec, xb, ob, &p).unwrap();
            }
        }
        other => panic!("not a checked kind: {other}"),
    }
    (got, want)
}

/// Per kind: (values, operator rows, operator rows that differ), over the
/// int8 part of every fixture.
fn compare(rounding: Rounding, strict: bool) -> BTreeMap<&'static str, (usize, usize, usize)> {
    let docs = fixtures();
    let models = docs.iter().map(|(name, doc)| {
        let int8 = &doc["int8"];
        assert_eq!(int8["resolver"], "BUILTIN_REF");
        (name.clone(), int8)
    });
    compare_kinds(models, &KINDS, strict, |t, op, row| {
        run_op(t, op, row, rounding)
    })
}

#[test]
fn every_int8_operator_matches_litert_bit_for_bit() {
    for (kind, (values, rows, _)) in compare(Rounding::Double, true) {
        println!("int8 {kind}: {values} values in {rows} operator rows bit-exact with LiteRT");
        assert!(rows >= 16, "{kind}: only {rows} operator rows");
    }
}

/// The fixtures tell the two roundings apart for the convolutions:
/// single rounding misses some of LiteRT's values.
#[test]
fn single_rounding_is_not_what_litert_computes() {
    let counts = compare(Rounding::Single, false);
    for (kind, (_, rows, differ)) in &counts {
        println!("single rounding: {differ} of {rows} {kind} operator rows differ from LiteRT");
    }
    assert_eq!(counts["MAX_POOL_2D"].2 + counts["AVERAGE_POOL_2D"].2, 0);
    assert!(counts["CONV_2D"].2 + counts["DEPTHWISE_CONV_2D"].2 >= 1);
}

// ---- properties: the kernels against plain loops ----

/// A random 2-D window (sizes 1..=7, kernels 1..=4, strides and
/// dilations 1..=3, valid or same) with its output size and padding as
/// Keras's formulas give them, written out here: `(window, (out_h, out_w),
/// (top, left))`, or `None` when a `valid` window does not fit.
type Geometry = (Window2d, (usize, usize), (isize, isize));

fn random_window(rng: &mut Rng, dilated: bool) -> (Window2d, Option<Geometry>) {
    let mut n = |lo: u64, hi: u64| (lo + rng.below(hi - lo + 1)) as usize;
    let (h, w) = (n(1, 7), n(1, 7));
    let k = (n(1, 4), n(1, 4));
    let s = (n(1, 3), n(1, 3));
    let d = if dilated { (n(1, 3), n(1, 3)) } else { (1, 1) };
    let padding = if n(0, 1) == 0 {
        Padding::Valid
    } else {
        Padding::Same
    };
    let win = Window2d {
        height: h,
        width: w,
        kernel_size: k,
        strides: s,
        dilation: d,
        padding,
    };
    let axis = |size: usize, k: usize, s: usize, d: usize| {
        let ext = (k - 1) * d + 1;
        match padding {
            Padding::Valid if size < ext => None,
            Padding::Valid => Some(((size - ext) / s + 1, 0)),
            _ => {
                let out = size.div_ceil(s);
                let total = ((out - 1) * s + ext).saturating_sub(size);
                Some((out, (total / 2) as isize))
            }
        }
    };
    let geo = match (axis(h, k.0, s.0, d.0), axis(w, k.1, s.1, d.1)) {
        (Some((oh, top)), Some((ow, left))) => Some((win, (oh, ow), (top, left))),
        _ => None,
    };
    (win, geo)
}

/// The input position of tap `(ky, kx)` of output `(oy, ox)`, if inside.
fn tap(g: &Geometry, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
    let (w, _, (top, left)) = g;
    let iy = (oy * w.strides.0 + ky * w.dilation.0) as isize - top;
    let ix = (ox * w.strides.1 + kx * w.dilation.1) as isize - left;
    if iy < 0 || ix < 0 || iy >= w.height as isize || ix >= w.width as isize {
        return None;
    }
    Some(iy as usize * w.width + ix as usize)
}

fn random_f32(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| (rng.unit() * 4.0 - 2.0) as f32).collect()
}

fn random_i8(rng: &mut Rng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.next_u64() as i8).collect()
}

/// Random int8 quantization for `n` output channels (multipliers in
/// [2^30, 2^31), shifts -12..=1, offsets and a clamp in range).
fn with_random_params<R>(rng: &mut Rng, n: usize, f: impl FnOnce(&DenseS8Params) -> R) -> R {
    let m: Vec<i32> = (0..n)
        .map(|_| (1 << 30) + rng.below(1 << 30) as i32)
        .collect();
    let s: Vec<i32> = (0..n).map(|_| rng.below(14) as i32 - 12).collect();
    let lo = -128 + rng.below(30) as i32;
    let p = DenseS8Params {
        input_offset: rng.below(256) as i32 - 127,
        output_offset: rng.below(256) as i32 - 128,
        act_min: lo,
        act_max: (lo + rng.below(300) as i32).min(127),
        multipliers: Multipliers::PerChannel {
            multipliers: &m,
            shifts: &s,
        },
        rounding: Rounding::Double,
    };
    f(&p)
}

fn requantized(acc: i32, o: usize, p: &DenseS8Params) -> i8 {
    let Multipliers::PerChannel {
        multipliers,
        shifts,
    } = p.multipliers
    else {
        unreachable!()
    };
    let v = requantize(acc, multipliers[o], shifts[o], p.rounding) + p.output_offset;
    v.clamp(p.act_min, p.act_max) as i8
}

#[test]
fn conv2d_and_depthwise_match_plain_loops() {
    let mut rng = Rng(0x2D2D_C0FF_EE00_0001);
    let (mut runs, mut refused) = (0, 0);
    for case in 0..3000 {
        let (win, geo) = random_window(&mut rng, true);
        let cin = 1 + rng.below(4) as usize;
        let depthwise = case % 2 == 1;
        let per = if depthwise {
            1 + rng.below(3) as usize
        } else {
            1 + rng.below(4) as usize
        };
        let cout = if depthwise { cin * per } else { per };
        let (kh, kw) = win.kernel_size;
        let n_in = win.height * win.width * cin;
        let n_k = kh * kw * if depthwise { cout } else { cin * cout };
        let (xf, kf, bf) = (
            random_f32(&mut rng, n_in),
            random_f32(&mut rng, n_k),
            random_f32(&mut rng, cout),
        );
        let (xq, kq) = (random_i8(&mut rng, n_in), random_i8(&mut rng, n_k));
        let bq: Vec<i32> = (0..cout)
            .map(|_| rng.below(40_000) as i32 - 20_000)
            .collect();
        let conv = Conv2d {
            window: win,
            in_channels: cin,
        };
        let dw = Depthwise2d {
            window: win,
            in_channels: cin,
            depth_multiplier: per,
        };
        let lin = Activation::Linear;
        let Some(g) = geo else {
            // a valid window that does not fit: refused, nothing written
            let mut out = [7.0f32; 1];
            let r = if depthwise {
                depthwise2d_f32(&dw, &xf, &kf, Some(&bf), &mut out, &lin)
            } else {
                conv2d_f32(&conv, &xf, &kf, Some(&bf), &mut out, &lin)
            };
            assert_eq!((r, out), (Err(Status::XSize), [7.0]));
            refused += 1;
            continue;
        };
        let (oh, ow) = g.1;
        let n_out = oh * ow * cout;
        // the definitions: per output, the taps in (ky, kx, channel) order
        let mut want_f = vec![0.0f32; n_out];
        let mut accs = vec![0i32; n_out];
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..cout {
                    let mut acc = 0.0f32;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let Some(pos) = tap(&g, oy, ox, ky, kx) else {
                                continue;
                            };
                            let chans: Vec<usize> = if depthwise {
                                vec![o / per]
                            } else {
                                (0..cin).collect()
                            };
                            for c in chans {
                                // Keras's layouts: HWIO, HW(I x multiplier)
                                let kfi = if depthwise {
                                    (ky * kw + kx) * cout + o
                                } else {
                                    ((ky * kw + kx) * cin + c) * cout + o
                                };
                                acc += xf[pos * cin + c] * kf[kfi];
                            }
                        }
                    }
                    want_f[(oy * ow + ox) * cout + o] = acc + bf[o];
                }
            }
        }
        let mut got_f = vec![f32::NAN; n_out];
        if depthwise {
            depthwise2d_f32(&dw, &xf, &kf, Some(&bf), &mut got_f, &lin).unwrap();
        } else {
            conv2d_f32(&conv, &xf, &kf, Some(&bf), &mut got_f, &lin).unwrap();
        }
        assert_eq!(
            got_f, want_f,
            "{win:?} cin {cin} per {per} depthwise {depthwise}"
        );
        // int8, with random quantization (the input offset inside the sum)
        with_random_params(&mut rng, cout, |p| {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..cout {
                        let mut acc = 0i32;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let Some(pos) = tap(&g, oy, ox, ky, kx) else {
                                    continue;
                                };
                                let chans: Vec<usize> = if depthwise {
                                    vec![o / per]
                                } else {
                                    (0..cin).collect()
                                };
                                for c in chans {
                                    let w = if depthwise {
                                        kq[(ky * kw + kx) * cout + o]
                                    } else {
                                        kq[((o * kh + ky) * kw + kx) * cin + c]
                                    };
                                    acc += w as i32 * (xq[pos * cin + c] as i32 + p.input_offset);
                                }
                            }
                        }
                        accs[(oy * ow + ox) * cout + o] = acc + bq[o];
                    }
                }
            }
            let want: Vec<i8> = accs
                .iter()
                .enumerate()
                .map(|(i, &a)| requantized(a, i % cout, p))
                .collect();
            let mut got = vec![0i8; n_out];
            if depthwise {
                depthwise2d_s8(&dw, &xq, &kq, Some(&bq), &mut got, p).unwrap();
            } else {
                conv2d_s8(&conv, &xq, &kq, Some(&bq), &mut got, p).unwrap();
            }
            assert_eq!(
                got, want,
                "int8 {win:?} cin {cin} per {per} depthwise {depthwise}"
            );
        });
        runs += 1;
    }
    println!("conv2d/depthwise2d: {runs} random shapes against plain loops, {refused} refused");
    assert!(runs > 1500 && refused > 50);
}

#[test]
fn pool2d_matches_plain_loops() {
    let mut rng = Rng(0x9001_2D2D_0000_0007);
    let (mut runs, mut refused) = (0, 0);
    for case in 0..3000 {
        let (win, geo) = random_window(&mut rng, false);
        let c = 1 + rng.below(4) as usize;
        let pool = if case % 2 == 0 {
            Pool::Max
        } else {
            Pool::Average
        };
        let spec = Pool2d {
            pool,
            window: win,
            channels: c,
        };
        let n_in = win.height * win.width * c;
        let (xf, xq) = (random_f32(&mut rng, n_in), random_i8(&mut rng, n_in));
        let lo = -128 + rng.below(40) as i32;
        let p = PoolS8Params {
            act_min: lo,
            act_max: (lo + rng.below(300) as i32).min(127),
        };
        let Some(g) = geo else {
            let mut out = [7i8; 1];
            assert_eq!(
                (pool2d_s8(&spec, &xq, &mut out, &p), out),
                (Err(Status::XSize), [7])
            );
            refused += 1;
            continue;
        };
        let (oh, ow) = g.1;
        let (kh, kw) = win.kernel_size;
        let (mut want_f, mut want_q) = (vec![], vec![]);
        for oy in 0..oh {
            for ox in 0..ow {
                for j in 0..c {
                    let taps: Vec<usize> = (0..kh)
                        .flat_map(|ky| (0..kw).map(move |kx| (ky, kx)))
                        .filter_map(|(ky, kx)| tap(&g, oy, ox, ky, kx))
                        .map(|pos| pos * c + j)
                        .collect();
                    let n = taps.len() as i32;
                    assert!(n >= 1);
                    let (f, q) = match pool {
                        Pool::Max => (
                            taps.iter()
                                .map(|&i| xf[i])
                                .fold(f32::NEG_INFINITY, f32::max),
                            taps.iter().map(|&i| xq[i] as i32).max().unwrap(),
                        ),
                        Pool::Average => {
                            let s: i32 = taps.iter().map(|&i| xq[i] as i32).sum();
                            // half away from zero, as the C++'s divisions give it
                            let q = (s as f64 / n as f64).abs().add_half_floor() * s.signum();
                            (taps.iter().map(|&i| xf[i]).sum::<f32>() / n as f32, q)
                        }
                    };
                    want_f.push(f);
                    want_q.push(q.clamp(p.act_min, p.act_max) as i8);
                }
            }
        }
        let mut got_f = vec![f32::NAN; want_f.len()];
        pool2d_f32(&spec, &xf, &mut got_f).unwrap();
        assert_eq!(got_f, want_f, "{spec:?}");
        let mut got_q = vec![0i8; want_q.len()];
        pool2d_s8(&spec, &xq, &mut got_q, &p).unwrap();
        assert_eq!(got_q, want_q, "{spec:?}");
        runs += 1;
    }
    println!("pool2d: {runs} random shapes against plain loops, {refused} refused");
    assert!(runs > 1500 && refused > 50);
}

/// `floor(v + 0.5)` as an i32 (v >= 0): rounding half up of a magnitude.
trait AddHalfFloor {
    fn add_half_floor(self) -> i32;
}

impl AddHalfFloor for f64 {
    fn add_half_floor(self) -> i32 {
        (self + 0.5).floor() as i32
    }
}
