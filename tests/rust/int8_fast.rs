//! The int8 Dense kernel's fast paths (src/math/dot_s8.rs, issue 29 item
//! 1) against its reference loop (`dense_s8_reference`: LiteRT's
//! reference FULLY_CONNECTED, one multiply-add at a time), bit for bit, on
//! random shapes: `n_in` from 1 (every size up to 40, then larger odd and
//! even ones), `units` from 1 (so that every path leaves 0 to 3 rows to
//! its one-row tail), slices starting at every alignment, extreme values
//! (every weight and input -128 or 127, offsets -127 and 128), accumulators
//! that wrap, per-tensor and per-channel scales in each of the kernel's
//! forms (Q31 either rounding, f64 scales and their bits), with and
//! without bias, every fused clamp. Every path runs here, the DSP one with
//! its instructions emulated (src/math/caps.rs); the target's own path is
//! `dense_s8` (the board tests run it on the emulated cores).

use anne::layers::dense_s8::{
    dense_s8, dense_s8_reference, dense_s8_with, DenseS8Params, Multipliers,
};
use anne::math::caps::dsp;
use anne::math::dot_s8::{S8Dot, S8_DOT};
use anne::math::requant::{quantize_multiplier_for, FloatScale, Rounding};

mod rng;
use rng::Rng;

const PATHS: [S8Dot; 4] = [S8Dot::Rows1, S8Dot::Rows2, S8Dot::Rows4, S8Dot::Dsp2];

/// How the int8 values are drawn.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// Uniform in -128..=127.
    Uniform,
    /// -128 and 127 only.
    Extreme,
    /// Mostly -128 (the largest products with offset 128).
    Min,
}

fn i8_of(rng: &mut Rng, v: Values) -> i8 {
    match v {
        Values::Uniform => rng.below(256) as i32 as i8,
        Values::Extreme => {
            if rng.below(2) == 0 {
                -128
            } else {
                127
            }
        }
        Values::Min => {
            if rng.below(8) == 0 {
                127
            } else {
                -128
            }
        }
    }
}

fn i8s(rng: &mut Rng, n: usize, v: Values) -> Vec<i8> {
    (0..n).map(|_| i8_of(rng, v)).collect()
}

fn f64_words(scales: &[f64]) -> Vec<u32> {
    scales
        .iter()
        .flat_map(|s| [s.to_bits() as u32, (s.to_bits() >> 32) as u32])
        .collect()
}

/// The storage a [`Multipliers`] borrows.
struct Quant {
    kind: usize,
    mults: Vec<i32>,
    shifts: Vec<i32>,
    scales: Vec<FloatScale>,
    words: Vec<u32>,
    rounding: Rounding,
}

impl Quant {
    /// One of the six forms (`kind` 0..6), with scales of magnitudes that
    /// put the outputs around the clamp's range for sums of `n_in` terms.
    fn new(rng: &mut Rng, kind: usize, units: usize, n_in: usize) -> Quant {
        let per_channel = kind % 2 == 1;
        let n = if per_channel { units } else { 1 };
        let base = 1.0 / (128.0 * 64.0 * (n_in as f64).sqrt());
        let mut reals: Vec<f64> = (0..n).map(|_| base * (0.05 + 4.0 * rng.unit())).collect();
        if kind == 4 {
            // the bits' form is per channel only: one scale for every unit
            reals = vec![reals[0]; units];
        }
        let rounding = if rng.below(2) == 0 {
            Rounding::Single
        } else {
            Rounding::Double
        };
        let q: Vec<(i32, i32)> = reals
            .iter()
            .map(|&r| quantize_multiplier_for(r, rounding).unwrap())
            .collect();
        Quant {
            kind,
            mults: q.iter().map(|m| m.0).collect(),
            shifts: q.iter().map(|m| m.1).collect(),
            scales: reals
                .iter()
                .map(|&r| FloatScale::from_f64(r).unwrap())
                .collect(),
            words: f64_words(&reals),
            rounding,
        }
    }

    fn multipliers(&self) -> Multipliers<'_> {
        match self.kind {
            0 => Multipliers::PerTensor {
                multiplier: self.mults[0],
                shift: self.shifts[0],
            },
            1 => Multipliers::PerChannel {
                multipliers: &self.mults,
                shifts: &self.shifts,
            },
            2 => Multipliers::FloatPerTensor {
                scale: self.scales[0],
            },
            3 => Multipliers::FloatPerChannel {
                scales: &self.scales,
            },
            // (per tensor: the f64's bits of one unit repeated; the kernel
            // has no per-tensor form of them)
            _ => Multipliers::FloatBitsPerChannel { words: &self.words },
        }
    }
}

