//! Property tests: every kernel against a slow, obvious float64 reference,
//! on random inputs from a small deterministic PRNG and on edge values
//! (±0, ±inf, NaN, ±1e4, subnormals, ±f32::MAX), with odd sizes
//! (1, 3, 17, 257) for dense and the vector activations.

use anne::abi::{
    anne_activation_t, ACTIVATION_COUNT, ANNE_ERR_ALIGN, ANNE_ERR_OVERLAP, ANNE_ERR_SIZE, ANNE_OK,
};
use anne::ffi::{anne_activate_f32, anne_argmax_f32, anne_dense_f32};
use anne::{activate_f32, argmax_f32, dense_f32, Activation, Status};

mod rng;
use rng::Rng;

impl Rng {
    fn uniform(&mut self, low: f64, high: f64) -> f32 {
        (low + (high - low) * self.unit()) as f32
    }
    /// Random sign and a magnitude spread evenly over f32's exponents.
    fn wide(&mut self) -> f32 {
        let magnitude = 10f64.powf(self.uniform(-44.0, 38.5) as f64);
        (self.sign() as f64 * magnitude) as f32
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const EDGES: [f32; 20] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e4,
    -1e4,
    1e-45,
    -1e-45,
    1e-40,
    -1e-40,
    f32::MIN_POSITIVE,
    f32::MAX,
    f32::MIN,
    1.0,
    -1.0,
    3.0,
    -3.0,
    0.5,
    -0.5,
];

/// Random test inputs: edges, a dense range around 0, and wide magnitudes.
fn inputs(rng: &mut Rng, count: usize) -> Vec<f32> {
    let mut xs = EDGES.to_vec();
    for _ in 0..count {
        xs.push(rng.uniform(-12.0, 12.0));
        xs.push(rng.wide());
    }
    xs
}

// ------------------------------------------------ float64 reference

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `x * g(x)` with its limit 0 at x = -inf.
fn times(x: f64, g: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        0.0
    } else {
        x * g
    }
}

fn relu_ref(x: f64, slope: f64, max_value: Option<f64>, threshold: f64) -> f64 {
    if slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return if x > 0.0 { x } else { slope * x };
    }
    if x.is_nan() && threshold == 0.0 {
        return x;
    }
    let mut y = if x > threshold { x } else { 0.0 };
    if let Some(m) = max_value {
        y = y.clamp(0.0, m);
    }
    if slope != 0.0 {
        y -= slope * (threshold - x).max(0.0);
        if x.is_nan() {
            return f64::NAN;
        }
    }
    y
}

/// The float64 reference of one value, or None for vector activations.
fn scalar_ref(act: &Activation, x: f64) -> Option<f64> {
    let nan_or = |y: f64| if x.is_nan() { f64::NAN } else { y };
    Some(match *act {
        Activation::Linear => x,
        Activation::Relu {
            negative_slope,
            max_value,
            threshold,
        } => relu_ref(
            x,
            negative_slope as f64,
            max_value.map(f64::from),
            threshold as f64,
        ),
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::LeakyRelu { negative_slope } => {
            if x > 0.0 {
                x
            } else {
                negative_slope as f64 * x
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * x.exp_m1()
            }
        }
        Activation::Selu => {
            let (alpha, scale) = (1.6732632423543772, 1.0507009873554805);
            scale * if x > 0.0 { x } else { alpha * x.exp_m1() }
        }
        Activation::Celu { alpha } => {
            let a = alpha as f64;
            nan_or(x.max(0.0) + a * (x.min(0.0) / a).exp_m1())
        }
        Activation::Exponential => x.exp(),
        Activation::Gelu { approximate: false } => {
            times(x, 0.5 * (1.0 + libm::erf(x / 2f64.sqrt())))
        }
        Activation::Gelu { approximate: true } => {
            let inner = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            times(x, 0.5 * (1.0 + inner.tanh()))
        }
        Activation::HardShrink { threshold } => {
            if x.abs() > threshold as f64 {
                x
            } else {
                0.0
            }
        }
        Activation::HardSigmoid => nan_or(((x + 3.0) / 6.0).clamp(0.0, 1.0)),
        Activation::HardSilu => times(x, nan_or(((x + 3.0) / 6.0).clamp(0.0, 1.0))),
        Activation::HardTanh => nan_or(x.clamp(-1.0, 1.0)),
        Activation::LogSigmoid => -softplus(-x),
        Activation::Mish => times(x, softplus(x).tanh()),
        Activation::Relu6 => nan_or(x.clamp(0.0, 6.0)),
        Activation::Silu => times(x, sigmoid(x)),
        Activation::SoftShrink { threshold } => {
            let t = threshold as f64;
            if x > t {
                x - t
            } else if x < -t {
                x + t
            } else {
                0.0
            }
        }
        Activation::Softplus => softplus(x),
        Activation::Softsign => {
            if x.is_infinite() {
                x.signum()
            } else {
                x / (1.0 + x.abs())
            }
        }
        Activation::SparsePlus => {
            if x <= -1.0 {
                0.0
            } else if x < 1.0 {
                (x + 1.0) * (x + 1.0) / 4.0
            } else {
                x
            }
        }
        Activation::SparseSigmoid => {
            if x <= -1.0 {
                0.0
            } else if x >= 1.0 {
                1.0
            } else {
                (x + 1.0) / 2.0
            }
        }
        Activation::Squareplus { b } => {
            // (x + sqrt(x^2 + b)) / 2, rewritten without cancellation.
            let b = b as f64;
            let root = x.hypot(b.sqrt());
            if x < 0.0 {
                b / (2.0 * (root - x))
            } else {
                (x + root) / 2.0
            }
        }
        Activation::TanhShrink => x - x.tanh(),
        Activation::Threshold {
            threshold,
            default_value,
        } => {
            if x > threshold as f64 {
                x
            } else {
                default_value as f64
            }
        }
        Activation::Softmax | Activation::LogSoftmax | Activation::Sparsemax | Activation::Glu => {
            return None
        }
    })
}

