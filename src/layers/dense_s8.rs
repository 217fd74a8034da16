//! Dense (TFLite's FULLY_CONNECTED), int8: LiteRT's reference
//! `reference_integer_ops::FullyConnected` (per-tensor multiplier) and
//! `FullyConnectedPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h`)
//! for one input row.
//!
//! Two requantizations: TFLite's `MultiplyByQuantizedMultiplier` (Q31
//! multipliers, [`Multipliers::PerTensor`] / [`Multipliers::PerChannel`],
//! either rounding build), which LiteRT's optimized kernels and TFLite
//! Micro compute, and the float one of LiteRT's reference kernel since
//! LiteRT commit 921360770 ([`Multipliers::FloatPerTensor`] /
//! [`Multipliers::FloatPerChannel`],
//! [`crate::math::requant::requantize_float`], in integer arithmetic),
//! which is what LiteRT's Python interpreter with the reference op
//! resolver computes, by construction (tests/rust/int8_fixtures.rs).

use crate::math::caps;
use crate::math::dot_s8::{dot1, dot2, dot2_dsp, dot4, S8Dot, S8_DOT};
use crate::math::requant::{
    requantize, requantize_float, FloatScale, Rounding, MAX_SHIFT, MIN_SHIFT,
};
use crate::Status;

/// The requantization of a layer: one Q31 multiplier and shift for the
/// whole filter, or one per output unit (per-channel weights); or the
/// same with double-precision scales, requantized as LiteRT's reference
/// FULLY_CONNECTED does (`round((double)acc * scale)`).
#[derive(Clone, Copy, Debug)]
pub enum Multipliers<'a> {
    /// `input_scale * filter_scale / output_scale` as
    /// [`crate::math::requant::quantize_multiplier`] gives it.
    PerTensor { multiplier: i32, shift: i32 },
    /// One multiplier and shift per unit (`filter_scale[j]`).
    PerChannel {
        multipliers: &'a [i32],
        shifts: &'a [i32],
    },
    /// `(double)input_scale * (double)filter_scale / (double)output_scale`
    /// (the float32 scales widened, then multiplied and divided in f64, as
    /// LiteRT's reference kernel does), requantized by
    /// [`requantize_float`]; [`DenseS8Params::rounding`] is not used.
    FloatPerTensor { scale: FloatScale },
    /// One such scale per unit (`filter_scale[j]`).
    FloatPerChannel { scales: &'a [FloatScale] },
    /// One such scale per unit as a `.anne` file stores it: the f64's
    /// IEEE 754 bits, two words per unit, the low one first
    /// (`words[2 * j] | words[2 * j + 1] << 32`), decoded per output with
    /// [`FloatScale::from_bits`] (bit operations only, no allocation);
    /// the kernels refuse a NaN or infinite one before writing anything.
    FloatBitsPerChannel { words: &'a [u32] },
}

/// Unit `j`'s scale of [`Multipliers::FloatBitsPerChannel`]'s words;
/// `None` past the end or for NaN and ±inf.
#[inline(always)]
fn scale_of_words(words: &[u32], j: usize) -> Option<FloatScale> {
    match words.get(2 * j..2 * j + 2) {
        Some(&[lo, hi]) => FloatScale::from_bits((hi as u64) << 32 | lo as u64).ok(),
        _ => None,
    }
}

impl Multipliers<'_> {
    /// Unit (or channel) `j`'s multiplier and shift; `(0, 0)` past the
    /// end (the kernels check the lengths first) and for the float
    /// variants.
    #[inline(always)]
    pub(crate) fn get(&self, j: usize) -> (i32, i32) {
        match self {
            Multipliers::PerTensor { multiplier, shift } => (*multiplier, *shift),
            Multipliers::PerChannel {
                multipliers,
                shifts,
            } => (
                multipliers.get(j).copied().unwrap_or(0),
                shifts.get(j).copied().unwrap_or(0),
            ),
            Multipliers::FloatPerTensor { .. }
            | Multipliers::FloatPerChannel { .. }
            | Multipliers::FloatBitsPerChannel { .. } => (0, 0),
        }
    }

    /// `acc` requantized with unit `j`'s multiplier (`rounding`'s
    /// `MultiplyByQuantizedMultiplier`) or scale ([`requantize_float`]);
    /// 0 past the end.
    #[inline(always)]
    pub(crate) fn requantize(&self, acc: i32, j: usize, rounding: Rounding) -> i32 {
        match self {
            Multipliers::FloatPerTensor { scale } => requantize_float(acc, scale),
            Multipliers::FloatPerChannel { scales } => {
                scales.get(j).map_or(0, |s| requantize_float(acc, s))
            }
            Multipliers::FloatBitsPerChannel { words } => {
                scale_of_words(words, j).map_or(0, |s| requantize_float(acc, &s))
            }
            _ => {
                let (m, s) = self.get(j);
                requantize(acc, m, s, rounding)
            }
        }
    }
}

