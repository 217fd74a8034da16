//! The integer `ln` (src/math/ln.rs) against float64 `ln`: a sweep of bit
//! patterns over every positive binade, every f32 near 1 (where the result
//! is small and only its relative error counts) and near each interval
//! edge of the table, and the specials. `exhaustive_all_positive_f32`
//! (ignored; run with
//! `cargo test --release --test fastlog -- --ignored --nocapture`) checks
//! all 2^31 positive inputs.

use anne::math::ln::ln;

/// Largest accepted error, in ulps of the f32 result: the figure the docs
/// state (src/math/ln.rs).
const MAX_ULPS: f64 = 0.51;

/// Size of one f32 ulp at |y| (y normal and finite).
fn ulp(y: f64) -> f64 {
    let y = y.abs();
    let e = y.log2().floor() as i32;
    let e = if 2f64.powi(e) > y { e - 1 } else { e };
    2f64.powi(e - 23)
}

/// Error of ln(x) in ulps of the f32 result against the unrounded f64
/// reference, for positive finite x.
fn ulp_error(x: f32) -> f64 {
    let got = ln(x);
    let exact = (x as f64).ln();
    if exact == 0.0 {
        assert_eq!(got.to_bits(), 0, "ln(1) = {got:e}, want +0");
        return 0.0;
    }
    assert!(got.is_finite(), "ln({x:e}) = {got:e}");
    (got as f64 - exact).abs() / ulp(exact)
}

fn check(xs: impl Iterator<Item = f32>) -> (f64, f32, u64) {
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0u64;
    for x in xs {
        let err = ulp_error(x);
        assert!(
            err <= MAX_ULPS,
            "ln({x:e} = {:#010x}) = {:e}: {err} ulp",
            x.to_bits(),
            ln(x)
        );
        if err > worst.0 {
            worst = (err, x);
        }
        count += 1;
    }
    (worst.0, worst.1, count)
}

#[test]
fn specials() {
    assert_eq!(ln(0.0), f32::NEG_INFINITY);
    assert_eq!(ln(-0.0), f32::NEG_INFINITY);
    assert_eq!(ln(f32::INFINITY), f32::INFINITY);
    assert!(ln(f32::NEG_INFINITY).is_nan());
    assert!(ln(-1.0).is_nan());
    assert!(ln(-f32::from_bits(1)).is_nan());
    assert!(ln(f32::NAN).is_nan());
    assert!(ln(-f32::NAN).is_nan());
    assert_eq!(ln(1.0).to_bits(), 0);
    // (f32's e is below e: its ln rounds to 1 - 2^-24)
    assert_eq!(ln(core::f32::consts::E), 1.0 - f32::EPSILON / 2.0);
    assert_eq!(ln(2.0), core::f32::consts::LN_2);
    assert_eq!(ln(f32::MAX), (f32::MAX as f64).ln() as f32);
    assert_eq!(ln(f32::from_bits(1)), (-149.0 * 2f64.ln()) as f32);
}

#[test]
fn every_binade() {
    // 2^22 patterns spread over all positive finite floats (subnormals in).
    let (worst, at, count) = check((1..0x7f80_0000u32).step_by(509).map(f32::from_bits));
    println!("every binade: {count} inputs, max {worst:.4} ulp at {at:e}");
}

#[test]
fn near_one_and_the_interval_edges() {
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0;
    // every f32 in [0.99, 1.01] (the interval with c = 1 and its neighbours)
    let (w, at, c) = check((0.99f32.to_bits()..=1.01f32.to_bits()).map(f32::from_bits));
    if w > worst.0 {
        worst = (w, at);
    }
    count += c;
    // both sides of each interval edge, in the binades of z and beside
    for e in [-3i32, -1, 0, 1, 4, 100] {
        for i in 0..32u32 {
            let edge = (0x3f33_0000u32 + (i << 18)).wrapping_add((e as u32) << 23);
            let (w, at, c) = check((edge - 4096..edge + 4096).map(f32::from_bits));
            if w > worst.0 {
                worst = (w, at);
            }
            count += c;
        }
    }
    println!(
        "near 1 and the edges: {count} inputs, max {:.4} ulp at {:e}",
        worst.0, worst.1
    );
}

#[test]
#[ignore]
fn exhaustive_all_positive_f32() {
    let (worst, at, count) = check((1..0x7f80_0000u32).map(f32::from_bits));
    println!("all positive f32: {count} inputs, max {worst:.4} ulp at {at:e}");
}