fn vector_ref(act: &Activation, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    match act {
        Activation::Softmax => {
            let e: Vec<f64> = x.iter().map(|v| (v - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.iter().map(|v| v / sum).collect()
        }
        Activation::LogSoftmax => {
            let sum: f64 = x.iter().map(|v| (v - max).exp()).sum();
            x.iter().map(|v| v - max - sum.ln()).collect()
        }
        Activation::Sparsemax => {
            if x.iter().any(|v| v.is_nan()) || !max.is_finite() {
                return vec![f64::NAN; n];
            }
            // Sort descending, find the support size k, tau = (cumsum_k - 1) / k.
            let mut sorted: Vec<f64> = x.to_vec();
            sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
            let (mut cumsum, mut tau) = (0.0, 0.0);
            for (i, &z) in sorted.iter().enumerate() {
                cumsum += z;
                let k = (i + 1) as f64;
                if 1.0 + k * z > cumsum {
                    tau = (cumsum - 1.0) / k;
                }
            }
            x.iter().map(|v| (v - tau).max(0.0)).collect()
        }
        Activation::Glu => {
            let half = n / 2;
            (0..half).map(|j| x[j] * sigmoid(x[j + half])).collect()
        }
        _ => x.iter().map(|&v| scalar_ref(act, v).unwrap()).collect(),
    }
}

// ------------------------------------------------------- comparison

fn close(got: f32, want: f64, atol: f64, rtol: f64) -> bool {
    let want32 = want as f32; // rounds, and overflows to inf like f32 would
    if got.is_nan() || want32.is_nan() {
        return got.is_nan() && want32.is_nan();
    }
    if got == want32 {
        return true;
    }
    if got.is_infinite() || want32.is_infinite() {
        return false;
    }
    (got as f64 - want).abs() <= atol + rtol * want.abs()
}

fn all_activations() -> Vec<Activation> {
    let mut acts: Vec<Activation> = (0..ACTIVATION_COUNT)
        .map(|k| Activation::keras_default(k).unwrap())
        .collect();
    for negative_slope in [0.0, 0.1, 0.3] {
        for max_value in [None, Some(6.0), Some(2.5), Some(0.0)] {
            for threshold in [0.0, 1.0, -1.0] {
                acts.push(Activation::Relu {
                    negative_slope,
                    max_value,
                    threshold,
                });
            }
        }
    }
    acts.extend([
        Activation::LeakyRelu {
            negative_slope: 0.1,
        },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: -2.0 },
        Activation::Celu { alpha: 0.5 },
        Activation::Celu { alpha: -2.0 },
        Activation::Gelu { approximate: true },
        Activation::HardShrink { threshold: 1.0 },
        Activation::SoftShrink { threshold: 1.0 },
        Activation::Squareplus { b: 1.0 },
        Activation::Squareplus { b: 0.0 },
        Activation::Threshold {
            threshold: 0.5,
            default_value: -1.0,
        },
    ]);
    acts
}

/// Applies `act` through the C ABI; returns the outputs.
fn activate_via_c(act: &Activation, x: &[f32]) -> (i32, Vec<f32>) {
    let raw: anne_activation_t = act.to_abi();
    let mut buf = x.to_vec();
    // SAFETY: buf holds buf.len() floats; raw is a valid struct.
    let status = unsafe { anne_activate_f32(buf.as_mut_ptr(), buf.len(), &raw) };
    (status, buf)
}

// ------------------------------------------------------------ tests

#[test]
fn elementwise_activations_match_float64_reference() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let xs = inputs(&mut rng, 2000);
    let mut failures = Vec::new();
    for act in all_activations().iter().filter(|a| a.is_elementwise()) {
        let mut got = xs.clone();
        assert_eq!(activate_f32(&mut got, act), Ok(xs.len()));
        let (status, got_c) = activate_via_c(act, &xs);
        assert_eq!(status, ANNE_OK);
        for (i, &x) in xs.iter().enumerate() {
            let want = scalar_ref(act, x as f64).unwrap();
            if !close(got[i], want, 1e-6, 4e-6) {
                failures.push(format!("{act:?}({x:e}) = {:e}, reference {want:e}", got[i]));
            }
            assert_eq!(
                got[i].to_bits(),
                got_c[i].to_bits(),
                "{act:?}({x:e}): C ABI differs"
            );
            assert_eq!(act.scalar(x).unwrap().to_bits(), got[i].to_bits());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn vector_activations_match_float64_reference() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let vector_acts = [
        Activation::Softmax,
        Activation::LogSoftmax,
        Activation::Sparsemax,
        Activation::Glu,
    ];
    let mut failures = Vec::new();
    for act in vector_acts {
        for n in [1usize, 2, 3, 4, 17, 18, 257, 258] {
            for trial in 0..20 {
                let scale = [0.1, 1.0, 10.0, 1e4][trial % 4];
                let mut x: Vec<f32> = (0..n).map(|_| rng.uniform(-scale, scale)).collect();
                if trial % 5 == 4 {
                    let i = (rng.next_u64() % n as u64) as usize;
                    x[i] = rng.pick(&[f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.0, -0.0]);
                }
                if act == Activation::Glu && n % 2 == 1 {
                    assert_eq!(activate_f32(&mut x.clone(), &act), Err(Status::Size));
                    assert_eq!(activate_via_c(&act, &x).0, ANNE_ERR_SIZE);
                    continue;
                }
                let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                let want = vector_ref(&act, &x64);
                let mut got = x.clone();
                let outputs = activate_f32(&mut got, &act).unwrap();
                assert_eq!(outputs, want.len());
                let (status, got_c) = activate_via_c(&act, &x);
                assert_eq!(status, ANNE_OK);
                for i in 0..outputs {
                    // Sums over n terms: allow a little more than one rounding.
                    let rtol = 1e-6 * (n as f64).sqrt().max(4.0);
                    // log_softmax/sparsemax subtract large nearly equal values.
                    let atol = 1e-6 * (1.0 + scale * 1e-2);
                    if !close(got[i], want[i], atol, rtol) {
                        failures.push(format!(
                            "{act:?} n={n} x[{i}]={:e}: got {:e}, reference {:e}",
                            x[i], got[i], want[i]
                        ));
                    }
                    assert_eq!(got[i].to_bits(), got_c[i].to_bits());
                }
                if act == Activation::Softmax || act == Activation::Sparsemax {
                    let sum: f64 = got.iter().map(|&v| v as f64).sum();
                    if sum.is_finite() {
                        assert!((sum - 1.0).abs() < 1e-5, "{act:?} sums to {sum}");
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn dense_matches_float64_reference() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let acts = [
        Activation::Linear,
        Activation::keras_default(1).unwrap(),
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Glu,
        Activation::Sparsemax,
        Activation::Gelu { approximate: false },
    ];
    for n_in in [1usize, 3, 17, 257] {
        for units in [1usize, 2, 3, 17, 18, 257] {
            for act in acts {
                let Ok(n_out) = act.outputs(units) else {
                    continue;
                };
                let x: Vec<f32> = (0..n_in).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let kernel: Vec<f32> = (0..n_in * units).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let with_bias = rng.next_u64() & 1 == 0;
                let bias: Vec<f32> = (0..units).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let bias = with_bias.then_some(&bias[..]);

                // Reference: pre-activations in f64, then the f64 activation.
                let pre: Vec<f64> = (0..units)
                    .map(|j| {
                        let dot: f64 = (0..n_in)
                            .map(|i| x[i] as f64 * kernel[i * units + j] as f64)
                            .sum();
                        dot + bias.map_or(0.0, |b| b[j] as f64)
                    })
                    .collect();
                let want = vector_ref(&act, &pre);
                // f32 accumulation error bound: n_in roundings of terms <= 1.
                let atol = 2e-7 * n_in as f64 + 1e-6;

                let mut out = vec![f32::NAN; n_out];
                dense_f32(&x, &kernel, bias, &mut out, &act).unwrap();
                for j in 0..n_out {
                    assert!(
                        close(out[j], want[j], atol, 1e-5),
                        "{n_in}x{units} {act:?} out[{j}] = {}, reference {}",
                        out[j],
                        want[j]
                    );
                }

                let mut out_c = vec![f32::NAN; n_out];
                let (bias_ptr, bias_len) =
                    bias.map_or((std::ptr::null(), 0), |b| (b.as_ptr(), b.len()));
                let raw = act.to_abi();
                // SAFETY: pointers valid for the lengths given.
                let status = unsafe {
                    anne_dense_f32(
                        x.as_ptr(),
                        n_in,
                        kernel.as_ptr(),
                        kernel.len(),
                        bias_ptr,
                        bias_len,
                        out_c.as_mut_ptr(),
                        n_out,
                        &raw,
                    )
                };
                assert_eq!(status, ANNE_OK);
                assert_eq!(
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    out_c.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }
}

#[test]
fn argmax_matches_obvious_reference() {
    let mut rng = Rng(0x5eed_1234_abcd_0004);
    for n in [1usize, 2, 3, 17, 257] {
        for _ in 0..50 {
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    rng.pick(&[
                        0.0,
                        -0.0,
                        1.0,
                        2.0,
                        -1.0,
                        f32::NAN,
                        f32::INFINITY,
                        f32::NEG_INFINITY,
                        2.0,
                    ])
                })
                .collect();
            // Reference: first index of the maximum over non-NaN values.
            let best = v
                .iter()
                .filter(|x| !x.is_nan())
                .cloned()
                .fold(f32::NAN, f32::max);
            let want = v.iter().position(|&x| x == best).unwrap_or(0);
            assert_eq!(argmax_f32(&v), Ok(want), "{v:?}");
            let mut index = usize::MAX;
            // SAFETY: v holds n floats; index is writable.
            assert_eq!(
                unsafe { anne_argmax_f32(v.as_ptr(), n, &mut index) },
                ANNE_OK
            );
            assert_eq!(index, want);
        }
    }
}

#[test]
fn c_abi_refuses_misaligned_and_overlapping_buffers() {
    let raw = Activation::Linear.to_abi();
    let mut storage = [0.0f32; 8];
    let misaligned = (storage.as_mut_ptr() as *mut u8).wrapping_add(1) as *mut f32;
    // SAFETY: the pointer is misaligned, so the function refuses it before reading.
    assert_eq!(
        unsafe { anne_activate_f32(misaligned, 4, &raw) },
        ANNE_ERR_ALIGN
    );
    let mut index = 0usize;
    // SAFETY: as above.
    assert_eq!(
        unsafe { anne_argmax_f32(misaligned, 4, &mut index) },
        ANNE_ERR_ALIGN
    );
    // out overlapping x: refused, nothing written.
    let kernel = [1.0f32; 4];
    let base = storage.as_mut_ptr();
    // SAFETY: all ranges lie inside `storage`; overlap is detected first.
    let status = unsafe {
        anne_dense_f32(
            base,
            2,
            kernel.as_ptr(),
            4,
            std::ptr::null(),
            0,
            base.add(1),
            2,
            &raw,
        )
    };
    assert_eq!(status, ANNE_ERR_OVERLAP);
    // A length whose byte size overflows isize.
    // SAFETY: refused before any access.
    assert_eq!(
        unsafe { anne_activate_f32(base, usize::MAX / 2, &raw) },
        ANNE_ERR_SIZE
    );
}