/// The quantization of an int8 Dense layer, in TFLite's terms.
#[derive(Clone, Copy, Debug)]
pub struct DenseS8Params<'a> {
    /// `-input_zero_point` (so in -127..=128).
    pub input_offset: i32,
    /// `output_zero_point` (-128..=127).
    pub output_offset: i32,
    /// The fused activation's clamp, in output steps: -128..=127 for
    /// none, from the output zero point for RELU, and so on
    /// (`CalculateActivationRangeQuantized`).
    pub act_min: i32,
    /// See `act_min`; `act_min <= act_max <= 127`.
    pub act_max: i32,
    /// The requantization.
    pub multipliers: Multipliers<'a>,
    /// Which `MultiplyByQuantizedMultiplier` the Q31 multipliers use (the
    /// float variants of [`Multipliers`] do not). LiteRT's reference
    /// CONV_2D is [`Rounding::Double`]; its reference FULLY_CONNECTED
    /// requantizes in float ([`Multipliers::FloatPerTensor`] /
    /// [`Multipliers::FloatPerChannel`]), which [`Rounding::Single`]
    /// happens to match on the recorded fixtures and double rounding
    /// does not (tests/rust/int8_fixtures.rs).
    pub rounding: Rounding,
}

/// int8 Dense, one row: for each unit `j`,
/// `acc = sum_i filter[j * n_in + i] * (x[i] + input_offset) + bias[j]`
/// (int32, wrapping as the C++ does), then
/// `clamp(MultiplyByQuantizedMultiplier(acc, m[j], shift[j]) + output_offset,
/// act_min, act_max)`, with `p.rounding`'s `MultiplyByQuantizedMultiplier`,
/// or with the float variants `clamp(requantize_float(acc, scale[j]) +
/// output_offset, ...)` (the offset added wrapping, as the C++ does).
///
/// - `x`: `n_in >= 1` int8 inputs.
/// - `filter`: TFLite's layout, `units` rows of `n_in` (`filter[j * n_in + i]`),
///   zero point 0 (int8 weights are symmetric; a filter zero point is not
///   taken).
/// - `bias`: `units` int32 values (scale `input_scale * filter_scale[j]`,
///   zero point 0) or `None`.
/// - `out`: `units >= 1` outputs.
///
/// The sums by this target's fast path ([`S8_DOT`], src/math/dot_s8.rs),
/// the same values as [`dense_s8_reference`]'s loop bit for bit
/// (tests/rust/int8_fast.rs). Nothing is written unless every check passes.
pub fn dense_s8(
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> Result<(), Status> {
    run(S8_DOT, x, filter, bias, out, p)
}

/// [`dense_s8`] by a given dot-product path (every path runs on every
/// target: the DSP one emulated off Arm's DSP cores), for the tests.
pub fn dense_s8_with(
    path: S8Dot,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> Result<(), Status> {
    run(path, x, filter, bias, out, p)
}

/// [`dense_s8`] as LiteRT's reference loop computes it, one row and one
/// multiply-add at a time (`w * (x + input_offset)`): what the fast paths
/// are tested against.
pub fn dense_s8_reference(
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> Result<(), Status> {
    check_dense(x, filter, bias, out, p)?;
    let n_in = x.len();
    for ((o, row), j) in out.iter_mut().zip(filter.chunks_exact(n_in)).zip(0..) {
        let mut acc: i32 = 0;
        for (&w, &v) in row.iter().zip(x) {
            acc = acc.wrapping_add((w as i32) * (v as i32 + p.input_offset));
        }
        *o = output_s8(acc, bias, j, p);
    }
    Ok(())
}

/// The checks of [`dense_s8`]: sizes, then the quantization.
#[inline(always)]
fn check_dense(
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &[i8],
    p: &DenseS8Params,
) -> Result<(), Status> {
    let n_in = x.len();
    let units = out.len();
    if n_in == 0 {
        return Err(Status::XSize);
    }
    if units == 0 {
        return Err(Status::OutSize);
    }
    match n_in.checked_mul(units) {
        Some(n) if n == filter.len() => {}
        _ => return Err(Status::KernelSize),
    }
    if let Some(b) = bias {
        if b.len() != units {
            return Err(Status::BiasSize);
        }
    }
    p.check(units)
}

/// [`dense_s8`] after its checks, by `path`, with the requantization's
/// variant chosen once per call (not per output). The units are finished
/// in order, 0 to `units - 1`, so that the per-unit scales and the bias are
/// read by iterators (no index, no bounds check per output).
#[inline(always)]
fn run(
    path: S8Dot,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) -> Result<(), Status> {
    check_dense(x, filter, bias, out, p)?;
    let off = p.input_offset;
    match p.multipliers {
        Multipliers::FloatPerTensor { scale } => units(
            path,
            x,
            filter,
            out,
            off,
            &mut Finish::new(bias, p, PerTensorFloat(scale)),
        ),
        Multipliers::FloatBitsPerChannel { words } => units(
            path,
            x,
            filter,
            out,
            off,
            &mut Finish::new(bias, p, BitsPerChannel(words.chunks_exact(2))),
        ),
        m => units(
            path,
            x,
            filter,
            out,
            off,
            &mut Cold(Finish::new(
                bias,
                p,
                Other {
                    m,
                    j: 0,
                    rounding: p.rounding,
                },
            )),
        ),
    }
    Ok(())
}

/// One output unit's end, called for units 0, 1, 2, ... in order.
trait End {
    fn finish(&mut self, acc: i32) -> i8;
}

/// The end every requantization shares: `acc` plus the next bias
/// (wrapping), requantized by `R`, offset by the output's zero point
/// (wrapping) and clamped.
struct Finish<'a, R> {
    bias: core::slice::Iter<'a, i32>,
    output_offset: i32,
    act_min: i32,
    act_max: i32,
    requant: R,
}

impl<'a, R: Requant> Finish<'a, R> {
    #[inline(always)]
    fn new(bias: Option<&'a [i32]>, p: &DenseS8Params, requant: R) -> Self {
        Finish {
            bias: bias.unwrap_or(&[]).iter(),
            output_offset: p.output_offset,
            act_min: p.act_min,
            act_max: p.act_max,
            requant,
        }
    }
}

impl<R: Requant> End for Finish<'_, R> {
    #[inline(always)]
    fn finish(&mut self, acc: i32) -> i8 {
        let acc = acc.wrapping_add(self.bias.next().copied().unwrap_or(0));
        let v = self.requant.next(acc);
        offset_clamped(v, self.output_offset, self.act_min, self.act_max)
    }
}

/// An [`End`] not inlined (the variants no `.anne` file holds, kept
/// small).
struct Cold<E>(E);

impl<E: End> End for Cold<E> {
    #[inline(never)]
    fn finish(&mut self, acc: i32) -> i8 {
        self.0.finish(acc)
    }
}

/// The requantization of the next unit's biased sum (units in order).
trait Requant {
    fn next(&mut self, acc: i32) -> i32;
}

/// [`Multipliers::FloatPerTensor`].
struct PerTensorFloat(FloatScale);

impl Requant for PerTensorFloat {
    #[inline(always)]
    fn next(&mut self, acc: i32) -> i32 {
        requantize_float(acc, &self.0)
    }
}

/// [`Multipliers::FloatBitsPerChannel`]'s words, two per unit (every
/// scale checked finite by [`check_dense`]).
struct BitsPerChannel<'a>(core::slice::ChunksExact<'a, u32>);

