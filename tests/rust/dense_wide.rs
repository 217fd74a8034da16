//! The integer dense kernel, `anne::layers::dense::dense_f32_wide`, run on the host:
//! every pre-activation must be the float32 rounding of a value within the
//! documented bound of the exact `x . kernel[:, j] + bias[j]` (checked with an
//! exact oracle built from float64 expansions), and IEEE special values
//! behave as in the plain float32 kernel `dense_f32_reference`.

use anne::layers::dense::{dense_f32_reference, dense_f32_wide};
use anne::math::wide::round_to_f32;
use anne::{dense_f32, Activation};

mod rng;
use rng::Rng;

impl Rng {
    /// A float of the given style: 0 typical weights, 1 any exponent,
    /// 2 a mix of typical, zeros, -0.0, subnormals and huge/tiny values.
    fn value(&mut self, style: u32) -> f32 {
        match style {
            0 => self.sign() * (self.unit() * 2.0) as f32,
            1 => f32::from_bits(self.next_u64() as u32 & 0x7f7f_ffff) * self.sign(),
            _ => match self.below(8) {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(self.below(0x80_0000) as u32) * self.sign(),
                3 => self.sign() * 10f64.powf(self.unit() * 16.0 - 8.0) as f32,
                4 => self.sign() * 10f64.powf(self.unit() * 70.0 - 35.0) as f32,
                _ => self.sign() * (self.unit() * 2.0) as f32,
            },
        }
    }
}

/// Exact sums as Shewchuk expansions: nonoverlapping float64 components in
/// increasing magnitude. A product of two float32 is exact in float64.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

fn grow(e: &mut Vec<f64>, b: f64) {
    let mut q = b;
    let mut h = Vec::with_capacity(e.len() + 1);
    for &c in e.iter() {
        let (s, err) = two_sum(q, c);
        if err != 0.0 {
            h.push(err);
        }
        q = s;
    }
    if q != 0.0 {
        h.push(q);
    }
    *e = h;
}

/// Sign of `sum - t` (exact).
fn sign_minus(sum: &[f64], t: f64) -> f64 {
    let mut e = sum.to_vec();
    grow(&mut e, -t);
    e.last().map_or(0.0, |v| v.signum())
}

fn exact_sum(x: &[f32], kernel: &[f32], units: usize, j: usize) -> Vec<f64> {
    let mut e = Vec::new();
    for (i, &xi) in x.iter().enumerate() {
        let p = xi as f64 * kernel[i * units + j] as f64;
        assert!(p.is_finite());
        grow(&mut e, p);
    }
    e
}

/// `exact_sum` plus the bias.
fn exact_sum_b(x: &[f32], kernel: &[f32], bias: f32, units: usize, j: usize) -> Vec<f64> {
    let mut e = exact_sum(x, kernel, units, j);
    grow(&mut e, bias as f64);
    e
}

/// The kernel's error bound before its rounding: less than one unit of
/// `2^(top - 307)` per shift, `top` the largest exponent sum `e_x + e_w`
/// (biased exponents, 1 for subnormals; the bias counts as `127 + e_b`).
/// A term is shifted at most once and the sum at most once per term
/// (when `top` rises, or per overflow check): `2 (n + 1)` units for `n`
/// nonzero inputs. For normal numbers that is about `(n + 1) * 2^-52` of
/// the largest term.
fn bound(x: &[f32], kernel: &[f32], bias: f32, units: usize, j: usize) -> f64 {
    let exp = |v: f32| (((v.to_bits() >> 23) & 0xff) as i32).max(1);
    let mut n = 1.0;
    let mut top = 127 + exp(bias);
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            n += 1.0;
            top = top.max(exp(xi) + exp(kernel[i * units + j]));
        }
    }
    2.0 * n * 2f64.powi(top - 307)
}

/// True when `r` is the float32 rounding (nearest, ties to even) of some
/// value within `err` of the exact `sum`: `r` is correctly rounded, or the
/// exact sum lies within `err` of the interval that rounds to `r`.
fn within(sum: &[f64], r: f32, err: f64) -> bool {
    if correctly_rounded(sum, r) {
        return true;
    }
    if !r.is_finite() {
        return false;
    }
    let s = approx(sum);
    let half_ulp = (next_up(r.abs()) as f64 - r.abs() as f64) / 2.0;
    (s - r as f64).abs() <= half_ulp + err
}

fn next_up(v: f32) -> f32 {
    if v == 0.0 {
        return f32::from_bits(1);
    }
    let b = v.to_bits();
    f32::from_bits(if v > 0.0 { b + 1 } else { b - 1 })
}

