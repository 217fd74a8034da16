//! DepthwiseConv2D, int8: TFLite's DEPTHWISE_CONV_2D as LiteRT's reference
//! `reference_integer_ops::DepthwiseConvPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/depthwise_conv.h`)
//! computes it for one input (batch 1).
//!
//! The shape is the float kernel's, [`Depthwise2d`]
//! (src/layers/depthwise2d.rs), with TFLite's padding arithmetic
//! (src/layers/window.rs); output channel `c * depth_multiplier + m` reads
//! input channel `c`. Taps outside the input are left out (the same as
//! padding with the input's zero point). Multipliers per output channel
//! as LiteRT's `PopulateConvolutionQuantizationParams` computes them
//! (`(double)input_scale * (double)filter_scale[oc] /
//! (double)output_scale`); the reference kernel requantizes with the
//! double-rounding `MultiplyByQuantizedMultiplier`
//! ([`crate::math::requant::Rounding::Double`], tests/rust/conv2d_fixtures.rs).

use super::conv2d_s8::{check_conv_s8, finish_block, output_one};
use super::dense_s8::DenseS8Params;
use super::depthwise2d::Depthwise2d;
use super::window::Plane;
use crate::math::caps;
use crate::Status;

/// The quantization of an int8 DepthwiseConv2D: a Dense layer's fields,
/// one multiplier per tensor or per output channel.
pub type Depthwise2dS8Params<'a> = DenseS8Params<'a>;

/// int8 DepthwiseConv2D over `height x width x in_channels` inputs
/// (row-major), writing `out_h x out_w x out_channels` (`out_channels =
/// in_channels * depth_multiplier`): for each output position and output
/// channel `oc = c * depth_multiplier + m`,
/// `acc = sum over taps (ky, kx) in range of filter[(ky * kernel_w + kx) *
/// out_channels + oc] * (x[iy, ix, c] + input_offset) + bias[oc]` (int32,
/// wrapping), then `clamp(MultiplyByQuantizedMultiplier(acc, m[oc],
/// shift[oc]) + output_offset, act_min, act_max)`.
///
/// - `filter`: TFLite's layout `1 x kernel_h x kernel_w x out_channels`,
///   which is Keras's `depthwise_kernel` flattened; zero point 0.
/// - `bias`: `out_channels` int32 values or `None`.
///
/// Statuses: [`Depthwise2d::shape`]'s (`LayerParam`, `XSize`,
/// `KernelSize`), `OutSize`, `BiasSize`, `Param` as
/// [`crate::layers::conv2d_s8::conv2d_s8`]. Nothing is written unless
/// every check passes.
pub fn depthwise2d_s8(
    spec: &Depthwise2d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Depthwise2dS8Params,
) -> Result<(), Status> {
    let (plane, cout) = check_conv_s8(spec.shape(x.len(), filter.len())?, bias, out.len(), p)?;
    // (Nonzero after the checks; `max(1)` for the compiler.)
    let cin = spec.in_channels.max(1);
    let cout = cout.max(1);
    // (on the stack once per call, not per position)
    let mut taps = [(0usize, 0usize); MAX_TAPS];
    let mut acc = [0i32; CHANNEL_BLOCK];
    // (the same rows as addresses for the assembly, where there is one)
    let mut addrs = caps::TapAddrs::new();
    // Where the window is inside the input at this position and the one
    // before it on the same output row, the taps are the last ones moved
    // `strides.1 * cin` input values on (the same kernel taps, each input
    // `strides.1` positions right): counted along, not found again.
    let w = &spec.window;
    let (kh, kw) = w.kernel_size;
    let inside = |o: usize, s: usize, d: usize, pad: usize, k: usize, size: usize| {
        let a = o.saturating_mul(s);
        a >= pad && (a - pad).saturating_add(k.saturating_sub(1).saturating_mul(d)) < size
    };
    let step = w.strides.1.saturating_mul(cin);
    let out_w = plane.out.1;
    let (mut ox, mut oy, mut row_inside, mut was_inside) = (0usize, 0usize, false, false);
    let mut kept = 0;
    for (pos, row) in out.chunks_exact_mut(cout).enumerate() {
        if ox == 0 {
            row_inside = inside(oy, w.strides.0, w.dilation.0, plane.pad.0, kh, w.height);
        }
        let now_inside = row_inside && inside(ox, w.strides.1, w.dilation.1, plane.pad.1, kw, w.width);
        if now_inside && was_inside && ox > 0 && kept <= MAX_TAPS {
            for t in taps.iter_mut().take(kept) {
                t.0 = t.0.wrapping_add(step);
            }
            addrs.shift_x(step);
        } else {
            addrs.clear(usize::MAX);
            // the taps in range as offsets (into x: `i * cin`, into the
            // filter: `t * cout`), kept on the stack for the channels'
            // passes when they fit (a 5x5 kernel's do), else the
            // reference loop
            kept = 0;
            for (t, i) in spec.window.taps_at(&plane, pos) {
                let (xi, wi) = (i * cin, t * cout);
                if !addrs.push_at(x, xi, filter, wi) {
                    addrs.clear(0); // (full: no sums by it)
                }
                match taps.get_mut(kept) {
                    Some(k) => *k = (xi, wi),
                    None => {
                        kept = usize::MAX;
                        break;
                    }
                }
                kept += 1;
            }
        }
        was_inside = now_inside;
        ox += 1;
        if ox == out_w {
            (ox, oy) = (0, oy + 1);
        }
        match taps.get(..kept) {
            Some(taps) => channels(row, taps, &addrs, &mut acc, x, filter, spec.depth_multiplier, bias, p),
            None => reference_row(spec, &plane, pos, row, x, filter, bias, p),
        }
    }
    Ok(())
}

