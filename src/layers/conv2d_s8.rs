//! Conv2D, int8: TFLite's CONV_2D as LiteRT's reference
//! `reference_integer_ops::ConvPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/conv.h`)
//! computes it for one input (batch 1, groups 1).
//!
//! The shape is the float kernel's, [`Conv2d`] (src/layers/conv2d.rs), with
//! TFLite's padding arithmetic (src/layers/window.rs: `same` pads `total /
//! 2` before and the odd position after, as TFLite's
//! `ComputePaddingHeightWidth` does). Taps outside the input are left out,
//! which equals padding with the input's zero point (such a tap adds
//! `filter * (zero_point - zero_point) = 0`).
//!
//! Multipliers as LiteRT's `PopulateConvolutionQuantizationParams`
//! computes them: `QuantizeMultiplier((double)input_scale *
//! (double)filter_scale[o] / (double)output_scale)` per output channel.
//! LiteRT's reference CONV_2D requantizes with the double-rounding
//! `MultiplyByQuantizedMultiplier`, [`crate::math::requant::Rounding::Double`]
//! (tests/rust/conv2d_fixtures.rs, tests/rust/int8_fixtures.rs).
//!
//! src/layers/conv1d_s8.rs (CONV_2D with height 1) runs on the same
//! loop, [`conv_s8_core`].

use super::conv2d::Conv2d;
use super::dense_s8::{output_s8, DenseS8Params, Multipliers};
use super::im2col_s8::conv_pairs_s8;
use super::pointwise_s8::{folded, pointwise_s8, ChanQ, Rows};
use super::window::{Plane, Window2d};
use crate::math::caps;
use crate::math::dot_s8::{dot1, dot4};
use crate::math::exp::mul_wide_split;
use crate::math::requant::{Rounding, MAX_SHIFT, MIN_SHIFT};
use crate::Status;

/// The quantization of an int8 Conv2D: a Dense layer's fields
/// (`input_offset = -input_zero_point`, `output_offset`, the fused
/// activation's clamp, one multiplier per tensor or per filter, the
/// [`crate::math::requant::Rounding`]).
pub type Conv2dS8Params<'a> = DenseS8Params<'a>;

/// int8 Conv2D over `height x width x in_channels` inputs (row-major,
/// `x[(y * width + x) * in_channels + c]`), writing `out_h x out_w x
/// filters`: for each output position `(oy, ox)` and filter `o`,
/// `acc = sum over taps (ky, kx) in range and channels c of
/// filter[((o * kernel_h + ky) * kernel_w + kx) * in_channels + c] *
/// (x[iy, ix, c] + input_offset) + bias[o]` with `iy = oy * sh + ky * dh -
/// top`, `ix = ox * sw + kx * dw - left` (int32, wrapping as the C++
/// does), then `clamp(MultiplyByQuantizedMultiplier(acc, m[o], shift[o]) +
/// output_offset, act_min, act_max)`.
///
/// - `filter`: TFLite's OHWI layout, `filters x kernel_h x kernel_w x
///   in_channels` (not Keras's HWIO); zero point 0 (symmetric weights).
/// - `bias`: `filters` int32 values (scale `input_scale *
///   filter_scale[o]`, zero point 0) or `None`.
///
/// Statuses: [`Conv2d::shape`]'s (`LayerParam`, `XSize`, `KernelSize`),
/// [`check_conv_s8`]'s (`OutSize`, `BiasSize`, `Param`: offsets, clamp or
/// shifts out of TFLite's ranges, per-channel multipliers not one per
/// filter). Nothing is
/// written unless every check passes.
pub fn conv2d_s8(
    spec: &Conv2d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Conv2dS8Params,
) -> Result<(), Status> {
    let (plane, filters) = check_conv_s8(spec.shape(x.len(), filter.len())?, bias, out.len(), p)?;
    conv_s8_core(
        &spec.window,
        &plane,
        spec.in_channels,
        filters,
        x,
        filter,
        bias,
        out,
        p,
    );
    Ok(())
}