fn next_down(v: f32) -> f32 {
    -next_up(-v)
}

/// True when `r` is the float32 nearest to the exact `sum` (ties to even),
/// with +0.0 for an exact zero and ±inf past the overflow threshold.
fn correctly_rounded(sum: &[f64], r: f32) -> bool {
    let max = f32::MAX as f64;
    let half_ulp_max = 2f64.powi(103);
    if r == f32::INFINITY {
        return sign_minus(sum, max + half_ulp_max) >= 0.0;
    }
    if r == f32::NEG_INFINITY {
        return sign_minus(sum, -max - half_ulp_max) <= 0.0;
    }
    if r.is_nan() {
        return false;
    }
    if r == 0.0 && (sum.is_empty() && r.is_sign_negative()) {
        return false;
    }
    let even = r.to_bits() & 1 == 0;
    let up = if r == f32::MAX {
        max + half_ulp_max
    } else {
        (r as f64 + next_up(r) as f64) / 2.0
    };
    let dn = if r == -f32::MAX {
        -max - half_ulp_max
    } else {
        (r as f64 + next_down(r) as f64) / 2.0
    };
    let a = sign_minus(sum, up);
    let b = sign_minus(sum, dn);
    (a < 0.0 || (a == 0.0 && even)) && (b > 0.0 || (b == 0.0 && even))
}

fn approx(sum: &[f64]) -> f64 {
    sum.iter().sum()
}

/// Subnormal inputs make the whole call the reference kernel's: flushed
/// here to zero so that the cases test the integer path.
fn no_subnormal(v: f32) -> f32 {
    if v != 0.0 && v.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        v
    }
}

/// Returns how many columns were not correctly rounded (within the bound).
fn check_case(rng: &mut Rng, n_in: usize, units: usize, style_x: u32, style_w: u32) -> usize {
    let x: Vec<f32> = (0..n_in)
        .map(|_| no_subnormal(rng.value(style_x)))
        .collect();
    let kernel: Vec<f32> = (0..n_in * units).map(|_| rng.value(style_w)).collect();
    let bias: Vec<f32> = (0..units).map(|_| rng.value(0)).collect();
    let linear = Activation::Linear;
    let mut fast = vec![0.0f32; units];
    let mut fast_b = vec![0.0f32; units];
    let mut plain = vec![0.0f32; units];
    dense_f32_wide(&x, &kernel, None, &mut fast, &linear).unwrap();
    dense_f32_wide(&x, &kernel, Some(&bias), &mut fast_b, &linear).unwrap();
    dense_f32_reference(&x, &kernel, None, &mut plain, &linear).unwrap();
    let mut inexact = 0;
    for j in 0..units {
        for (got, b) in [(fast[j], 0.0), (fast_b[j], bias[j])] {
            let sum = exact_sum_b(&x, &kernel, b, units, j);
            let err = bound(&x, &kernel, b, units, j);
            assert!(
                within(&sum, got, err),
                "n_in {n_in} units {units} styles {style_x}/{style_w} j {j}: got {got:e}, exact ~{:e}",
                approx(&sum)
            );
            inexact += !correctly_rounded(&sum, got) as usize;
        }
        // At least as close as the float32 sequential sum (which may have
        // overflowed to ±inf or NaN where the exact sum is finite), up to
        // the bound.
        let s = approx(&exact_sum(&x, &kernel, units, j));
        if plain[j].is_finite() {
            let err = bound(&x, &kernel, 0.0, units, j);
            assert!(
                (fast[j] as f64 - s).abs()
                    <= (plain[j] as f64 - s).abs() * (1.0 + 1e-12) + 2.0 * err
            );
        }
    }
    inexact
}

#[test]
fn sums_are_within_the_bound_and_nearly_always_correctly_rounded() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut inexact, mut typical_inexact, mut total) = (0, 0, 0);
    for &n_in in &[1usize, 3, 16, 17, 32, 33, 64, 65, 128, 129, 257] {
        for &units in &[1usize, 3, 17] {
            for style_x in 0..3 {
                for style_w in 0..3 {
                    let n = check_case(&mut rng, n_in, units, style_x, style_w);
                    inexact += n;
                    if style_x == 0 && style_w == 0 {
                        typical_inexact += n;
                    }
                    total += 2 * units;
                }
            }
        }
    }
    // Typical weights and inputs: correctly rounded every time; any
    // exponents (with exact cancellations): nearly every time.
    assert_eq!(typical_inexact, 0);
    assert!(
        inexact * 100 <= total,
        "{inexact} of {total} not correctly rounded"
    );
}