/// The taps of an output position [`depthwise2d_s8`] keeps on the stack.
const MAX_TAPS: usize = 32;

/// The channels whose sums [`depthwise2d_s8`] keeps on the stack at once
/// (256 bytes): more take more passes over the taps.
const CHANNEL_BLOCK: usize = 64;

/// One output position's `row` of output channels, from its `taps` (`(x
/// offset, filter offset)` of each tap in range; `addrs` the same rows for
/// the assembly): with a depth multiplier of 1, blocks of up to
/// 64 channels, where the core has the assembly
/// ([`caps::TAP_SUM4`], Thumb-2) four channels at a time with their sums
/// in registers across the taps, the last `% 4` one at a time, else tap
/// by tap into the block's sums on the stack (on Armv6-M, with few
/// registers, the faster); with a larger multiplier one channel at a time;
/// then the bias and the requantization as the reference loop.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn channels(
    row: &mut [i8],
    taps: &[(usize, usize)],
    addrs: &caps::TapAddrs,
    acc: &mut [i32; CHANNEL_BLOCK],
    x: &[i8],
    filter: &[i8],
    dm: usize,
    bias: Option<&[i32]>,
    p: &Depthwise2dS8Params,
) {
    let off = p.input_offset;
    let mut rest = row;
    let mut c = 0usize; // the first output channel of `rest`
    if dm == 1 {
        while !rest.is_empty() {
            let k = rest.len().min(CHANNEL_BLOCK);
            let Some((ob, more)) = core::mem::take(&mut rest).split_at_mut_checked(k) else {
                break;
            };
            let accs = acc.get_mut(..k).unwrap_or(&mut []);
            if caps::TAP_SUM4 {
                // four channels at a time, their sums in registers across
                // the taps (the assembly), the last `k % 4` one by one
                let mut quads = accs.chunks_exact_mut(4);
                let mut ch = c;
                for a4 in &mut quads {
                    let s = addrs
                        .sum4(ch, off)
                        .unwrap_or_else(|| [0, 1, 2, 3].map(|i| sum1(taps, x, filter, ch + i, ch + i, off)));
                    a4.copy_from_slice(&s);
                    ch += 4;
                }
                for a in quads.into_remainder() {
                    *a = sum1(taps, x, filter, ch, ch, off);
                    ch += 1;
                }
            } else {
                // tap by tap, the block's inputs and weights (contiguous)
                // added into the block's sums (`acc`, on the caller's stack)
                accs.fill(0);
                for &(xi, wi) in taps {
                    let xs = x.get(xi + c..).and_then(|v| v.get(..k)).unwrap_or(&[]);
                    let ws = filter.get(wi + c..).and_then(|v| v.get(..k)).unwrap_or(&[]);
                    for ((a, &xv), &wv) in accs.iter_mut().zip(xs).zip(ws) {
                        *a = a.wrapping_add(wv as i32 * (xv as i32 + off));
                    }
                }
            }
            finish_block(accs, c, ob, bias, p);
            (rest, c) = (more, c + k);
        }
    }
    // output channel `oc` reads input channel `oc / dm` (counted without
    // dividing; `c` is past 0 only with a multiplier of 1)
    let dm = dm.max(1);
    let (mut ic, mut m) = (c, 0);
    for (o, oc) in rest.iter_mut().zip(c..) {
        let acc = sum1(taps, x, filter, ic, oc, off);
        finish_block(&[acc], oc, core::slice::from_mut(o), bias, p);
        m += 1;
        if m == dm {
            (ic, m) = (ic + 1, 0);
        }
    }
}