impl Requant for BitsPerChannel<'_> {
    #[inline(always)]
    fn next(&mut self, acc: i32) -> i32 {
        let s = match self.0.next() {
            Some(&[lo, hi]) => {
                FloatScale::from_bits((hi as u64) << 32 | lo as u64).unwrap_or(FloatScale::ZERO)
            }
            _ => FloatScale::ZERO,
        };
        requantize_float(acc, &s)
    }
}

/// The other variants, by unit index.
struct Other<'a> {
    m: Multipliers<'a>,
    j: usize,
    rounding: Rounding,
}

impl Requant for Other<'_> {
    #[inline(always)]
    fn next(&mut self, acc: i32) -> i32 {
        let v = self.m.requantize(acc, self.j, self.rounding);
        self.j += 1;
        v
    }
}

/// `R` rows of `n` values from the start of `f` (`f` holds them).
#[inline(always)]
fn rows_of<const R: usize>(f: &[i8], n: usize) -> [&[i8]; R] {
    let mut rest = f;
    [(); R].map(|_| match rest.split_at_checked(n) {
        Some((row, more)) => {
            rest = more;
            row
        }
        None => &[],
    })
}

/// The outputs of [`run`]: the units in groups of `path.rows()`, the last
/// `units % path.rows()` one at a time; each unit's sum (input offset
/// `off`) finished by `f`, in unit order (one call site per group, so that
/// the requantization is inlined once). The filter and the outputs are
/// walked by splitting (no division: `chunks_exact`'s is a library call on
/// Armv6-M).
#[inline(always)]
fn units(path: S8Dot, x: &[i8], filter: &[i8], out: &mut [i8], off: i32, f: &mut impl End) {
    let n_in = x.len();
    let r = path.rows();
    // (4 * n_in fits whenever the filter holds four rows)
    let step = r.wrapping_mul(n_in);
    let (mut out, mut filter) = (out, filter);
    while let (Some((w, more)), true) = (filter.split_at_checked(step), out.len() >= r) {
        let Some((o, rest)) = core::mem::take(&mut out).split_at_mut_checked(r) else {
            break;
        };
        let accs = match path {
            S8Dot::Rows1 => [dot1(x, w, off), 0, 0, 0],
            S8Dot::Rows2 => {
                let [w0, w1] = rows_of::<2>(w, n_in);
                let [a0, a1] = dot2(x, w0, w1, off);
                [a0, a1, 0, 0]
            }
            S8Dot::Dsp2 => {
                let [w0, w1] = rows_of::<2>(w, n_in);
                let [a0, a1] = dot2_dsp(x, w0, w1, off);
                [a0, a1, 0, 0]
            }
            S8Dot::Rows4 => {
                caps::dot4_s8_asm(x, w, off).unwrap_or_else(|| dot4(x, rows_of::<4>(w, n_in), off))
            }
        };
        for (o, a) in o.iter_mut().zip(accs) {
            *o = f.finish(a);
        }
        (out, filter) = (rest, more);
    }
    for o in out.iter_mut() {
        let Some((w, more)) = filter.split_at_checked(n_in) else {
            break;
        };
        *o = f.finish(dot1(x, w, off));
        filter = more;
    }
}