/// Runs every path on one case (the slices at offset `align` in larger
/// buffers) and compares each with the reference; returns the outputs.
#[allow(clippy::too_many_arguments)]
fn check_case(
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    units: usize,
    align: usize,
    p: &DenseS8Params,
    what: &str,
) -> Vec<i8> {
    // the same values, starting `align` bytes into their buffers
    let mut xb = vec![0i8; align + x.len()];
    xb[align..].copy_from_slice(x);
    let mut fb = vec![0i8; align + filter.len()];
    fb[align..].copy_from_slice(filter);
    let (x, filter) = (&xb[align..], &fb[align..]);
    let mut want = vec![0i8; units];
    dense_s8_reference(x, filter, bias, &mut want, p).unwrap();
    for path in PATHS {
        let mut ob = vec![0x55i8; align + units];
        dense_s8_with(path, x, filter, bias, &mut ob[align..], p).unwrap();
        assert_eq!(&ob[align..], &want[..], "{path:?}: {what}");
    }
    let mut got = vec![0x55i8; units];
    dense_s8(x, filter, bias, &mut got, p).unwrap();
    assert_eq!(got, want, "dense_s8 ({S8_DOT:?}): {what}");
    want
}

/// The sizes: every `n_in` up to 40 and some larger, odd and even.
fn sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (1..=40).collect();
    v.extend([63, 64, 65, 127, 128, 255, 256, 257, 511, 1000]);
    v
}

#[test]
fn fast_paths_match_the_reference() {
    let mut rng = Rng(0x1878_2929_0001);
    let mut cases = 0usize;
    let (mut clamped, mut inside) = (0usize, 0usize);
    for n_in in sizes() {
        for round in 0..12 {
            let units = 1 + rng.below(if n_in > 256 { 9 } else { 19 }) as usize;
            let vals = [Values::Uniform, Values::Extreme, Values::Min][round % 3];
            let x = i8s(&mut rng, n_in, vals);
            let filter = i8s(&mut rng, n_in * units, vals);
            let bias: Vec<i32> = (0..units)
                .map(|_| (rng.below(1 << 14) as i32) - (1 << 13))
                .collect();
            let input_offset = match rng.below(4) {
                0 => -127,
                1 => 128,
                _ => rng.below(256) as i32 - 127,
            };
            let output_offset = rng.below(256) as i32 - 128;
            let (act_min, act_max) = match rng.below(3) {
                0 => (-128, 127),
                1 => (output_offset, 127), // relu
                _ => {
                    let a = rng.below(256) as i32 - 128;
                    (a, a + rng.below((128 - a) as u64) as i32)
                }
            };
            let q = Quant::new(&mut rng, round % 6, units, n_in);
            let p = DenseS8Params {
                input_offset,
                output_offset,
                act_min,
                act_max,
                multipliers: q.multipliers(),
                rounding: q.rounding,
            };
            let align = rng.below(4) as usize;
            let b = (rng.below(4) != 0).then_some(&bias[..]);
            let what = format!(
                "n_in {n_in}, units {units}, {vals:?}, offsets {input_offset} {output_offset}, \
                 clamp {act_min}..={act_max}, quant {}, align {align}, bias {}",
                q.kind,
                b.is_some()
            );
            let out = check_case(&x, &filter, b, units, align, &p, &what);
            // (the extreme rounds' sums and the narrow clamps' outputs are
            // mostly clamped: counted are the uniform rounds without one)
            let counted = matches!(vals, Values::Uniform) && (act_min, act_max) == (-128, 127);
            for &o in out.iter().filter(|_| counted) {
                if o as i32 == act_min || o as i32 == act_max {
                    clamped += 1;
                } else {
                    inside += 1;
                }
            }
            cases += 1;
        }
    }
    // the uniform rounds' outputs were mostly inside the clamp
    assert!(
        inside > clamped,
        "{inside} outputs inside, {clamped} clamped"
    );
    println!("int8 fast paths: {cases} cases, {inside} outputs inside the clamp, {clamped} on it");
}

/// The largest sums: every weight and input at the end that makes each
/// product largest (-128 * (-128 + 128) is 0: with offset 128 the inputs
/// go to 127), with n_in large enough that the int32 sum wraps; the
/// accumulator is compared through a scale of 1 (per-tensor f64) and
/// through the raw sums of each path.
#[test]
fn extreme_values_and_wrapping_sums() {
    let mut rng = Rng(0x1878_2929_0002);
    for &n_in in &[1usize, 2, 3, 4, 5, 7, 8, 9, 131_073, 140_001] {
        for (w, v, off) in [
            (-128i8, -128i8, -127i32),
            (127, 127, 128),
            (-128, 127, 128),
            (127, -128, -127),
        ] {
            let big = n_in > 1000;
            let units = 1 + rng.below(if big { 2 } else { 6 }) as usize;
            let x = vec![v; n_in];
            let filter = vec![w; n_in * units];
            let scales: &[f64] = if big {
                &[1e-9]
            } else {
                &[1.0, 1.0 / 65536.0, 1e-9]
            };
            for &scale in scales {
                let p = DenseS8Params {
                    input_offset: off,
                    output_offset: 0,
                    act_min: -128,
                    act_max: 127,
                    multipliers: Multipliers::FloatPerTensor {
                        scale: FloatScale::from_f64(scale).unwrap(),
                    },
                    rounding: Rounding::Single,
                };
                for align in if big { 2..4 } else { 0..4 } {
                    check_case(
                        &x,
                        &filter,
                        None,
                        units,
                        align,
                        &p,
                        &format!("n_in {n_in}, w {w}, x {v}, off {off}, scale {scale}"),
                    );
                }
            }
            // the sums themselves, wrapping
            let sum = (w as i64 * (v as i64 + off as i64) * n_in as i64) as i32;
            let dots = [
                anne::math::dot_s8::dot1(&x, &filter[..n_in], off),
                anne::math::dot_s8::dot2(&x, &filter[..n_in], &filter[..n_in], off)[1],
                anne::math::dot_s8::dot4(&x, [&filter[..n_in]; 4], off)[3],
                anne::math::dot_s8::dot2_dsp(&x, &filter[..n_in], &filter[..n_in], off)[0],
            ];
            assert_eq!(dots, [sum; 4], "n_in {n_in}, w {w}, x {v}, off {off}");
        }
    }
}