/// `sum over taps (xi, wi) of filter[wi + oc] * (x[xi + ic] + off)`
/// (wrapping), values out of range (never, for checked arguments) adding
/// nothing.
#[inline(always)]
fn sum1(taps: &[(usize, usize)], x: &[i8], filter: &[i8], ic: usize, oc: usize, off: i32) -> i32 {
    let mut acc = 0i32;
    for &(xi, wi) in taps {
        let xv = x.get(xi + ic).map_or(0, |&v| v as i32);
        let wv = filter.get(wi + oc).map_or(0, |&v| v as i32);
        acc = acc.wrapping_add(wv * (xv + off));
    }
    acc
}

/// [`depthwise2d_s8`] as LiteRT's reference loop computes it, one output
/// channel and one tap at a time: what the fast loop is tested against
/// (the same statuses).
pub fn depthwise2d_s8_reference(
    spec: &Depthwise2d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Depthwise2dS8Params,
) -> Result<(), Status> {
    let (plane, cout) = check_conv_s8(spec.shape(x.len(), filter.len())?, bias, out.len(), p)?;
    for (pos, row) in out.chunks_exact_mut(cout.max(1)).enumerate() {
        reference_row(spec, &plane, pos, row, x, filter, bias, p);
    }
    Ok(())
}