/// The end of every output of [`dense_s8`] and
/// [`crate::layers::conv1d_s8::conv1d_s8`]: `acc + bias[j]` (wrapping),
/// requantized with unit `j`'s multiplier, offset and clamped.
#[inline(always)]
pub(crate) fn output_s8(acc: i32, bias: Option<&[i32]>, j: usize, p: &DenseS8Params) -> i8 {
    let acc = acc.wrapping_add(bias.and_then(|b| b.get(j)).copied().unwrap_or(0));
    let v = p.multipliers.requantize(acc, j, p.rounding);
    offset_clamped(v, p.output_offset, p.act_min, p.act_max)
}

/// A requantized value plus the output's offset (wrapping, as the C++
/// does), clamped to `act_min..=act_max`.
#[inline(always)]
fn offset_clamped(v: i32, output_offset: i32, act_min: i32, act_max: i32) -> i8 {
    v.wrapping_add(output_offset).max(act_min).min(act_max) as i8 // (not clamp: no assertion)
}

/// Whether `shift` is one `rounding`'s `MultiplyByQuantizedMultiplier`
/// takes (-31..=30 single, -31..=31 double).
pub(crate) fn shift_ok(shift: i32, rounding: Rounding) -> bool {
    let max_shift = if rounding == Rounding::Single {
        30
    } else {
        MAX_SHIFT
    };
    (MIN_SHIFT..=max_shift).contains(&shift)
}

