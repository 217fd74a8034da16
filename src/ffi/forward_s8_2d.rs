//! `anne_forward`'s int8 2-D layers (`ANNE_DTYPE_S8`): Conv2D,
//! DepthwiseConv2D, the 2-D poolings, ZeroPadding2D (LiteRT's CONV_2D,
//! DEPTHWISE_CONV_2D, MAX/AVERAGE_POOL_2D, PAD) and the global poolings
//! over height and width (MEAN and REDUCE_MAX over the axes 1 and 2, run
//! as the 1-D ones over `height * width` steps), each checked as the
//! other int8 kinds (pointers, alignment, sizes, overlap, then the
//! quantization's values), then run by the crate's int8 kernels.

use super::check::{buffer_ok, overlaps};
use super::forward_s8::{run_pool1d_s8, s8_quant, shaping_quant};
use crate::abi::*;
use crate::layers::conv2d_s8::conv2d_s8;
use crate::layers::dense_s8::{DenseS8Params, Multipliers};
use crate::layers::depthwise2d_s8::depthwise2d_s8;
use crate::layers::pad2d::pad2d_s8;
use crate::layers::pool1d_s8::PoolS8Params;
use crate::layers::pool2d_s8::pool2d_s8;
use crate::layers::Op;
use crate::ops_table::layer as kind;
use crate::math::requant::Rounding;
use crate::Status;
use core::slice;

/// [`super::forward_s8::run_s8_layer`] for the 2-D kinds (`Kind` for the
/// others): `params` as the float 2-D layers' ([`Op::from_params`]; the
/// global poolings': channels), read before the buffers are checked.
///
/// # Safety
/// As [`super::forward_s8::run_s8_layer`].
pub(crate) unsafe fn run_s8_2d_layer(x: *const i8, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    match layer.kind {
        // SAFETY: as this function's contract (the 1-D global pooling of
        // height * width steps: the same values in the same order).
        kind::GLOBAL_AVERAGE_POOLING2D | kind::GLOBAL_MAX_POOLING2D => unsafe { run_pool1d_s8(x, n_in, layer) },
        kind::CONV2D | kind::DEPTHWISE_CONV2D => {
            let op = Op::from_params(layer.kind, &layer.params)?;
            // SAFETY: as this function's contract.
            unsafe { run_conv2d_s8(x, n_in, layer, op) }
        }
        kind::MAX_POOLING2D | kind::AVERAGE_POOLING2D | kind::ZERO_PADDING2D => {
            let op = Op::from_params(layer.kind, &layer.params)?;
            // SAFETY: as this function's contract.
            unsafe { run_shaping_s8(x, n_in, layer, op) }
        }
        _ => Err(Status::Kind),
    }
}

/// An int8 Conv2D or DepthwiseConv2D: `x` holds `n_in` int8 values
/// (height x width x channels), the kernel TFLite's layout (Conv2D:
/// filters x kernel_h x kernel_w x in_channels; DepthwiseConv2D: kernel_h
/// x kernel_w x channels), the bias one int32 per output channel (or
/// NULL), out the outputs; `quant` as [`conv_s8`] reads it. The checks
/// [`conv_s8`]'s, then the kernel's.
///
/// # Safety
/// As [`super::forward_s8::run_s8_layer`].
#[inline(never)]
unsafe fn run_conv2d_s8(x: *const i8, n_in: usize, layer: &anne_layer_t, op: Op) -> Result<(), Status> {
    // SAFETY: as this function's contract.
    let c = unsafe { conv_s8(x, n_in, layer) }?;
    match op {
        Op::Conv2d(spec) => conv2d_s8(&spec, c.x, c.kernel, c.bias, c.out, &c.p),
        Op::Depthwise2d(spec) => depthwise2d_s8(&spec, c.x, c.kernel, c.bias, c.out, &c.p),
        _ => Err(Status::Kind),
    }
}

/// An int8 convolution's (Conv1D, Conv2D, DepthwiseConv2D) checked
/// buffers and quantization.
pub(super) struct ConvS8<'a> {
    pub x: &'a [i8],
    pub kernel: &'a [i8],
    pub bias: Option<&'a [i32]>,
    pub out: &'a mut [i8],
    pub p: DenseS8Params<'a>,
}