/// The checks an int8 convolution's outputs and quantization share
/// (Conv1D, Conv2D, DepthwiseConv2D), after its shape `(plane,
/// channels)`: [`Plane::check_out`]'s (`OutSize`, `BiasSize`) for
/// `channels` output channels, then [`DenseS8Params::check`]'s `Param`
/// (offsets, clamp or shifts out of TFLite's ranges, per-channel
/// multipliers not one per channel); returns the shape.
pub(crate) fn check_conv_s8(
    (plane, channels): (Plane, usize),
    bias: Option<&[i32]>,
    out_len: usize,
    p: &DenseS8Params,
) -> Result<(Plane, usize), Status> {
    plane.check_out(channels, out_len, bias.map(<[i32]>::len))?;
    p.check(channels)?;
    Ok((plane, channels))
}

/// [`conv2d_s8`] as LiteRT's reference loop computes it, one output, one
/// tap and one channel at a time (`w * (x + input_offset)`): what the
/// fast loop, [`conv_s8_core`], is tested against (the same statuses).
pub fn conv2d_s8_reference(
    spec: &Conv2d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Conv2dS8Params,
) -> Result<(), Status> {
    let (plane, filters) = check_conv_s8(spec.shape(x.len(), filter.len())?, bias, out.len(), p)?;
    conv_s8_reference_core(
        &spec.window,
        &plane,
        spec.in_channels,
        filters,
        x,
        filter,
        bias,
        out,
        p,
    );
    Ok(())
}

/// The reference loop of [`conv2d_s8_reference`] (and of
/// [`crate::layers::conv1d_s8::conv1d_s8_reference`]) on checked
/// arguments, [`conv_s8_core`]'s contract.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_s8_reference_core(
    window: &Window2d,
    plane: &Plane,
    cin: usize,
    filters: usize,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) {
    // (Nonzero for checked arguments; `max(1)` shows the compiler, so that
    // no chunking by zero has a panic path.)
    let cin = cin.max(1);
    let filters = filters.max(1);
    let (kh, kw) = window.kernel_size;
    let row_len = kh.saturating_mul(kw).saturating_mul(cin).max(1);
    for (pos, row) in out.chunks_exact_mut(filters).enumerate() {
        for ((o, taps), j) in row.iter_mut().zip(filter.chunks_exact(row_len)).zip(0..) {
            let mut acc: i32 = 0;
            for (t, i) in window.taps_at(plane, pos) {
                let xs = x.get(i * cin..(i + 1) * cin).unwrap_or(&[]);
                let ws = taps.get(t * cin..(t + 1) * cin).unwrap_or(&[]);
                for (&wv, &xv) in ws.iter().zip(xs) {
                    acc = acc.wrapping_add((wv as i32) * (xv as i32 + p.input_offset));
                }
            }
            *o = output_one(acc, bias, j, p);
        }
    }
}

/// How many filters' sums one pass over an output position's runs keeps
/// (on the stack: 256 bytes); more filters take more passes.
const FILTER_BLOCK: usize = 64;