#[test]
fn long_inputs_are_checked_for_overflow() {
    // More than BLOCK (128) nonzero inputs per column.
    let mut rng = Rng(77);
    for &n_in in &[449usize, 1000, 2049] {
        for style in 0..3 {
            check_case(&mut rng, n_in, 2, style, style);
        }
    }
    // Every product at the top, the largest mantissas: 3000 of them pass
    // 2^63 units unless the sum is halved in time.
    let n = 3000;
    let x = vec![1.999_999_9f32; n];
    let kernel = vec![-1.999_999_9f32; n];
    let mut out = [0.0f32];
    dense_f32_wide(&x, &kernel, None, &mut out, &Activation::Linear).unwrap();
    let sum = exact_sum(&x, &kernel, 1, 0);
    assert!(
        within(&sum, out[0], bound(&x, &kernel, 0.0, 1, 0)),
        "{} vs {}",
        out[0],
        approx(&sum)
    );
}

#[test]
fn cancellation_and_exponent_spread() {
    let mut rng = Rng(99);
    for _ in 0..200 {
        let n = 1 + rng.below(40) as usize;
        let mut x = Vec::new();
        let mut w = Vec::new();
        for _ in 0..n {
            let a = rng.value(1);
            let b = rng.value(2);
            // Keep the products finite in float64 terms (always true) and
            // pair each with its exact negation, plus a small remainder.
            x.push(a);
            w.push(b);
            x.push(a);
            w.push(-b);
        }
        x.push(rng.value(2));
        w.push(rng.value(2));
        let x: Vec<f32> = x.into_iter().map(no_subnormal).collect();
        let mut out = [0.0f32];
        dense_f32_wide(&x, &w, None, &mut out, &Activation::Linear).unwrap();
        let sum = exact_sum(&x, &w, 1, 0);
        let err = bound(&x, &w, 0.0, 1, 0);
        assert!(
            within(&sum, out[0], err),
            "got {:e}, exact ~{:e}",
            out[0],
            approx(&sum)
        );
    }
    // 1 + 2^-30 - 1: exact (float32 sequential sums give 0).
    let t = 2f32.powi(-30);
    let mut out = [0.0f32];
    dense_f32_wide(
        &[1.0, 1.0, 1.0],
        &[1.0, t, -1.0],
        None,
        &mut out,
        &Activation::Linear,
    )
    .unwrap();
    assert_eq!(out[0], t);
    // Largest against smallest: the small term is below the bound.
    let tiny = f32::from_bits(1);
    dense_f32_wide(
        &[f32::MAX, 1.0, -f32::MAX],
        &[1.0, tiny, 1.0],
        None,
        &mut out,
        &Activation::Linear,
    )
    .unwrap();
    assert_eq!(out[0], 0.0);
    dense_f32_wide(
        &[f32::MAX, 1.0],
        &[f32::MAX, -1.0],
        None,
        &mut out,
        &Activation::Linear,
    )
    .unwrap();
    assert_eq!(out[0], f32::INFINITY);
}

#[test]
fn zeros_and_signed_zero() {
    let mut out = [1.0f32; 2];
    let lin = Activation::Linear;
    dense_f32_wide(&[-0.0, 0.0], &[-1.0, 2.0, 3.0, -4.0], None, &mut out, &lin).unwrap();
    assert_eq!(out.map(f32::to_bits), [0, 0]);
    // Reference: +0 + (-0) = +0, and so does the integer kernel.
    dense_f32_wide(&[-1.0], &[0.0, -0.0], None, &mut out, &lin).unwrap();
    assert_eq!(out.map(f32::to_bits), [0, 0]);
    // A -0.0 bias on an exact zero: +0 + -0 = +0.
    dense_f32_wide(&[1.0], &[0.0, 0.0], Some(&[-0.0, -0.0]), &mut out, &lin).unwrap();
    assert_eq!(out.map(f32::to_bits), [0, 0]);
    dense_f32_wide(&[-0.0], &[1.0, 1.0], Some(&[-0.0, 5.0]), &mut out, &lin).unwrap();
    let mut plain = [0.0f32; 2];
    dense_f32_reference(&[-0.0], &[1.0, 1.0], Some(&[-0.0, 5.0]), &mut plain, &lin).unwrap();
    assert_eq!(out.map(f32::to_bits), plain.map(f32::to_bits));
}

