//! The integer `exp` (src/math/exp.rs) against float64 `exp` rounded to f32:
//! a dense sweep of bit patterns over [-104, 89], every f32 near the
//! interesting points (0, the overflow and underflow thresholds, the
//! normal/subnormal boundary, multiples of ln 2, ±1), and the specials.
//! `exhaustive_all_f32` (ignored; run with
//! `cargo test --release --test fastexp -- --ignored --nocapture`) checks all
//! 2^32 inputs.

use anne::math::exp::{exp, sigmoid};

/// Largest accepted error, in ulps of the f32 result: the figure the docs
/// state (src/math/exp.rs, README), for exp and sigmoid alike.
const MAX_ULPS: f64 = 0.533;

/// Size of one f32 ulp at |y| (y finite; subnormal spacing below 2^-126).
fn ulp(y: f64) -> f64 {
    let y = y.abs();
    if y < f32::MIN_POSITIVE as f64 {
        return 2f64.powi(-149);
    }
    let e = y.log2().floor() as i32;
    // Guard against log2 rounding at powers of two.
    let e = if 2f64.powi(e) > y { e - 1 } else { e };
    2f64.powi(e - 23)
}

/// Error of exp(x) in ulps of f32 against the f64 reference (the reference
/// itself, unrounded, so 0.5 means "correctly rounded in the worst case").
/// Non-finite and zero cases must match the rounded reference exactly.
fn ulp_error(x: f32) -> f64 {
    let got = exp(x);
    let exact = (x as f64).exp();
    let rounded = exact as f32;
    if x.is_nan() {
        assert!(got.is_nan(), "exp({x:e}) = {got:e}, want NaN");
        return 0.0;
    }
    if !rounded.is_finite() || rounded == 0.0 || !got.is_finite() || got == 0.0 {
        // Gradual underflow and overflow: exact agreement with the reference
        // except for at most one subnormal step (a near-tie at 2^-150).
        if got.to_bits() != rounded.to_bits() {
            let d = (got as f64 - exact).abs() / 2f64.powi(-149);
            assert!(
                got.is_finite() && rounded.is_finite() && d <= MAX_ULPS,
                "exp({x:e} = {:#010x}) = {got:e}, want {rounded:e}",
                x.to_bits()
            );
            return d;
        }
        return 0.0;
    }
    (got as f64 - exact).abs() / ulp(exact)
}

/// The same for sigmoid, against float64 1 / (1 + exp(-x)).
fn sigmoid_ulp_error(x: f32) -> f64 {
    let got = sigmoid(x);
    if x.is_nan() {
        assert!(got.is_nan(), "sigmoid({x:e}) = {got:e}, want NaN");
        return 0.0;
    }
    let exact = 1.0 / (1.0 + (-(x as f64)).exp());
    let rounded = exact as f32;
    if rounded == 0.0 || got == 0.0 || rounded == 1.0 || got == 1.0 {
        if got.to_bits() != rounded.to_bits() {
            return (got as f64 - exact).abs() / ulp(exact.min(got as f64));
        }
        return 0.0;
    }
    (got as f64 - exact).abs() / ulp(exact)
}

fn check(xs: impl Iterator<Item = f32>) -> (f64, f32, u64) {
    check_with(xs, ulp_error)
}

fn check_with(xs: impl Iterator<Item = f32>, ulp_error: fn(f32) -> f64) -> (f64, f32, u64) {
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0u64;
    for x in xs {
        let err = ulp_error(x);
        assert!(
            err <= MAX_ULPS,
            "f({x:e} = {:#010x}): {err} ulp (exp {:e}, sigmoid {:e})",
            x.to_bits(),
            exp(x),
            sigmoid(x)
        );
        if err > worst.0 {
            worst = (err, x);
        }
        count += 1;
    }
    (worst.0, worst.1, count)
}

/// Every bit pattern within `radius` of x's (same sign).
fn around(x: f32, radius: u32) -> impl Iterator<Item = f32> {
    let b = x.to_bits();
    let sign = b & 0x8000_0000;
    let mag = b & 0x7fff_ffff;
    let low = mag.saturating_sub(radius);
    let high = mag.saturating_add(radius).min(0x7f80_0000);
    (low..=high).map(move |m| f32::from_bits(sign | m))
}

/// 2^20 + 1 bit patterns evenly spaced over [low, high] (low < 0 < high):
/// +0 up to `high`, then -0 down to `low`.
fn sweep(low: f32, high: f32) -> impl Iterator<Item = f32> {
    let pos = high.to_bits() as u64;
    let neg = low.to_bits() as u64 & 0x7fff_ffff;
    let total = pos + neg;
    let steps = 1u64 << 20;
    (0..=steps).map(move |i| {
        let k = i * total / steps;
        if k <= pos {
            f32::from_bits(k as u32)
        } else {
            f32::from_bits(0x8000_0000 | (k - pos) as u32)
        }
    })
}