/// [`conv2d_s8`]'s loop on checked arguments: `window` and `plane` give
/// the taps of each output position (only `plane.pad` is read of the
/// padding, so that a causal Conv1D's may be given), `x` holds `height *
/// width * cin` values, `filter` `filters` rows of `kernel_h * kernel_w *
/// cin`, `out` `out_h * out_w * filters`.
///
/// Per output position, the kernel rows in range are runs
/// ([`Window2d::runs_at`]): `n` taps contiguous in the input (`n * cin`
/// values) and in each filter's row (OHWI). Each run is a dense layer's
/// dot product over the filters, four filters at a time with the int8 dot
/// kernel of src/math/dot_s8.rs (the target's assembly, rows a filter
/// apart), its sums added to the filters' (int32, wrapping: the same
/// value as the reference loop's in any order); then the bias and the
/// requantization, as [`conv_s8_reference_core`] does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_s8_core(
    window: &Window2d,
    plane: &Plane,
    cin: usize,
    filters: usize,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &DenseS8Params,
) {
    // (Nonzero for checked arguments; `max(1)` for the compiler.)
    let cin = cin.max(1);
    let filters = filters.max(1);
    let (kh, kw) = window.kernel_size;
    let row_len = kh.saturating_mul(kw).saturating_mul(cin).max(1);
    let block_len = row_len.saturating_mul(FILTER_BLOCK);
    let off = p.input_offset;
    let mut acc = [0i32; FILTER_BLOCK];
    // A 1x1 kernel (no padding then) reads one input position per output
    // position, `oy * sh * width + ox * sw`: counted along (no runs_at).
    let one_by_one = (kh, kw) == (1, 1) && plane.pad == (0, 0);
    let (out_w, (sh, sw)) = (plane.out.1, window.strides);
    // (a 1x1 kernel as a matrix product where the core and the
    // quantization allow it: src/layers/pointwise_s8.rs)
    if one_by_one {
        let rows = Rows::of(plane.out, window.width, window.strides);
        if rows.is_some_and(|g| pointwise_s8(g, cin, filters, x, filter, bias, out, p)) {
            return;
        }
    }
    // (else pairs of positions copied as two rows: src/layers/im2col_s8.rs)
    if conv_pairs_s8(window, plane, cin, filters, x, filter, bias, out, p) {
        return;
    }
    let (mut ox, mut at_row) = (0usize, 0usize);
    for (pos, row) in out.chunks_exact_mut(filters).enumerate() {
        let at = at_row.wrapping_add(ox.wrapping_mul(sw));
        ox += 1;
        if ox == out_w {
            (ox, at_row) = (0, at_row.wrapping_add(sh.wrapping_mul(window.width)));
        }
        let (mut row, mut rows, mut j0) = (row, filter, 0usize);
        while !row.is_empty() {
            let k = row.len().min(FILTER_BLOCK);
            let Some((orow, more)) = core::mem::take(&mut row).split_at_mut_checked(k) else {
                break;
            };
            let (block, rest) = rows
                .split_at_checked(rows.len().min(block_len))
                .unwrap_or((rows, &[]));
            let nf = orow.len();
            let accs = acc.get_mut(..nf).unwrap_or(&mut []);
            accs.fill(0);
            if one_by_one {
                let xs = x.get(at.wrapping_mul(cin)..).and_then(|v| v.get(..cin));
                run_dots(xs.unwrap_or(&[]), block, row_len, off, accs);
            } else {
                for (t, i, n) in window.runs_at(plane, pos) {
                    let xs = x.get(i * cin..(i + n) * cin).unwrap_or(&[]);
                    let ws = block.get(t * cin..).unwrap_or(&[]);
                    run_dots(xs, ws, row_len, off, accs);
                }
            }
            finish_block(accs, j0, orow, bias, p);
            (row, rows, j0) = (more, rest, j0 + nf);
        }
    }
}

/// The outputs of filters `j0..j0 + out.len()` from their sums `accs`:
/// [`output_s8`]'s bias, requantization, offset and clamp, with the
/// requantization's variant chosen once per block (not per output) for
/// the per-channel Q31 multipliers LiteRT's CONV_2D takes (double
/// rounding), the other variants by [`output_one`].
#[inline(never)]
pub(crate) fn finish_block(
    accs: &[i32],
    j0: usize,
    out: &mut [i8],
    bias: Option<&[i32]>,
    p: &DenseS8Params,
) {
    let (lo, hi, zo) = (p.act_min, p.act_max, p.output_offset);
    match (p.multipliers, p.rounding) {
        (
            Multipliers::PerChannel {
                multipliers,
                shifts,
            },
            Rounding::Double,
        ) => {
            let ms = multipliers.get(j0..).unwrap_or(&[]);
            let ss = shifts.get(j0..).unwrap_or(&[]);
            // (the bias's two cases as two loops: no test per output)
            match bias.and_then(|b| b.get(j0..)) {
                Some(b) => per_channel(out, accs, ms, ss, b.iter().copied(), (lo, hi, zo)),
                None => per_channel(out, accs, ms, ss, core::iter::repeat(0), (lo, hi, zo)),
            }
        }
        _ => {
            for ((o, &a), j) in out.iter_mut().zip(accs).zip(j0..) {
                *o = output_one(a, bias, j, p);
            }
        }
    }
}