#[test]
fn special_values_match_the_reference_kernel() {
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1.0,
        f32::MAX,
    ];
    let mut rng = Rng(4242);
    let lin = Activation::Linear;
    for _ in 0..2000 {
        let n_in = 1 + rng.below(5) as usize;
        let units = 1 + rng.below(4) as usize;
        let gen = |rng: &mut Rng| {
            if rng.below(4) == 0 {
                specials[rng.below(specials.len() as u64) as usize]
            } else {
                rng.value(0)
            }
        };
        let x: Vec<f32> = (0..n_in).map(|_| gen(&mut rng)).collect();
        let kernel: Vec<f32> = (0..n_in * units).map(|_| gen(&mut rng)).collect();
        let bias: Vec<f32> = (0..units).map(|_| gen(&mut rng)).collect();
        let mut fast = vec![0.0f32; units];
        let mut plain = vec![0.0f32; units];
        dense_f32_wide(&x, &kernel, Some(&bias), &mut fast, &lin).unwrap();
        dense_f32_reference(&x, &kernel, Some(&bias), &mut plain, &lin).unwrap();
        let mut no_bias = vec![0.0f32; units];
        dense_f32_wide(&x, &kernel, None, &mut no_bias, &lin).unwrap();
        // The whole call is the reference kernel's when x holds a NaN or
        // ±inf, or a row whose input is zero does (zero inputs are skipped).
        let whole = x.iter().enumerate().any(|(i, v)| {
            !v.is_finite()
                || (*v == 0.0 && kernel[i * units..][..units].iter().any(|w| !w.is_finite()))
        });
        for j in 0..units {
            let (f, p) = (fast[j], plain[j]);
            let finite_terms = (0..n_in).all(|i| kernel[i * units + j].is_finite());
            if whole || !finite_terms || !bias[j].is_finite() {
                // The column (or the whole call) is the reference kernel's.
                assert!(
                    f.to_bits() == p.to_bits() || (f.is_nan() && p.is_nan()),
                    "x {x:?} k {kernel:?} b {bias:?} j {j}: {f} vs {p}"
                );
            } else {
                // One rounding of the sum, bias included (where float32
                // may overflow to ±inf or NaN).
                let sum = exact_sum_b(&x, &kernel, bias[j], units, j);
                assert!(within(&sum, f, bound(&x, &kernel, bias[j], units, j)));
                assert!(within(
                    &exact_sum(&x, &kernel, units, j),
                    no_bias[j],
                    bound(&x, &kernel, 0.0, units, j)
                ));
            }
        }
    }
}

#[test]
fn activations_and_glu_agree_with_the_reference() {
    let mut rng = Rng(5);
    let acts = [
        Activation::Linear,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Glu,
        Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        },
    ];
    for act in acts {
        let (n_in, units) = (17, 6);
        let x: Vec<f32> = (0..n_in).map(|_| rng.value(0)).collect();
        let kernel: Vec<f32> = (0..n_in * units).map(|_| rng.value(0)).collect();
        let bias: Vec<f32> = (0..units).map(|_| rng.value(0)).collect();
        let n_out = act.outputs(units).unwrap();
        let mut fast = vec![0.0f32; n_out];
        let mut plain = vec![0.0f32; n_out];
        dense_f32_wide(&x, &kernel, Some(&bias), &mut fast, &act).unwrap();
        dense_f32_reference(&x, &kernel, Some(&bias), &mut plain, &act).unwrap();
        for (f, p) in fast.iter().zip(&plain) {
            assert!(
                (f - p).abs() <= 1e-5 + 1e-5 * p.abs(),
                "{act:?}: {f} vs {p}"
            );
        }
        // dense_f32 is one of the two on every target.
        let mut chosen = vec![0.0f32; n_out];
        dense_f32(&x, &kernel, Some(&bias), &mut chosen, &act).unwrap();
        assert!(chosen == fast || chosen == plain);
    }
}

#[test]
fn size_errors_are_the_reference_kernels() {
    let lin = Activation::Linear;
    let mut out = [7.0f32; 3];
    for (x, k, b, n) in [
        (&[][..], &[1.0f32; 6][..], None, 3usize),
        (&[1.0, 2.0][..], &[1.0; 5][..], None, 3),
        (&[1.0, 2.0][..], &[1.0; 6][..], Some(&[0.0f32; 2][..]), 3),
        (&[1.0, 2.0][..], &[1.0; 6][..], None, 2),
    ] {
        let e = dense_f32_wide(x, k, b, &mut out[..n], &lin);
        assert_eq!(e, dense_f32_reference(x, k, b, &mut out[..n], &lin));
        assert!(e.is_err());
    }
    assert_eq!(out, [7.0; 3]);
}