/// What every int8 convolution checks, in the order of the other int8
/// kinds: no activation after the clamp (`act` linear, else
/// `Activation`), [`s8_quant`]'s pointers, `quant`'s `scale`: `count` Q31
/// multipliers, then `count` shifts (int32 words, `2 * count` in all;
/// `count` 1 or one per output channel, which the kernel checks),
/// requantized with double rounding as LiteRT's build does; then x, and
/// out overlapping none of x, the kernel, the bias, the words.
///
/// # Safety
/// As [`super::forward_s8::run_s8_layer`]; the slices live as long as
/// the layer's buffers (the caller's contract).
pub(super) unsafe fn conv_s8<'a>(x: *const i8, n_in: usize, layer: &'a anne_layer_t) -> Result<ConvS8<'a>, Status> {
    if layer.act.kind != ANNE_ACT_LINEAR as u32 {
        return Err(Status::Activation);
    }
    let (kernel, bias, out) = (layer.kernel as *const i8, layer.bias as *const i32, layer.out as *mut i8);
    // SAFETY: as this function's contract.
    let q = unsafe { s8_quant(layer) }?;
    let words = q.scale as *const i32;
    let n_words = q.count.checked_mul(2).ok_or(Status::Param)?;
    buffer_ok(words, n_words, Status::Param)?;
    buffer_ok(x, n_in, Status::XSize)?;
    let bias_len = if bias.is_null() { 0 } else { layer.bias_len };
    let o = out as *const i8;
    if overlaps(o, layer.out_len, x, n_in)
        || overlaps(o, layer.out_len, kernel, layer.kernel_len)
        || overlaps(o, layer.out_len, bias, bias_len)
        || overlaps(o, layer.out_len, words, n_words)
    {
        return Err(Status::Overlap);
    }
    // SAFETY: every pointer is non-null (or NULL and unused), aligned and
    // valid for its length (contract, checked); out overlaps none of the
    // others.
    let (x, kernel, bias, words, out) = unsafe {
        (
            slice::from_raw_parts(x, n_in),
            slice::from_raw_parts(kernel, layer.kernel_len),
            (!bias.is_null()).then(|| slice::from_raw_parts(bias, bias_len)),
            slice::from_raw_parts(words, n_words),
            slice::from_raw_parts_mut(out, layer.out_len),
        )
    };
    // (2 * count words: never None; no panic path)
    let (multipliers, shifts) = words.split_at_checked(q.count).ok_or(Status::Param)?;
    let multipliers = match (multipliers, shifts) {
        ([multiplier], [shift]) => Multipliers::PerTensor {
            multiplier: *multiplier,
            shift: *shift,
        },
        _ => Multipliers::PerChannel { multipliers, shifts },
    };
    let p = DenseS8Params {
        input_offset: q.input_offset,
        output_offset: q.output_offset,
        act_min: q.act_min,
        act_max: q.act_max,
        multipliers,
        rounding: Rounding::Double,
    };
    Ok(ConvS8 { x, kernel, bias, out, p })
}

/// An int8 2-D pooling (clamped to `quant`'s `act_min..act_max`) or
/// ZeroPadding2D (TFLite's PAD: the added positions the zero point; its
/// clamp -128..127): the values keep the input's quantization
/// (`input_offset == -output_offset`, else `Param`). The kernel, the bias
/// and `quant`'s `scale` are not read; `act` must be linear.
///
/// # Safety
/// As [`super::forward_s8::run_s8_layer`], without a kernel or bias.
#[inline(never)]
unsafe fn run_shaping_s8(x: *const i8, n_in: usize, layer: &anne_layer_t, op: Op) -> Result<(), Status> {
    // SAFETY: as this function's contract.
    let (q, out) = unsafe { shaping_quant(x, n_in, layer)? };
    match op {
        Op::Pool2d(s) => s.check(n_in, layer.out_len).map(|_| ())?,
        Op::Pad2d(s) => s.check(n_in, layer.out_len).map(|_| ())?,
        _ => return Err(Status::Kind),
    }
    if overlaps(out as *const i8, layer.out_len, x, n_in) {
        return Err(Status::Overlap);
    }
    let zero_point = q.output_offset;
    if q.input_offset != zero_point.wrapping_neg() || !(-128..=127).contains(&zero_point) {
        return Err(Status::Param); // (TFLite keeps the input's quantization)
    }
    // SAFETY: non-null, aligned, valid for their lengths (contract,
    // checked), out not overlapping x.
    let (x, out) = unsafe { (slice::from_raw_parts(x, n_in), slice::from_raw_parts_mut(out, layer.out_len)) };
    match op {
        Op::Pool2d(s) => pool2d_s8(
            &s,
            x,
            out,
            &PoolS8Params {
                act_min: q.act_min,
                act_max: q.act_max,
            },
        ),
        Op::Pad2d(s) => {
            if (q.act_min, q.act_max) != (-128, 127) {
                return Err(Status::Param);
            }
            pad2d_s8(&s, x, out, zero_point as i8)
        }
        _ => Err(Status::Kind),
    }
}