/// [`finish_block`]'s per-channel Q31 loop: `out[k] = clamp(requantize(
/// accs[k] + bias[k], ms[k], ss[k]) + zo, lo, hi)` with the shifts
/// checked (in `MIN_SHIFT..=MAX_SHIFT`: not clamped again here).
#[inline(always)]
fn per_channel(
    out: &mut [i8],
    accs: &[i32],
    ms: &[i32],
    ss: &[i32],
    bias: impl Iterator<Item = i32>,
    (lo, hi, zo): (i32, i32, i32),
) {
    let full = caps::SAT8 && (lo, hi) == (-128, 127);
    for ((((o, &a), &m), &s), b) in out.iter_mut().zip(accs).zip(ms).zip(ss).zip(bias) {
        let x = a.wrapping_add(b);
        // (with a 64-bit multiply and a right shift of 1 to 23, both
        // roundings and the offset in one 64-bit sum: pointwise_s8.rs)
        let r = s.wrapping_neg() as u32;
        let v = if caps::MUL64 && r.wrapping_sub(1) < 23 {
            folded(x, m, ChanQ::h_zo(r, zo), r - 1)
        } else {
            requantize_in_range(x, m, s, caps::MUL64).wrapping_add(zo)
        };
        // (not clamp: no assertion; the whole range by SSAT on Thumb-2)
        *o = if full { caps::sat8(v) } else { v.max(lo).min(hi) } as i8;
    }
}

/// [`multiply_by_quantized_multiplier`] (TFLite's double rounding), the
/// same value for every argument, in fewer instructions: gemmlowp's
/// `(a * b + nudge) / 2^31` (truncating; nudge `2^30` for a product at
/// least 0, `1 - 2^30` below) is `(a * b + 2^30) >> 31` (arithmetic) for
/// every product (below 0, `a * b + 1 - 2^30 < 0` and truncating adds
/// `2^31 - 1` before the shift); `INT32_MIN` squared saturates to
/// `INT32_MAX` as gemmlowp's does; the rounding shift in 32 bits. Where the
/// core has no 64-bit multiply (Armv6-M) the product comes from
/// [`mul_wide_split`]'s four 16x16 products of the magnitudes rather than
/// a call to `__aeabi_lmul`.
#[inline(always)]
pub fn requantize_double(x: i32, multiplier: i32, shift: i32) -> i32 {
    requantize_in_range(x, multiplier, shift.clamp(MIN_SHIFT, MAX_SHIFT), caps::MUL64)
}

/// [`requantize_double`] by the 16x16 products (every target runs it in
/// the tests).
pub fn requantize_double_split(x: i32, multiplier: i32, shift: i32) -> i32 {
    requantize_in_range(x, multiplier, shift.clamp(MIN_SHIFT, MAX_SHIFT), false)
}

/// [`requantize_double`] with the 64-bit product (`wide`) or the 16x16
/// ones, the shift already in `MIN_SHIFT..=MAX_SHIFT` (the kernels' are
/// checked). With `P = |a| * |b|` (exact in u64), `(a * b + 2^30) >> 31`
/// is `(P + 2^30) >> 31` for a product at least 0 and `-((P + 2^30 - 1)
/// >> 31)` below. Its value is at least `-(2^31 - 1)` (`a * b >= -2^31 *
/// (2^31 - 1)`) and at most `2^31 - 1` but for `INT32_MIN` squared, which
/// gives `2^31`, read as `INT32_MIN`: so `INT32_MIN` here means the
/// saturating case, and becomes `INT32_MAX` (one subtraction, no test of
/// the operands).
#[inline(always)]
pub(crate) fn requantize_in_range(x: i32, multiplier: i32, shift: i32, wide: bool) -> i32 {
    let left = if shift > 0 { shift as u32 } else { 0 };
    let right = if shift > 0 { 0 } else { shift.unsigned_abs() };
    let a = x.wrapping_shl(left); // (x * 2^left, wrapping: left <= 31)
    let q = if wide {
        ((a as i64 * multiplier as i64 + (1 << 30)) >> 31) as i32
    } else {
        let neg = (a < 0) != (multiplier < 0);
        let p = mul_wide_split(a.unsigned_abs(), multiplier.unsigned_abs());
        let q = ((p + (1 << 30) - u64::from(neg)) >> 31) as u32 as i32;
        if neg {
            q.wrapping_neg()
        } else {
            q
        }
    };
    let high = q.wrapping_sub(i32::from(q == i32::MIN));
    // gemmlowp's RoundingDivideByPOT in 32 bits (right <= 31)
    let mask = 1u32.wrapping_shl(right).wrapping_sub(1) as i32;
    let threshold = (mask >> 1) + i32::from(high < 0);
    high.wrapping_shr(right) + i32::from(high & mask > threshold)
}