#[test]
fn rounding_helpers() {
    // Ties to even at every scale, overflow, subnormals.
    assert_eq!(round_to_f32(false, 3, -150, false), f32::from_bits(2)); // 1.5 ulp -> 2
    assert_eq!(round_to_f32(false, 1, -150, false), 0.0); // half ulp -> 0
    assert_eq!(round_to_f32(false, 1, -150, true), f32::from_bits(1));
    assert_eq!(round_to_f32(true, 1, 128, false), f32::NEG_INFINITY);
    assert_eq!(round_to_f32(false, (1 << 24) - 1, 104, false), f32::MAX);
    assert_eq!(
        round_to_f32(false, (1 << 25) - 1, 103, false),
        f32::INFINITY
    );
    assert_eq!(
        round_to_f32(false, (1 << 23) - 1, -149, false),
        f32::from_bits(0x7f_ffff)
    );
    assert_eq!(
        round_to_f32(false, (1 << 24) - 1, -150, false),
        f32::MIN_POSITIVE
    );
}

/// The blocked kernel (the Cortex-M4F's) computes the reference kernel's
/// sums in the reference's order: the same bits, for every width (whole
/// blocks and each mix of the 4-, 2- and 1-column rest), with and without
/// bias, every common activation and the vector ones.
#[test]
fn blocked_is_the_reference_bit_for_bit() {
    use anne::layers::dense::dense_f32_blocked;
    let mut seed = 0x2545_f491_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    };
    let acts = [
        Activation::Linear,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Tanh,
        Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        },
        Activation::Glu,
    ];
    let mut cases = 0;
    for n_in in [1usize, 3, 8, 17] {
        for units in (1usize..=17).chain([20, 23]) {
            let x: Vec<f32> = (0..n_in).map(|_| next() * 3.0).collect();
            let kernel: Vec<f32> = (0..n_in * units).map(|_| next()).collect();
            let bias: Vec<f32> = (0..units).map(|_| next()).collect();
            for act in &acts {
                let n_out = if matches!(act, Activation::Glu) {
                    if units % 2 == 1 {
                        continue;
                    }
                    units / 2
                } else {
                    units
                };
                for b in [None, Some(&bias[..])] {
                    let (mut want, mut got) = (vec![0.0; n_out], vec![0.0; n_out]);
                    dense_f32_reference(&x, &kernel, b, &mut want, act).unwrap();
                    dense_f32_blocked(&x, &kernel, b, &mut got, act).unwrap();
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "n_in {n_in} units {units} {act:?}");
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 800);
}

/// `anne::math::wide::outer_fma` (the weight gradient of a batch of one) gives
/// the bits of the wide kernel with one input, for every style of value
/// and the specials, with and without the added row.
#[test]
fn outer_fma_is_the_wide_kernel_with_one_input() {
    use anne::math::wide::outer_fma;
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compared = 0;
    for case in 0..3000 {
        let units = 1 + rng.below(12) as usize;
        let style = (case % 3) as u32;
        let mut x = rng.value(style);
        let mut dz: Vec<f32> = (0..units).map(|_| rng.value(style)).collect();
        let mut w: Vec<f32> = (0..units).map(|_| rng.value(style)).collect();
        if case % 7 == 0 {
            let k = rng.below(units as u64) as usize;
            dz[k] = specials[rng.below(5) as usize];
        }
        if case % 11 == 0 {
            let k = rng.below(units as u64) as usize;
            w[k] = specials[rng.below(5) as usize];
        }
        if case % 13 == 0 {
            x = specials[rng.below(5) as usize];
        }
        for bias in [Some(&w[..]), None] {
            let mut want = vec![0.0f32; units];
            dense_f32_wide(&[x], &dz, bias, &mut want, &Activation::Linear).unwrap();
            let mut got = vec![7.0f32; units];
            if outer_fma(x, &dz, bias, &mut got) {
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "x {x:e} dz {dz:?} w {bias:?}");
                compared += 1;
            } else {
                // refused: only x that the wide kernel refuses too
                let xb = x.to_bits();
                assert!(!x.is_finite() || (xb << 1 != 0 && xb << 1 < 0x0100_0000));
                assert!(got.iter().all(|&v| v == 7.0));
            }
        }
    }
    assert!(compared > 5000, "{compared}");
    // sizes that differ are refused
    assert!(!outer_fma(1.0, &[1.0, 2.0], None, &mut [0.0]));
    assert!(!outer_fma(1.0, &[1.0], Some(&[1.0, 2.0]), &mut [0.0]));
}
