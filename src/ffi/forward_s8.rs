//! `anne_forward`'s int8 layers (`ANNE_DTYPE_S8`): Dense, Conv1D and the
//! 1-D poolings, each checked (pointers, alignment, sizes, overlap, then
//! the quantization's values), then run by the crate's int8 kernels.

use super::check::{buffer_ok, overlaps};
use crate::abi::*;
use crate::activation::s8::{lut_s8_in_place, softmax_s8_in_place, SoftmaxS8Params, TableS8};
use crate::layers::conv1d_s8::conv1d_s8;
use crate::layers::dense_s8::{dense_s8, DenseS8Params, Multipliers};
use crate::layers::mean_s8::{mean_s8, reduce_max_s8, MeanS8Params};
use crate::layers::pool1d::Pool;
use crate::layers::pool1d_s8::{pool1d_s8, PoolS8Params};
use crate::layers::Op;
use crate::math::requant::{FloatScale, Rounding};
use crate::Status;
use core::slice;

/// [`super::forward::run_layer`] for an int8 layer: by kind, Dense, Conv1D
/// or a 1-D pooling; `Kind` for the others.
///
/// # Safety
/// As [`run_dense_s8`].
pub(crate) unsafe fn run_s8_layer(x: *const i8, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    let kind = layer.kind as i32;
    if kind == ANNE_LAYER_DENSE {
        // SAFETY: as this function's contract.
        return unsafe { run_dense_s8(x, n_in, layer) };
    }
    if kind == ANNE_LAYER_CONV1D {
        // SAFETY: as this function's contract.
        return unsafe { run_conv1d_s8(x, n_in, layer) };
    }
    if S8_POOLS.contains(&kind) {
        // SAFETY: as this function's contract.
        return unsafe { run_pool1d_s8(x, n_in, layer) };
    }
    // SAFETY: as this function's contract.
    unsafe { super::forward_s8_2d::run_s8_2d_layer(x, n_in, layer) }
}

/// What every int8 layer with weights checks first: its kernel, out and
/// quant pointers non-null, quant aligned, its `scale` non-null, then the
/// kernel, out and bias (unless NULL) aligned for their types. Returns a
/// copy of the quant record (so that out may be written while its values
/// are used).
///
/// # Safety
/// As [`run_dense_s8`].
pub(super) unsafe fn s8_quant(layer: &anne_layer_t) -> Result<anne_quant_t, Status> {
    let (kernel, bias, out) = (layer.kernel as *const i8, layer.bias as *const i32, layer.out as *mut i8);
    if kernel.is_null() || out.is_null() || layer.quant.is_null() {
        return Err(Status::Null);
    }
    if !(layer.quant as usize).is_multiple_of(align_of::<anne_quant_t>()) {
        return Err(Status::Align);
    }
    // SAFETY: non-null, aligned, readable (contract); a copy.
    let q = unsafe { layer.quant.read() };
    if q.scale.is_null() {
        return Err(Status::Null);
    }
    buffer_ok(kernel, layer.kernel_len, Status::KernelSize)?;
    buffer_ok(out, layer.out_len, Status::OutSize)?;
    if !bias.is_null() {
        buffer_ok(bias, layer.bias_len, Status::BiasSize)?;
    }
    Ok(q)
}

/// What every int8 layer without weights (pooling, padding) checks first:
/// a linear activation, its out and quant pointers non-null, quant
/// aligned, out and `x` valid for their lengths. Returns a copy of the
/// quant record and out.
///
/// # Safety
/// As [`run_dense_s8`].
pub(super) unsafe fn shaping_quant(
    x: *const i8,
    n_in: usize,
    layer: &anne_layer_t,
) -> Result<(anne_quant_t, *mut i8), Status> {
    if layer.act.kind != ANNE_ACT_LINEAR as u32 {
        return Err(Status::Activation);
    }
    let out = layer.out as *mut i8;
    if out.is_null() || layer.quant.is_null() {
        return Err(Status::Null);
    }
    if !(layer.quant as usize).is_multiple_of(align_of::<anne_quant_t>()) {
        return Err(Status::Align);
    }
    // SAFETY: non-null, aligned, readable (contract); a copy.
    let q = unsafe { layer.quant.read() };
    buffer_ok(out, layer.out_len, Status::OutSize)?;
    buffer_ok(x, n_in, Status::XSize)?;
    Ok((q, out))
}