impl DenseS8Params<'_> {
    /// The checks every int8 kernel with a weight multiplier shares
    /// (Dense, Conv1D, Conv2D, DepthwiseConv2D): `Status::Param` unless
    /// the offsets, clamp and shifts are in TFLite's ranges and
    /// per-channel multipliers (or scales) hold one value per unit.
    // (not inlined: out of the kernels' loops, which keep their registers)
    #[inline(never)]
    pub(crate) fn check(&self, units: usize) -> Result<(), Status> {
        let ok_shift = |s: i32| shift_ok(s, self.rounding);
        let ok = (-127..=128).contains(&self.input_offset)
            && (-128..=127).contains(&self.output_offset)
            && -128 <= self.act_min
            && self.act_min <= self.act_max
            && self.act_max <= 127
            && match self.multipliers {
                Multipliers::PerTensor { shift, .. } => ok_shift(shift),
                Multipliers::PerChannel {
                    multipliers,
                    shifts,
                } => {
                    multipliers.len() == units
                        && shifts.len() == units
                        && shifts.iter().all(|&s| ok_shift(s))
                }
                // a FloatScale is finite by construction
                Multipliers::FloatPerTensor { .. } => true,
                Multipliers::FloatPerChannel { scales } => scales.len() == units,
                Multipliers::FloatBitsPerChannel { words } => {
                    units.checked_mul(2) == Some(words.len())
                        && words.chunks_exact(2).all(|w| {
                            matches!(*w, [lo, hi] if FloatScale::from_bits((hi as u64) << 32 | lo as u64).is_ok())
                        })
                }
            };
        if ok {
            Ok(())
        } else {
            Err(Status::Param)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(m: Multipliers) -> DenseS8Params {
        DenseS8Params {
            input_offset: 0,
            output_offset: 0,
            act_min: -128,
            act_max: 127,
            multipliers: m,
            rounding: Rounding::Double,
        }
    }

    #[test]
    fn hand_checked() {
        // multiplier 0.5 = (2^30, 0): acc / 2 rounded away from zero.
        let p = DenseS8Params {
            input_offset: 1,
            output_offset: -3,
            act_min: -128,
            act_max: 127,
            multipliers: Multipliers::PerTensor {
                multiplier: 1 << 30,
                shift: 0,
            },
            rounding: Rounding::Double,
        };
        let x = [1i8, -2, 3];
        let filter = [1i8, 1, 1, 2, 0, -1];
        let mut out = [0i8; 2];
        // unit 0: 2 - 1 + 4 = 5, + bias 2 = 7 -> 3.5 -> 4, - 3 = 1
        // unit 1: 4 + 0 - 4 = 0, + bias -5 = -5 -> -2.5 -> -2 (the high
        // multiply's ties go up), - 3 = -5
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &p).unwrap();
        assert_eq!(out, [1, -5]);
        // single rounding: -2.5 -> -2 as well, 3.5 -> 4
        let single = DenseS8Params {
            rounding: Rounding::Single,
            ..p
        };
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &single).unwrap();
        assert_eq!(out, [1, -5]);
        // per channel, the second unit doubled (shift 1): -5 - 3 = -8,
        // clamped at -5
        let pc = DenseS8Params {
            act_min: -5,
            multipliers: Multipliers::PerChannel {
                multipliers: &[1 << 30, 1 << 30],
                shifts: &[0, 1],
            },
            ..p
        };
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &pc).unwrap();
        assert_eq!(out, [1, -5]);
    }

    #[test]
    fn float_requantization() {
        let half = FloatScale::from_f64(0.5).unwrap();
        let p = DenseS8Params {
            input_offset: 1,
            output_offset: -3,
            act_min: -128,
            act_max: 127,
            multipliers: Multipliers::FloatPerTensor { scale: half },
            rounding: Rounding::Double, // not used
        };
        let x = [1i8, -2, 3];
        let filter = [1i8, 1, 1, 2, 0, -1];
        let mut out = [0i8; 2];
        // unit 0: 7 * 0.5 = 3.5 -> 4, - 3 = 1; unit 1: -5 * 0.5 = -2.5 ->
        // -3 (round: half away from zero, where the Q31 kernels give -2),
        // - 3 = -6
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &p).unwrap();
        assert_eq!(out, [1, -6]);
        // per channel: unit 1 times 3.0: -15 - 3 = -18, clamped at -10
        let scales = [half, FloatScale::from_f64(3.0).unwrap()];
        let pc = DenseS8Params {
            act_min: -10,
            multipliers: Multipliers::FloatPerChannel { scales: &scales },
            ..p
        };
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &pc).unwrap();
        assert_eq!(out, [1, -10]);
        // one scale per unit, or nothing is written
        let short = DenseS8Params {
            multipliers: Multipliers::FloatPerChannel {
                scales: &scales[..1],
            },
            ..p
        };
        let mut out = [7i8; 2];
        assert_eq!(
            dense_s8(&x, &filter, None, &mut out, &short),
            Err(Status::Param)
        );
        assert_eq!(out, [7, 7]);
        // out of int32 (LiteRT on x86-64: INT32_MIN), then the offset
        // added wrapping: INT32_MIN - 3 wraps to near INT32_MAX -> 127
        let big = DenseS8Params {
            multipliers: Multipliers::FloatPerTensor {
                scale: FloatScale::from_f64(1e9).unwrap(),
            },
            ..p
        };
        dense_s8(&x, &filter, Some(&[2, -5]), &mut out, &big).unwrap();
        assert_eq!(out, [127, 127]);
    }

    #[test]
    fn float_bits_per_channel() {
        // the f64 bits as a file stores them, two words per unit (low
        // first): the same outputs as the prepared FloatScales
        let x = [1i8, -2, 3];
        let filter = [1i8, 1, 1, 2, 0, -1];
        let words_of = |v: &[f64]| -> Vec<u32> {
            v.iter()
                .flat_map(|s| [s.to_bits() as u32, (s.to_bits() >> 32) as u32])
                .collect()
        };
        for pair in [
            [0.5, 3.0],
            [0.0042587, 1.0 / 3.0],
            [1e9, -0.25],
            [0.0, 5e-324],
        ] {
            let scales = [
                FloatScale::from_f64(pair[0]).unwrap(),
                FloatScale::from_f64(pair[1]).unwrap(),
            ];
            let words = words_of(&pair);
            let p = |m| DenseS8Params {
                input_offset: 1,
                output_offset: -3,
                act_min: -128,
                act_max: 127,
                multipliers: m,
                rounding: Rounding::Double, // not used
            };
            let (mut a, mut b) = ([0i8; 2], [1i8; 2]);
            let bias = Some(&[2, -5][..]);
            dense_s8(
                &x,
                &filter,
                bias,
                &mut a,
                &p(Multipliers::FloatPerChannel { scales: &scales }),
            )
            .unwrap();
            dense_s8(
                &x,
                &filter,
                bias,
                &mut b,
                &p(Multipliers::FloatBitsPerChannel { words: &words }),
            )
            .unwrap();
            assert_eq!(a, b, "{pair:?}");
        }
        // a NaN or infinite scale, or words not two per unit: nothing written
        for bad in [
            words_of(&[0.5, f64::NAN]),
            words_of(&[f64::INFINITY, 0.5]),
            words_of(&[f64::NEG_INFINITY, 0.5]),
            words_of(&[0.5]),
            words_of(&[0.5, 0.5])[..3].to_vec(),
        ] {
            let p = DenseS8Params {
                input_offset: 0,
                output_offset: 0,
                act_min: -128,
                act_max: 127,
                multipliers: Multipliers::FloatBitsPerChannel { words: &bad },
                rounding: Rounding::Single,
            };
            let mut out = [7i8; 2];
            assert_eq!(
                dense_s8(&x, &filter, None, &mut out, &p),
                Err(Status::Param)
            );
            assert_eq!(out, [7, 7]);
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let pt = params(Multipliers::PerTensor {
            multiplier: 1 << 30,
            shift: 0,
        });
        let mut out = [7i8; 2];
        assert_eq!(dense_s8(&[], &[], None, &mut out, &pt), Err(Status::XSize));
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut [], &pt),
            Err(Status::OutSize)
        );
        assert_eq!(
            dense_s8(&[1], &[1, 2, 3], None, &mut out, &pt),
            Err(Status::KernelSize)
        );
        assert_eq!(
            dense_s8(&[1], &[1, 2], Some(&[1]), &mut out, &pt),
            Err(Status::BiasSize)
        );
        let short = params(Multipliers::PerChannel {
            multipliers: &[1],
            shifts: &[0],
        });
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut out, &short),
            Err(Status::Param)
        );
        let shift = params(Multipliers::PerTensor {
            multiplier: 1,
            shift: 32,
        });
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut out, &shift),
            Err(Status::Param)
        );
        let clamp = DenseS8Params {
            act_min: 5,
            act_max: 4,
            ..pt
        };
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut out, &clamp),
            Err(Status::Param)
        );
        let single31 = DenseS8Params {
            rounding: Rounding::Single,
            ..params(Multipliers::PerTensor {
                multiplier: 1,
                shift: 31,
            })
        };
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut out, &single31),
            Err(Status::Param)
        );
        let offset = DenseS8Params {
            input_offset: 129,
            ..pt
        };
        assert_eq!(
            dense_s8(&[1], &[1, 2], None, &mut out, &offset),
            Err(Status::Param)
        );
        assert_eq!(out, [7, 7]);
    }
}