/// [`output_s8`] out of line: every variant of the requantization in one
/// place (the kernels' loops call it for the variants they do not take
/// themselves).
#[inline(never)]
pub(crate) fn output_one(acc: i32, bias: Option<&[i32]>, j: usize, p: &DenseS8Params) -> i8 {
    output_s8(acc, bias, j, p)
}

/// `acc[f] += sum_k ws[f * stride + k] * (xs[k] + off)` (wrapping) for
/// each filter `f` of `acc`: four at a time by the target's dot kernel
/// ([`caps::dot4_s8_asm_strided`], else [`dot4`]), the last `acc.len() %
/// 4` by [`dot1`]. `ws` starts at the run in filter 0's row; rows it does
/// not hold count as empty (never, for checked arguments).
// (not inlined: one copy of the assembly for the loop's two call sites)
#[inline(never)]
fn run_dots(xs: &[i8], ws: &[i8], stride: usize, off: i32, acc: &mut [i32]) {
    let n = xs.len();
    let step4 = stride.wrapping_mul(4);
    let (mut acc, mut w) = (acc, ws);
    // (every group of four filters in one call where the assembly has
    // that loop; the last `% 4` filters then below)
    let groups = acc.len() / 4 * 4;
    if acc.get_mut(..groups).is_some_and(|a4s| caps::dot4_s8_asm_groups(xs, ws, stride, off, a4s)) {
        acc = core::mem::take(&mut acc).get_mut(groups..).unwrap_or(&mut []);
        w = ws.get(groups.wrapping_mul(stride)..).unwrap_or(&[]);
    }
    while acc.len() >= 4 {
        let Some((a4, rest)) = core::mem::take(&mut acc).split_at_mut_checked(4) else {
            break;
        };
        // (off Arm the portable four-row product; on Arm, where the
        // assembly takes every checked call, one row at a time: less code)
        let d = caps::dot4_s8_asm_strided(xs, w, stride, off).unwrap_or_else(|| {
            if cfg!(target_arch = "arm") {
                [0, 1, 2, 3].map(|r| dot1(xs, row_at(w, r, stride, n), off))
            } else {
                dot4(xs, [0, 1, 2, 3].map(|r| row_at(w, r, stride, n)), off)
            }
        });
        for (a, d) in a4.iter_mut().zip(d) {
            *a = a.wrapping_add(d);
        }
        (acc, w) = (rest, w.get(step4..).unwrap_or(&[]));
    }
    for a in acc.iter_mut() {
        *a = a.wrapping_add(dot1(xs, row_at(w, 0, stride, n), off));
        w = w.get(stride..).unwrap_or(&[]);
    }
}

