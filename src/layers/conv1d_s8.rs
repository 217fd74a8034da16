//! Conv1D, int8: TFLite's CONV_2D with height 1 (what a Keras `Conv1D`
//! becomes: EXPAND_DIMS, CONV_2D, RESHAPE), as LiteRT's reference
//! `reference_integer_ops::ConvPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/conv.h`) computes
//! it for one input (batch 1, height 1, groups 1).
//!
//! The shape is the float kernel's, [`Conv1d`] (src/layers/conv1d.rs):
//! `in_channels`, `kernel_size`, `strides`, `dilation`, `padding`, with
//! TFLite's padding arithmetic (src/layers/window.rs: `valid`, `same` with
//! `total / 2` before the first step and the odd step after, which
//! TFLite's `ComputePaddingHeightWidth` gives too). `causal` is taken as
//! well: TFLite writes it as a PAD (by the input's zero point) before a
//! `valid` CONV_2D, and a tap on a step padded with the zero point adds
//! `filter * (zero_point - zero_point) = 0`, as a tap left out does.
//!
//! Multipliers as LiteRT's `PopulateConvolutionQuantizationParams`
//! computes them: `QuantizeMultiplier((double)input_scale *
//! (double)filter_scale[o] / (double)output_scale)` per output channel
//! (one value broadcast when the filter has one scale).
//!
//! Parity with LiteRT's Python wheel (ai-edge-litert 2.3.0, reference
//! kernels) needs [`crate::math::requant::Rounding::Double`]: its CONV_2D
//! requantizes with the double-rounding `MultiplyByQuantizedMultiplier`
//! (tests/rust/int8_fixtures.rs: `Rounding::Single` misses some values).
//!
//! The loop is src/layers/conv2d_s8.rs's on a plane of one row.

use super::conv1d::Conv1d;
use super::conv2d_s8::{check_conv_s8, conv_s8_core, conv_s8_reference_core};
use super::dense_s8::DenseS8Params;
use super::window::{Plane, Window2d};
use crate::Status;

/// The quantization of an int8 Conv1D: the same fields as a Dense
/// layer's (`input_offset = -input_zero_point`, `output_offset`, the fused
/// activation's clamp, one multiplier per tensor or per filter, the
/// [`crate::math::requant::Rounding`]).
pub type Conv1dS8Params<'a> = DenseS8Params<'a>;