/// The reference loop's output position `pos` (its `row` of output
/// channels), on checked arguments; also [`depthwise2d_s8`]'s for a
/// kernel of more than [`MAX_TAPS`] taps.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn reference_row(
    spec: &Depthwise2d,
    plane: &Plane,
    pos: usize,
    row: &mut [i8],
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    p: &Depthwise2dS8Params,
) {
    // (Nonzero after the checks; `max(1)` for the compiler.)
    let cin = spec.in_channels.max(1);
    let dm = spec.depth_multiplier.max(1);
    let cout = row.len();
    for (oc, o) in row.iter_mut().enumerate() {
        let c = oc / dm;
        let mut acc: i32 = 0;
        for (t, i) in spec.window.taps_at(plane, pos) {
            let xv = x.get(i * cin + c).copied().unwrap_or(0) as i32;
            let wv = filter.get(t * cout + oc).copied().unwrap_or(0) as i32;
            acc = acc.wrapping_add(wv * (xv + p.input_offset));
        }
        *o = output_one(acc, bias, oc, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv2d::Conv2d;
    use crate::layers::conv2d_s8::conv2d_s8;
    use crate::layers::dense_s8::Multipliers;
    use crate::layers::depthwise2d::tests::window;
    use crate::layers::window::{Padding, Window2d};
    use crate::math::requant::Rounding;

    /// A depthwise convolution is a Conv2D whose filter is zero between
    /// different channels (OHWI: filter `oc` reads channel `oc / dm`).
    #[test]
    fn is_a_conv2d_with_a_block_filter() {
        let (h, w, cin, dm) = (5, 6, 3, 2);
        let (kh, kw) = (3, 2);
        let cout = cin * dm;
        let x: Vec<i8> = (0..h * w * cin).map(|i| (i * 37 % 255) as i8).collect();
        let f: Vec<i8> = (0..kh * kw * cout)
            .map(|i| (i as i32 * 53 % 255 - 127) as i8)
            .collect();
        let bias: Vec<i32> = (0..cout as i32).map(|i| i * 1000 - 2500).collect();
        let mut full = vec![0i8; cout * kh * kw * cin];
        for t in 0..kh * kw {
            for oc in 0..cout {
                full[(oc * kh * kw + t) * cin + oc / dm] = f[t * cout + oc];
            }
        }
        let m: Vec<i32> = (0..cout as i32)
            .map(|i| (1 << 30) + i * 12_345_678)
            .collect();
        let s: Vec<i32> = (0..cout as i32).map(|i| -6 - i % 3).collect();
        let p = Depthwise2dS8Params {
            input_offset: 7,
            output_offset: -3,
            act_min: -120,
            act_max: 110,
            multipliers: Multipliers::PerChannel {
                multipliers: &m,
                shifts: &s,
            },
            rounding: Rounding::Double,
        };
        for padding in [Padding::Valid, Padding::Same] {
            for (strides, dilation) in [((1, 1), (1, 1)), ((2, 1), (1, 2)), ((1, 3), (2, 1))] {
                let win = Window2d {
                    strides,
                    dilation,
                    ..window(h, w, (kh, kw), padding)
                };
                let d = Depthwise2d {
                    window: win,
                    in_channels: cin,
                    depth_multiplier: dm,
                };
                let c = Conv2d {
                    window: win,
                    in_channels: cin,
                };
                let (plane, _) = d.shape(x.len(), f.len()).unwrap();
                let n = plane.out.0 * plane.out.1 * cout;
                let (mut a, mut b) = (vec![0i8; n], vec![0i8; n]);
                depthwise2d_s8(&d, &x, &f, Some(&bias), &mut a, &p).unwrap();
                conv2d_s8(&c, &x, &full, Some(&bias), &mut b, &p).unwrap();
                assert_eq!(a, b, "{padding:?} {strides:?} {dilation:?}");
            }
        }
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let d = Depthwise2d {
            window: window(3, 3, (2, 2), Padding::Valid),
            in_channels: 2,
            depth_multiplier: 2,
        };
        let p = Depthwise2dS8Params {
            input_offset: 0,
            output_offset: 0,
            act_min: -128,
            act_max: 127,
            multipliers: Multipliers::PerTensor {
                multiplier: 1 << 30,
                shift: 0,
            },
            rounding: Rounding::Double,
        };
        let (x, f) = ([1i8; 18], [1i8; 16]);
        let mut out = [9i8; 16];
        let bad = |r: Result<(), Status>| r.unwrap_err();
        assert_eq!(
            bad(depthwise2d_s8(&d, &x[..17], &f, None, &mut out, &p)),
            Status::XSize
        );
        assert_eq!(
            bad(depthwise2d_s8(&d, &x, &f[..15], None, &mut out, &p)),
            Status::KernelSize
        );
        assert_eq!(
            bad(depthwise2d_s8(&d, &x, &f, None, &mut out[..15], &p)),
            Status::OutSize
        );
        assert_eq!(
            bad(depthwise2d_s8(&d, &x, &f, Some(&[0; 3]), &mut out, &p)),
            Status::BiasSize
        );
        let z = Depthwise2d {
            depth_multiplier: 0,
            ..d
        };
        assert_eq!(
            bad(depthwise2d_s8(&z, &x, &f, None, &mut out, &p)),
            Status::LayerParam
        );
        let short = Depthwise2dS8Params {
            multipliers: Multipliers::PerChannel {
                multipliers: &[1; 2],
                shifts: &[0; 2],
            },
            ..p
        };
        assert_eq!(
            bad(depthwise2d_s8(&d, &x, &f, None, &mut out, &short)),
            Status::Param
        );
        assert_eq!(out, [9; 16]);
    }
}
