//! The integer `exp` (src/fastexp.rs) against float64 `exp` rounded to f32:
//! a dense sweep of bit patterns over [-104, 89], every f32 near the
//! interesting points (0, the overflow and underflow thresholds, the
//! normal/subnormal boundary, multiples of ln 2, ±1), and the specials.
//! `exhaustive_all_f32` (ignored; run with
//! `cargo test --release --test fastexp -- --ignored --nocapture`) checks all
//! 2^32 inputs.

use anne::activation::fastexp::exp;

/// Largest accepted error, in ulps of the f32 result.
const MAX_ULPS: f64 = 2.0;

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

fn check(xs: impl Iterator<Item = f32>) -> (f64, f32, u64) {
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0u64;
    for x in xs {
        let err = ulp_error(x);
        assert!(
            err <= MAX_ULPS,
            "exp({x:e} = {:#010x}) = {:e}, want {:e}: {err} ulp",
            x.to_bits(),
            exp(x),
            (x as f64).exp() as f32
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
    // 2^20 bit patterns evenly spaced over [-104, 89] (both signs).
    let pos = 89f32.to_bits() as u64;
    let neg = (-104f32).to_bits() as u64 & 0x7fff_ffff;
    let total = pos + neg;
    let steps = 1u64 << 20;
    let xs = (0..=steps).map(move |i| {
        let k = i * total / steps;
        if k <= pos {
            f32::from_bits(k as u32)
        } else {
            f32::from_bits(0x8000_0000 | (k - pos) as u32)
        }
    });
    let (worst, at, count) = check(xs);
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
    let (w, at, c) = check((0..=0x3400_0000u32).step_by(97).flat_map(|b| {
        [f32::from_bits(b), f32::from_bits(b | 0x8000_0000)]
    }));
    if w > worst.0 {
        worst = (w, at);
    }
    count += c;
    println!(
        "near special points: {count} inputs, max {:.4} ulp at {:e}",
        worst.0, worst.1
    );
}

#[test]
#[ignore = "all 2^32 inputs: run in release"]
fn exhaustive_all_f32() {
    let (worst, at, count) = check((0..=u32::MAX).map(f32::from_bits));
    println!("all f32: {count} inputs, max {worst:.4} ulp at {at:e}");
}