/// int8 Conv1D over `steps x in_channels` inputs (`x[t * in_channels +
/// c]`), writing `out_steps x filters` (`out[t * filters + o]`): for each
/// output step `t` and filter `o`,
/// `acc = sum over taps k and channels c of filter[(o * kernel_size + k) *
/// in_channels + c] * (x[s, c] + input_offset) + bias[o]`, where
/// `s = t * strides + k * dilation - pad` and the taps with `s` outside
/// `0..steps` are left out (int32, wrapping as the C++ does), then
/// `clamp(MultiplyByQuantizedMultiplier(acc, m[o], shift[o]) +
/// output_offset, act_min, act_max)`.
///
/// - `filter`: TFLite's OHWI layout with H = 1, `filters` rows of
///   `kernel_size x in_channels` (not Keras's `kernel_size x in_channels x
///   filters`); zero point 0 (int8 weights are symmetric).
/// - `bias`: `filters` int32 values (scale `input_scale *
///   filter_scale[o]`, zero point 0) or `None`.
/// - `out`: `out_steps * filters` values, `out_steps` as
///   src/layers/window.rs gives it.
///
/// Statuses: [`Conv1d::shape`]'s (`LayerParam`, `XSize`, `KernelSize`),
/// `OutSize`, `BiasSize`, `Param` (offsets, clamp, shifts out of TFLite's
/// ranges, or per-channel multipliers not one per filter). Nothing is
/// written unless every check passes.
pub fn conv1d_s8(
    spec: &Conv1d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Conv1dS8Params,
) -> Result<(), Status> {
    let (window, plane, filters) = shape_s8(spec, x, filter, bias, out, p)?;
    conv_s8_core(
        &window,
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

/// [`conv1d_s8`] by LiteRT's reference loop (one output, tap and channel
/// at a time): what its fast loop is tested against.
pub fn conv1d_s8_reference(
    spec: &Conv1d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &mut [i8],
    p: &Conv1dS8Params,
) -> Result<(), Status> {
    let (window, plane, filters) = shape_s8(spec, x, filter, bias, out, p)?;
    conv_s8_reference_core(
        &window,
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

/// [`conv1d_s8`]'s checks; its window, plane and filters.
fn shape_s8(
    spec: &Conv1d,
    x: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    out: &[i8],
    p: &Conv1dS8Params,
) -> Result<(Window2d, Plane, usize), Status> {
    let (steps, steps_out, pad, filters) = spec.shape(x.len(), filter.len())?;
    // CONV_2D with height 1: the 2-D checks and loop on a plane of one row
    // (the padding before the first step as Conv1d::shape gives it, causal
    // included)
    let plane = Plane {
        out: (1, steps_out),
        pad: (0, pad),
    };
    let (plane, filters) = check_conv_s8((plane, filters), bias, out.len(), p)?;
    let window = Window2d {
        height: 1,
        width: steps,
        kernel_size: (1, spec.kernel_size),
        strides: (1, spec.strides),
        dilation: (1, spec.dilation),
        padding: spec.padding,
    };
    Ok((window, plane, filters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::dense_s8::{dense_s8, Multipliers};
    use crate::layers::window::Padding;
    use crate::math::requant::{requantize, Rounding};

    fn spec(cin: usize, k: usize, strides: usize, dilation: usize, padding: Padding) -> Conv1d {
        Conv1d {
            in_channels: cin,
            kernel_size: k,
            strides,
            dilation,
            padding,
        }
    }

    fn unit<'a>() -> Conv1dS8Params<'a> {
        // multiplier 1.0: (2^30, 1)
        Conv1dS8Params {
            input_offset: 0,
            output_offset: 0,
            act_min: -128,
            act_max: 127,
            multipliers: Multipliers::PerTensor {
                multiplier: 1 << 30,
                shift: 1,
            },
            rounding: Rounding::Single,
        }
    }

    /// The definition, in plain loops over signed positions (the
    /// reference kernel's shape), for any padding.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        cin: usize,
        k: usize,
        stride: usize,
        dil: usize,
        pad: isize,
        out_steps: usize,
        x: &[i8],
        f: &[i8],
        bias: &[i32],
        p: &Conv1dS8Params,
    ) -> Vec<i8> {
        let steps = (x.len() / cin) as isize;
        let filters = bias.len();
        let mut out = vec![];
        for t in 0..out_steps {
            for o in 0..filters {
                let mut acc = 0i32;
                for kk in 0..k {
                    let s = (t * stride + kk * dil) as isize - pad;
                    if s < 0 || s >= steps {
                        continue;
                    }
                    for c in 0..cin {
                        acc += f[(o * k + kk) * cin + c] as i32
                            * (x[s as usize * cin + c] as i32 + p.input_offset);
                    }
                }
                acc += bias[o];
                let (m, sh) = p.multipliers.get(o);
                let v = requantize(acc, m, sh, p.rounding) + p.output_offset;
                out.push(v.clamp(p.act_min, p.act_max) as i8);
            }
        }
        out
    }

    #[test]
    fn hand_checked() {
        // 1 channel, kernel [1, 2], 4 steps, valid: x = [1, 2, 3, 4]
        // -> [1+4, 2+6, 3+8] = [5, 8, 11], + bias 1, output offset -2
        let p = Conv1dS8Params {
            output_offset: -2,
            ..unit()
        };
        let mut out = [0i8; 3];
        conv1d_s8(
            &spec(1, 2, 1, 1, Padding::Valid),
            &[1, 2, 3, 4],
            &[1, 2],
            Some(&[1]),
            &mut out,
            &p,
        )
        .unwrap();
        assert_eq!(out, [4, 7, 10]);
        // same, strides 2, 5 steps: out 3 steps, total pad (3-1)*2+2-5 = 1,
        // 0 before: windows [0,1] [2,3] [4,pad]
        let mut out = [0i8; 3];
        conv1d_s8(
            &spec(1, 2, 2, 1, Padding::Same),
            &[1, 2, 3, 4, 5],
            &[1, 2],
            None,
            &mut out,
            &unit(),
        )
        .unwrap();
        assert_eq!(out, [5, 11, 5]);
        // kernel 3, same, 1 step: pad 1 before, 1 after -> only the middle tap
        let mut out = [0i8; 1];
        conv1d_s8(
            &spec(1, 3, 1, 1, Padding::Same),
            &[7],
            &[1, 2, 3],
            None,
            &mut out,
            &unit(),
        )
        .unwrap();
        assert_eq!(out, [14]);
        // the input offset applies to the taps in range only (zero-point
        // padding): x = [-5], zero point -5 -> every tap is 0
        let p = Conv1dS8Params {
            input_offset: 5,
            ..unit()
        };
        conv1d_s8(
            &spec(1, 3, 1, 1, Padding::Same),
            &[-5],
            &[1, 2, 3],
            Some(&[3]),
            &mut out,
            &p,
        )
        .unwrap();
        assert_eq!(out, [3]);
    }

    /// With one output step and a window covering the input exactly, a
    /// convolution is a dense layer over the flattened window.
    #[test]
    fn one_window_is_dense() {
        let x: Vec<i8> = (0..12).map(|i| (i * 37 % 255 - 127) as i8).collect();
        let f: Vec<i8> = (0..36).map(|i| (i * 53 % 255 - 127) as i8).collect();
        let bias = [100, -2000, 31];
        let (m, s) = ([1_300_000_000, 1_700_000_000, 1 << 30], [-9, -10, -8]);
        let p = Conv1dS8Params {
            input_offset: 3,
            output_offset: -7,
            act_min: -100,
            act_max: 90,
            multipliers: Multipliers::PerChannel {
                multipliers: &m,
                shifts: &s,
            },
            rounding: Rounding::Single,
        };
        let mut a = [0i8; 3];
        let mut b = [0i8; 3];
        conv1d_s8(
            &spec(3, 4, 1, 1, Padding::Valid),
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

    /// Every padding, stride, dilation and size small enough to run
    /// through: the kernel equals the definition.
    #[test]
    fn matches_the_definition() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as i32
        };
        let mut runs = 0;
        for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
            for cin in 1..=3 {
                for k in 1..=4 {
                    for stride in 1..=3 {
                        for dil in 1..=3 {
                            for steps in 1..=9 {
                                let sp = spec(cin, k, stride, dil, padding);
                                let filters = 1 + (next() as usize % 3);
                                let x: Vec<i8> = (0..steps * cin).map(|_| next() as i8).collect();
                                let f: Vec<i8> = (0..filters * k * cin)
                                    .map(|_| (next() % 255 - 127) as i8)
                                    .collect();
                                let bias: Vec<i32> =
                                    (0..filters).map(|_| next() % 20000 - 10000).collect();
                                let m: Vec<i32> =
                                    (0..filters).map(|_| (1 << 30) + next() * 7000).collect();
                                let s: Vec<i32> = (0..filters).map(|_| -(next() % 12)).collect();
                                let p = Conv1dS8Params {
                                    input_offset: next() % 256 - 127,
                                    output_offset: next() % 256 - 128,
                                    act_min: -128 + next() % 20,
                                    act_max: 127 - next() % 20,
                                    multipliers: Multipliers::PerChannel {
                                        multipliers: &m,
                                        shifts: &s,
                                    },
                                    rounding: if next() % 2 == 0 {
                                        Rounding::Single
                                    } else {
                                        Rounding::Double
                                    },
                                };
                                let window = (k - 1) * dil + 1;
                                let (n, pad) = match padding {
                                    Padding::Valid if steps < window => continue,
                                    Padding::Valid => ((steps - window) / stride + 1, 0),
                                    Padding::Same => {
                                        let n = steps.div_ceil(stride);
                                        (n, ((n - 1) * stride + window).saturating_sub(steps) / 2)
                                    }
                                    Padding::Causal => ((steps - 1) / stride + 1, window - 1),
                                };
                                let want =
                                    naive(cin, k, stride, dil, pad as isize, n, &x, &f, &bias, &p);
                                let mut got = vec![0i8; n * filters];
                                conv1d_s8(&sp, &x, &f, Some(&bias), &mut got, &p).unwrap();
                                assert_eq!(
                                    got, want,
                                    "{padding:?} {cin} {k} {stride} {dil} {steps}"
                                );
                                runs += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(runs > 1000);
    }

    #[test]
    fn refuses_bad_sizes_without_writing() {
        let p = unit();
        let sp = spec(2, 2, 1, 1, Padding::Valid);
        let x = [1i8; 6]; // 3 steps -> 2 out steps
        let f = [1i8; 8]; // 2 filters
        let mut out = [9i8; 4];
        let bad = |r: Result<(), Status>| r.unwrap_err();
        assert_eq!(
            bad(conv1d_s8(&sp, &[], &f, None, &mut out, &p)),
            Status::XSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x[..5], &f, None, &mut out, &p)),
            Status::XSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x[..2], &f, None, &mut out, &p)),
            Status::XSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &f[..7], None, &mut out, &p)),
            Status::KernelSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &[], None, &mut out, &p)),
            Status::KernelSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &f, None, &mut out[..3], &p)),
            Status::OutSize
        );
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &f, Some(&[1]), &mut out, &p)),
            Status::BiasSize
        );
        for s in [
            spec(0, 2, 1, 1, Padding::Valid),
            spec(2, 0, 1, 1, Padding::Valid),
            spec(2, 2, 0, 1, Padding::Valid),
            spec(2, 2, 1, 0, Padding::Valid),
            spec(2, 2, 1, usize::MAX, Padding::Same),
        ] {
            assert_eq!(
                bad(conv1d_s8(&s, &x, &f, None, &mut out, &p)),
                Status::LayerParam
            );
        }
        let short = Conv1dS8Params {
            multipliers: Multipliers::PerChannel {
                multipliers: &[1],
                shifts: &[0],
            },
            ..p
        };
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &f, None, &mut out, &short)),
            Status::Param
        );
        let clamp = Conv1dS8Params {
            act_min: 3,
            act_max: 2,
            ..p
        };
        assert_eq!(
            bad(conv1d_s8(&sp, &x, &f, None, &mut out, &clamp)),
            Status::Param
        );
        assert_eq!(out, [9; 4]);
    }
}