/// [`super::forward::run_layer`] for an int8 Dense layer (`ANNE_DTYPE_S8`): `x` holds
/// `n_in` int8 values, the kernel `units * n_in` int8 in TFLite's layout,
/// the bias `units` int32 (or NULL), out `units` int8; `quant` the
/// requantization, run as LiteRT's reference kernel does (in double
/// precision: [`dense_s8`]'s float scales, computed with integers). The
/// checks in the order of the other kinds: pointers, alignment, sizes,
/// overlap, then the quantization's values.
///
/// # Safety
/// As [`super::forward::run_layer`], with the lengths in values of those types; `quant` is
/// NULL or points to a readable `anne_quant_t` whose non-null `scale`
/// holds `2 * count` words.
#[inline(never)]
unsafe fn run_dense_s8(x: *const i8, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    let (kernel, bias, out) = (layer.kernel as *const i8, layer.bias as *const i32, layer.out as *mut i8);
    // SAFETY: as this function's contract.
    let q = unsafe { s8_quant(layer) }?;
    let n_words = q.count.checked_mul(2).ok_or(Status::Param)?;
    buffer_ok(q.scale, n_words, Status::Param)?;
    buffer_ok(x, n_in, Status::XSize)?;
    let units = layer.out_len;
    let bias_len = if bias.is_null() { 0 } else { layer.bias_len };
    if n_in == 0 {
        return Err(Status::XSize);
    }
    if units == 0 {
        return Err(Status::OutSize);
    }
    if n_in.checked_mul(units) != Some(layer.kernel_len) {
        return Err(Status::KernelSize);
    }
    if !bias.is_null() && bias_len != units {
        return Err(Status::BiasSize);
    }
    if q.count != 1 && q.count != units {
        return Err(Status::Param);
    }
    let o = out as *const i8;
    if overlaps(o, units, x, n_in)
        || overlaps(o, units, kernel, layer.kernel_len)
        || overlaps(o, units, bias, bias_len)
        || overlaps(o, units, q.scale, n_words)
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
            slice::from_raw_parts(q.scale, n_words),
            slice::from_raw_parts_mut(out, units),
        )
    };
    // The scales' bits decoded per output (a few shifts and masks; on
    // Cortex-M3 a 16 -> 16 call took 1.6 % fewer instructions so than
    // with the 16 scales decoded into an array first), after a check that
    // none is NaN or infinite (dense_s8's, before anything is written).
    // SAFETY: quant's post as anne.h describes it (contract), checked.
    let post = unsafe { post_of(layer.act.kind, &q, o, units) }?;
    let multipliers = match *words {
        [lo, hi] => Multipliers::FloatPerTensor {
            scale: FloatScale::from_bits((hi as u64) << 32 | lo as u64)?,
        },
        _ => Multipliers::FloatBitsPerChannel { words },
    };
    let p = DenseS8Params {
        input_offset: q.input_offset,
        output_offset: q.output_offset,
        act_min: q.act_min,
        act_max: q.act_max,
        multipliers,
        rounding: Rounding::Single, // not used by the float requantization
    };
    dense_s8(x, kernel, bias, out, &p)?;
    match post {
        Post::None => Ok(()),
        Post::Table(table) => {
            lut_s8_in_place(out, table);
            Ok(())
        }
        Post::Softmax(params) => softmax_s8_in_place(out, &params),
    }
}

/// [`super::forward::run_layer`] for an int8 Conv1D (`ANNE_DTYPE_S8`, LiteRT's reference
/// CONV_2D with height 1): `params` as a float Conv1D's (in_channels,
/// kernel_size, strides, padding, dilation); `x` holds `n_in` int8 values,
/// the kernel `filters` rows of `kernel_size * in_channels` int8 (TFLite's
/// OHWI layout), the bias `filters` int32 (or NULL), out `out_steps *
/// filters` int8; `quant`'s `scale` holds `count` Q31 multipliers, then
/// `count` shifts (int32 words, `2 * count` in all), `count` 1 or
/// `filters`, requantized with double rounding as LiteRT's build does.
/// No activation after the clamp (`act` linear, else `Activation`). The
/// checks as `forward_s8_2d::conv_s8`'s, then [`conv1d_s8`]'s.
///
/// # Safety
/// As [`run_dense_s8`].
#[inline(never)]
unsafe fn run_conv1d_s8(x: *const i8, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    let spec = match Op::from_params(layer.kind, &layer.params)? {
        Op::Conv(spec) => spec,
        _ => return Err(Status::Kind),
    };
    // SAFETY: as this function's contract.
    let c = unsafe { super::forward_s8_2d::conv_s8(x, n_in, layer) }?;
    conv1d_s8(&spec, c.x, c.kernel, c.bias, c.out, &c.p)
}

/// The 1-D poolings with an int8 kernel.
const S8_POOLS: [i32; 4] = [
    ANNE_LAYER_MAX_POOLING1D,
    ANNE_LAYER_AVERAGE_POOLING1D,
    ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D,
    ANNE_LAYER_GLOBAL_MAX_POOLING1D,
];