#[test]
fn specials() {
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(f32::NEG_INFINITY).to_bits(), 0);
    assert!(exp(f32::NAN).is_nan());
    assert!(exp(-f32::NAN).is_nan());
    assert!(exp(f32::from_bits(0x7fc1_2345)).is_nan());
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-0.0), 1.0);
    assert_eq!(exp(f32::from_bits(1)), 1.0);
    assert_eq!(exp(-f32::from_bits(1)), 1.0);
    assert_eq!(exp(1.0), core::f32::consts::E);
    assert_eq!(exp(f32::MAX), f32::INFINITY);
    assert_eq!(exp(f32::MIN).to_bits(), 0);
    // The last finite result and the first overflow.
    assert!(exp(f32::from_bits(0x42b1_7217)).is_finite());
    assert_eq!(exp(f32::from_bits(0x42b1_7218)), f32::INFINITY);
    // Gradual underflow: exp(-103.9) is a subnormal, not 0.
    let y = exp(-103.9);
    assert!(y > 0.0 && y < f32::MIN_POSITIVE);
    assert_eq!(exp(-104.0).to_bits(), 0);
}

#[test]
fn dense_sweep() {
    let (worst, at, count) = check(sweep(-104.0, 89.0));
    println!("dense sweep: {count} inputs, max {worst:.4} ulp at {at:e}");
}

#[test]
fn near_special_points() {
    let mut points: Vec<f32> = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::from_bits(0x3300_0000), // 2^-25
        -f32::from_bits(0x3300_0000),
        f32::from_bits(0x3380_0000), // 2^-24
        -f32::from_bits(0x3380_0000),
        88.722_83,
        -87.336_54,  // exp = 2^-126, normal/subnormal boundary
        -103.972_08, // exp = 2^-150, underflow to 0
        -104.0,
        -103.279, // exp = 2^-149
    ];
    // Every place where n = floor(x log2 e) changes.
    for k in -151..=128 {
        let x = k as f32 * core::f32::consts::LN_2;
        points.push(x);
    }
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0;
    for &p in &points {
        let (w, at, c) = check(around(p, 1 << 12));
        if w > worst.0 {
            worst = (w, at);
        }
        count += c;
    }
    // All subnormal and tiny inputs.
    let (w, at, c) = check(
        (0..=0x3400_0000u32)
            .step_by(97)
            .flat_map(|b| [f32::from_bits(b), f32::from_bits(b | 0x8000_0000)]),
    );
    if w > worst.0 {
        worst = (w, at);
    }
    count += c;
    println!(
        "near special points: {count} inputs, max {:.4} ulp at {:e}",
        worst.0, worst.1
    );
}

/// elu/selu/celu on soft-float targets use `exp(x) - 1` for x < -0.7
/// (src/activation/scalar.rs `expm1`): every f32 in [-105, -0.7) within 1 ulp of
/// float64 expm1.
#[test]
fn expm1_below_minus_0_7() {
    let low = (-0.7f32).to_bits() + 1;
    let high = (-105f32).to_bits();
    let mut worst = (0.0f64, 0.0f32);
    for b in low..=high {
        let x = f32::from_bits(b);
        let got = exp(x) - 1.0;
        let exact = (x as f64).exp_m1();
        let err = (got as f64 - exact).abs() / ulp(exact);
        assert!(err <= 1.0, "exp({x:e}) - 1 = {got:e}: {err} ulp");
        if err > worst.0 {
            worst = (err, x);
        }
    }
    assert_eq!(exp(f32::NEG_INFINITY) - 1.0, -1.0);
    println!(
        "exp(x) - 1, x < -0.7: max {:.4} ulp at {:e}",
        worst.0, worst.1
    );
}

#[test]
fn sigmoid_specials() {
    assert_eq!(sigmoid(f32::INFINITY), 1.0);
    assert_eq!(sigmoid(f32::NEG_INFINITY).to_bits(), 0);
    assert!(sigmoid(f32::NAN).is_nan());
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(-0.0), 0.5);
    assert_eq!(sigmoid(18.0), 1.0);
    assert_eq!(sigmoid(-104.0).to_bits(), 0);
    let y = sigmoid(-100.0);
    assert!(y > 0.0 && y < f32::MIN_POSITIVE);
}

#[test]
fn sigmoid_sweep() {
    let (mut worst, mut at, mut count) = check_with(sweep(-105.0, 20.0), sigmoid_ulp_error);
    for p in [
        0.0f32, -0.0, 1e-7, -1e-7, 17.33, 18.0, -87.33, -103.97, 1.0, -1.0,
    ] {
        let (w, a, c) = check_with(around(p, 1 << 14), sigmoid_ulp_error);
        if w > worst {
            (worst, at) = (w, a);
        }
        count += c;
    }
    println!("sigmoid: {count} inputs, max {worst:.4} ulp at {at:e}");
}

#[test]
#[ignore = "all 2^32 inputs: run in release"]
fn sigmoid_exhaustive_all_f32() {
    let (worst, at, count) = check_with((0..=u32::MAX).map(f32::from_bits), sigmoid_ulp_error);
    println!("sigmoid, all f32: {count} inputs, max {worst:.4} ulp at {at:e}");
}

#[test]
#[ignore = "all 2^32 inputs: run in release"]
fn exhaustive_all_f32() {
    let (worst, at, count) = check((0..=u32::MAX).map(f32::from_bits));
    println!("all f32: {count} inputs, max {worst:.4} ulp at {at:e}");
}