/// Random sums of random rows (the dot products alone), wrapping ones
/// too, at every alignment of each slice.
#[test]
fn dot_products_match_the_reference_sums() {
    let mut rng = Rng(0x1878_2929_0003);
    let reference = |x: &[i8], w: &[i8], off: i32| -> i32 {
        let mut a = 0i32;
        for (&w, &v) in w.iter().zip(x) {
            a = a.wrapping_add(w as i32 * (v as i32 + off));
        }
        a
    };
    for _ in 0..4000 {
        let n = 1 + rng.below(70) as usize;
        let off = rng.below(256) as i32 - 127;
        let buf = |rng: &mut Rng| i8s(rng, n + 3, Values::Uniform);
        let (xb, b0, b1, b2, b3) = (
            buf(&mut rng),
            buf(&mut rng),
            buf(&mut rng),
            buf(&mut rng),
            buf(&mut rng),
        );
        let s = |b: &[i8], rng: &mut Rng| {
            let k = rng.below(4) as usize;
            b[k..k + n].to_vec()
        };
        let (x, w0, w1, w2, w3) = (
            s(&xb, &mut rng),
            s(&b0, &mut rng),
            s(&b1, &mut rng),
            s(&b2, &mut rng),
            s(&b3, &mut rng),
        );
        let want = [
            reference(&x, &w0, off),
            reference(&x, &w1, off),
            reference(&x, &w2, off),
            reference(&x, &w3, off),
        ];
        use anne::math::dot_s8::{dot1, dot2, dot2_dsp, dot4};
        assert_eq!(dot1(&x, &w0, off), want[0]);
        assert_eq!(dot2(&x, &w0, &w1, off), [want[0], want[1]]);
        assert_eq!(dot2_dsp(&x, &w2, &w3, off), [want[2], want[3]]);
        assert_eq!(dot4(&x, [&w0, &w1, &w2, &w3], off), want);
    }
}

/// The DSP instructions' emulation (what the host runs of the DSP path)
/// against their definitions in Arm's architecture manual, on random and
/// extreme words.
#[test]
fn dsp_emulation() {
    let mut rng = Rng(0x1878_2929_0004);
    let h = |w: u32, k: u32| (w >> (16 * k)) as u16 as i16 as i32;
    let b = |w: u32, k: u32| (w >> (8 * k)) as u8 as i8 as i32;
    let mut words: Vec<u32> = vec![
        0,
        u32::MAX,
        0x8080_8080,
        0x7f7f_7f7f,
        0x8000_8000,
        0x7fff_7fff,
    ];
    words.extend((0..2000).map(|_| rng.next_u64() as u32));
    for &x in &words {
        let y = rng.next_u64() as u32;
        let e = dsp::sxtb16(x);
        assert_eq!((h(e, 0), h(e, 1)), (b(x, 0), b(x, 2)));
        let o = dsp::sxtb16_ror8(x);
        assert_eq!((h(o, 0), h(o, 1)), (b(x, 1), b(x, 3)));
        let a = dsp::sxtab16(y, x);
        assert_eq!(
            (h(a, 0), h(a, 1)),
            (
                (h(y, 0) + b(x, 0)) as i16 as i32,
                (h(y, 1) + b(x, 2)) as i16 as i32
            )
        );
        let a = dsp::sxtab16_ror8(y, x);
        assert_eq!(
            (h(a, 0), h(a, 1)),
            (
                (h(y, 0) + b(x, 1)) as i16 as i32,
                (h(y, 1) + b(x, 3)) as i16 as i32
            )
        );
        let acc = rng.next_u64() as i32;
        let want =
            (acc as i64 + h(x, 0) as i64 * h(y, 0) as i64 + h(x, 1) as i64 * h(y, 1) as i64) as i32;
        assert_eq!(dsp::smlad(x, y, acc), want);
    }
}