/// [`super::forward::run_layer`] for an int8 1-D pooling (`ANNE_DTYPE_S8`; `params` as a
/// float pooling's): MAX/AVERAGE_POOL_2D of height 1 ([`pool1d_s8`],
/// clamped to `quant`'s `act_min..act_max`), MEAN over the steps
/// ([`mean_s8`]: `quant`'s offsets and its `scale`'s two words, the Q31
/// multiplier and shift of `input_scale / output_scale`, `count` 1; its
/// clamp -128..127) and REDUCE_MAX ([`reduce_max_s8`]; `quant` not read
/// past its pointer). The kernel, the bias and `act` are not read (`act`
/// must be linear); out holds the layer's outputs, overlapping neither x
/// nor the scale words.
///
/// # Safety
/// As [`run_dense_s8`], without a kernel or bias.
#[inline(never)]
pub(super) unsafe fn run_pool1d_s8(x: *const i8, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    let spec = match Op::from_params(layer.kind, &layer.params)? {
        Op::Pool(spec) => spec,
        _ => return Err(Status::Kind),
    };
    // SAFETY: as this function's contract.
    let (q, out) = unsafe { shaping_quant(x, n_in, layer)? };
    spec.check(n_in, layer.out_len)?;
    let mean = spec.global && spec.pool == Pool::Average;
    let words = q.scale as *const i32;
    let n_words = if mean { 2 } else { 0 };
    if mean {
        if q.count != 1 || words.is_null() {
            return Err(Status::Param);
        }
        buffer_ok(words, 2, Status::Param)?;
    }
    let o = out as *const i8;
    if overlaps(o, layer.out_len, x, n_in) || overlaps(o, layer.out_len, words, n_words) {
        return Err(Status::Overlap);
    }
    // SAFETY: non-null, aligned, valid for their lengths (contract,
    // checked), out overlapping neither x nor the words.
    let (x, out) = unsafe { (slice::from_raw_parts(x, n_in), slice::from_raw_parts_mut(out, layer.out_len)) };
    if mean {
        // SAFETY: checked above: 2 words.
        let w = unsafe { slice::from_raw_parts(words, 2) };
        let p = MeanS8Params {
            input_zero_point: q.input_offset.wrapping_neg(),
            output_zero_point: q.output_offset,
            multiplier: w[0],
            shift: w[1],
            rounding: Rounding::Double,
        };
        if (q.act_min, q.act_max) != (-128, 127) {
            return Err(Status::Param);
        }
        return mean_s8(x, out, &p);
    }
    if spec.global {
        if (q.act_min, q.act_max) != (-128, 127) || q.input_offset != q.output_offset.wrapping_neg() {
            return Err(Status::Param);
        }
        return reduce_max_s8(x, out);
    }
    if q.input_offset != q.output_offset.wrapping_neg() {
        return Err(Status::Param); // (TFLite's pooling keeps the input's quantization)
    }
    let p = PoolS8Params {
        act_min: q.act_min,
        act_max: q.act_max,
    };
    pool1d_s8(&spec, x, out, &p)
}

/// What an int8 layer applies after its clamp (`anne_quant_t`'s post).
enum Post<'a> {
    None,
    Table(&'a TableS8),
    Softmax(SoftmaxS8Params),
}

/// Layer's post for activation kind `kind`, checked before anything is
/// written: a softmax's parameters (as [`softmax_s8_in_place`] takes
/// them; LiteRT's build rounds twice), an element-wise kind's 256-entry
/// table; neither may overlap the layer's `units` outputs at `out`.
///
/// # Safety
/// `q.post` is NULL or valid for `q.post_len` values of its kind's type.
unsafe fn post_of<'a>(kind: u32, q: &anne_quant_t, out: *const i8, units: usize) -> Result<Post<'a>, Status> {
    if kind == ANNE_ACT_LINEAR as u32 {
        return Ok(Post::None);
    }
    if kind as usize >= crate::ops_table::NAMES.len()
        || [ANNE_ACT_GLU, ANNE_ACT_LOG_SOFTMAX, ANNE_ACT_SPARSEMAX].contains(&(kind as _))
    {
        return Err(Status::Activation);
    }
    if q.post.is_null() {
        return Err(Status::Null);
    }
    if kind == ANNE_ACT_SOFTMAX as u32 {
        let words = q.post as *const i32;
        if q.post_len != 3 {
            return Err(Status::Param);
        }
        buffer_ok(words, 3, Status::Param)?;
        if overlaps(out, units, words, 3) {
            return Err(Status::Overlap);
        }
        // SAFETY: aligned, valid for 3 values (checked, contract).
        let w = unsafe { slice::from_raw_parts(words, 3) };
        let p = SoftmaxS8Params {
            input_multiplier: w[0],
            input_left_shift: w[1],
            diff_min: w[2],
            rounding: Rounding::Double,
        };
        if p.input_multiplier < 0 || !(0..=31).contains(&p.input_left_shift) || p.diff_min > 0 {
            return Err(Status::Param);
        }
        return Ok(Post::Softmax(p));
    }
    let table = q.post as *const i8;
    if q.post_len != 256 {
        return Err(Status::Param);
    }
    buffer_ok(table, 256, Status::Param)?;
    if overlaps(out, units, table, 256) {
        return Err(Status::Overlap);
    }
    // SAFETY: valid for 256 int8 (checked, contract), not written here.
    Ok(Post::Table(unsafe { &*(table as *const TableS8) }))
}