/// `w[r * stride..r * stride + n]`, empty where `w` does not hold it.
#[inline(always)]
fn row_at(w: &[i8], r: usize, stride: usize, n: usize) -> &[i8] {
    w.get(r.wrapping_mul(stride)..)
        .and_then(|w| w.get(..n))
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv2d::tests::spec;
    use crate::layers::dense_s8::{dense_s8, Multipliers};
    use crate::layers::window::Padding;
    use crate::math::requant::Rounding;

    fn unit<'a>() -> Conv2dS8Params<'a> {
        // multiplier 1.0: (2^30, 1)
        Conv2dS8Params {
            input_offset: 0,
            output_offset: 0,
            act_min: -128,
            act_max: 127,
            multipliers: Multipliers::PerTensor {
                multiplier: 1 << 30,
                shift: 1,
            },
            rounding: Rounding::Double,
        }
    }

    #[test]
    fn hand_checked() {
        // 3x3, one channel, 2x2 kernel [1, 2; 3, 4], valid, bias 1,
        // output offset -2: windows [1 2; 4 5] -> 1+4+12+20 = 37, ...
        let x = [1i8, 2, 3, 4, 5, 6, 7, 8, 9];
        let p = Conv2dS8Params {
            output_offset: -2,
            ..unit()
        };
        let mut out = [0i8; 4];
        let s = spec(3, 3, 1, (2, 2), Padding::Valid);
        conv2d_s8(&s, &x, &[1, 2, 3, 4], Some(&[1]), &mut out, &p).unwrap();
        assert_eq!(out, [36, 46, 66, 76]);
        // same, 3x3 with the centre tap only, at input zero point -5:
        // every position gives x + 5
        let mut k = [0i8; 9];
        k[4] = 1;
        let p = Conv2dS8Params {
            input_offset: 5,
            ..unit()
        };
        let mut out = [0i8; 9];
        let s = spec(3, 3, 1, (3, 3), Padding::Same);
        conv2d_s8(&s, &x, &k, None, &mut out, &p).unwrap();
        assert_eq!(out, [6, 7, 8, 9, 10, 11, 12, 13, 14]);
        // the corner tap reads padding (left out) on the first row and
        // column; the clamp holds the rest to 10
        let mut k = [0i8; 9];
        k[0] = 1;
        let p = Conv2dS8Params {
            input_offset: 5,
            act_max: 10,
            ..unit()
        };
        conv2d_s8(&s, &x, &k, None, &mut out, &p).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 6, 7, 0, 9, 10]);
    }

    /// One output position whose window covers the input exactly is a
    /// dense layer over the flattened input (OHWI rows are its rows).
    #[test]
    fn one_window_is_dense() {
        let x: Vec<i8> = (0..2 * 3 * 2).map(|i| (i * 37 % 255 - 127) as i8).collect();
        let f: Vec<i8> = (0..3 * 12).map(|i| (i * 53 % 255 - 127) as i8).collect();
        let bias = [100, -2000, 31];
        let (m, s) = ([1_300_000_000, 1_700_000_000, 1 << 30], [-9, -10, -8]);
        let p = Conv2dS8Params {
            input_offset: 3,
            output_offset: -7,
            act_min: -100,
            act_max: 90,
            multipliers: Multipliers::PerChannel {
                multipliers: &m,
                shifts: &s,
            },
            rounding: Rounding::Double,
        };
        let (mut a, mut b) = ([0i8; 3], [0i8; 3]);
        conv2d_s8(
            &spec(2, 3, 2, (2, 3), Padding::Valid),
            &x,
            &f,
            Some(&bias),
            &mut a,
            &p,
        )
        .unwrap();
        dense_s8(&x, &f, Some(&bias), &mut b, &p).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let p = unit();
        let s = spec(3, 2, 2, (2, 2), Padding::Valid); // 2x1 out
        let x = [1i8; 12];
        let f = [1i8; 24]; // 3 filters
        let mut out = [9i8; 6];
        let bad = |r: Result<(), Status>| r.unwrap_err();
        assert_eq!(
            bad(conv2d_s8(&s, &x[..11], &f, None, &mut out, &p)),
            Status::XSize
        );
        assert_eq!(
            bad(conv2d_s8(&s, &x, &f[..23], None, &mut out, &p)),
            Status::KernelSize
        );
        assert_eq!(
            bad(conv2d_s8(&s, &x, &f, None, &mut out[..5], &p)),
            Status::OutSize
        );
        assert_eq!(
            bad(conv2d_s8(&s, &x, &f, Some(&[1]), &mut out, &p)),
            Status::BiasSize
        );
        let mut params = [s; 4];
        params[0].in_channels = 0;
        params[1].window.strides.0 = 0;
        params[2].window.dilation.1 = 0;
        params[3].window.padding = Padding::Causal;
        for b in params {
            assert_eq!(
                bad(conv2d_s8(&b, &x, &f, None, &mut out, &p)),
                Status::LayerParam
            );
        }
        let short = Conv2dS8Params {
            multipliers: Multipliers::PerChannel {
                multipliers: &[1],
                shifts: &[0],
            },
            ..p
        };
        assert_eq!(
            bad(conv2d_s8(&s, &x, &f, None, &mut out, &short)),
            Status::Param
        );
        let clamp = Conv2dS8Params {
            act_min: 3,
            act_max: 2,
            ..p
        };
        assert_eq!(
            bad(conv2d_s8(&s, &x, &f, None, &mut out, &clamp)),
            Status::Param
        );
        assert_eq!(out, [9; 6]);
    }
}
