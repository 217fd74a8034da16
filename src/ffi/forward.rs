//! The forward entry points: `anne_dense_f32`, `anne_forward` (a chain
//! of layers of any kind and dtype), `anne_argmax_f32`.

use super::check::{buffer_ok, float_buffer_ok, overlaps};
use crate::abi::*;
use crate::activation::Common;
use super::forward_s8::run_s8_layer;
use crate::layers::{dense, Op, Weights};
use crate::{argmax_f32, Activation, Status};
use core::slice;
use cty::c_void;

/// `anne_dense_f32`: Keras `Dense`, `out = act(x . kernel + bias)`.
///
/// # Safety
/// `x`, `kernel`, `bias` (unless NULL) and `out` point to `n_in`,
/// `kernel_len`, `bias_len` and `n_out` floats; `out` is writable and
/// overlaps none of the others; `act` points to one (aligned) `anne_activation_t`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn anne_dense_f32(
    x: *const f32,
    n_in: usize,
    kernel: *const f32,
    kernel_len: usize,
    bias: *const f32,
    bias_len: usize,
    out: *mut f32,
    n_out: usize,
    act: *const anne_activation_t,
) -> i32 {
    if x.is_null() || act.is_null() {
        return ANNE_ERR_NULL;
    }
    let layer = anne_layer_t {
        kind: ANNE_LAYER_DENSE as u32,
        dtype: ANNE_DTYPE_F32 as u32,
        kernel: kernel as *const c_void,
        kernel_len,
        bias: bias as *const c_void,
        bias_len,
        out: out as *mut c_void,
        out_len: n_out,
        // SAFETY: act is non-null, readable and aligned by the contract;
        // every bit pattern of its fields (integers and floats) is valid.
        act: unsafe { act.read() },
        params: [0; ANNE_LAYER_PARAMS as usize],
        quant: core::ptr::null(),
    };
    // SAFETY: x and the layer's pointers are as run_layer requires (contract).
    let result = float_buffer_ok(x, n_in, Status::XSize)
        .and_then(|()| unsafe { run_layer(x, n_in, &layer) });
    Status::code_of(result)
}

/// A checked layer's buffers as slices.
pub(crate) type Buffers<'a> = (&'a [f32], &'a [f32], Option<&'a [f32]>, &'a mut [f32]);

/// Checks the buffers of a dense layer of `units` columns reading `n_in`
/// floats at `x`: pointers, sizes and overlaps. Returns them as slices.
///
/// # Safety
/// As [`run_layer`]; the slices live while the layer runs, no longer.
#[inline(always)]
pub(crate) unsafe fn buffers<'a>(
    x: *const f32,
    n_in: usize,
    layer: &anne_layer_t,
    units: usize,
) -> Result<Buffers<'a>, Status> {
    let (kernel, bias, out_mut) = float_weights(layer);
    if kernel.is_null() || out_mut.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(kernel, layer.kernel_len, Status::KernelSize)?;
    float_buffer_ok(out_mut, layer.out_len, Status::OutSize)?;
    if !bias.is_null() {
        float_buffer_ok(bias, layer.bias_len, Status::BiasSize)?;
    }
    let out = out_mut as *const f32;
    if n_in == 0
        || units == 0
        || n_in.checked_mul(units) != Some(layer.kernel_len)
        || (!bias.is_null() && layer.bias_len != units)
        || overlaps(out, layer.out_len, x, n_in)
        || overlaps(out, layer.out_len, kernel, layer.kernel_len)
        || (!bias.is_null() && overlaps(out, layer.out_len, bias, layer.bias_len))
    {
        return Err(refusal(n_in, layer));
    }
    // SAFETY: checked above: every pointer is non-null, aligned and valid
    // for its length (contract), byte sizes fit an isize, and out overlaps
    // none of this layer's inputs, so the shared and the mutable slices
    // never alias.
    unsafe {
        Ok((
            slice::from_raw_parts(x, n_in),
            slice::from_raw_parts(kernel, layer.kernel_len),
            (!bias.is_null()).then(|| slice::from_raw_parts(bias, layer.bias_len)),
            slice::from_raw_parts_mut(out_mut, layer.out_len),
        ))
    }
}

/// A float32 layer's kernel, bias and out pointers as floats.
#[inline(always)]
pub(crate) fn float_weights(layer: &anne_layer_t) -> (*const f32, *const f32, *mut f32) {
    (layer.kernel as *const f32, layer.bias as *const f32, layer.out as *mut f32)
}

/// Why [`buffers`] refused a layer: the first of its sizes that is wrong
/// ([`dense::check_sizes`], with `units = kernel_len / n_in`), else the
/// overlap. Out of line: it only runs on an error.
#[cold]
#[inline(never)]
pub(crate) fn refusal(n_in: usize, layer: &anne_layer_t) -> Status {
    let bias_len = (!layer.bias.is_null()).then_some(layer.bias_len);
    match Activation::from_abi(&layer.act)
        .and_then(|act| dense::check_sizes(n_in, layer.kernel_len, bias_len, layer.out_len, &act))
    {
        Err(status) => status,
        Ok(_) => Status::Overlap,
    }
}

/// Checks one layer reading `n_in` floats at `x` (its kind and dtype, its
/// activation, then [`buffers`]), then runs it. Nothing is written unless
/// the checks pass.
///
/// # Safety
/// `x` is non-null, aligned and valid for `n_in` floats; the layer's
/// non-null pointers are valid for their lengths, `out` for writes.
pub(crate) unsafe fn run_layer(x: *const f32, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    // One test for both (ANNE_DTYPE_F32 is 0).
    if (layer.kind ^ ANNE_LAYER_DENSE as u32) | (layer.dtype ^ ANNE_DTYPE_F32 as u32) != 0 {
        // SAFETY: as this function's contract.
        return unsafe { run_other_layer(x, n_in, layer) };
    }
    // linear, sigmoid and Keras's default relu: no parameters to check.
    if let Some(common) = Common::from_abi(&layer.act) {
        // SAFETY: as this function's contract.
        let (x, kernel, bias, out) = unsafe { buffers(x, n_in, layer, layer.out_len)? };
        return dense::run_common(x, kernel, bias, out, common);
    }
    let act = Activation::from_abi(&layer.act)?;
    let units = match act {
        Activation::Glu => layer.out_len.checked_mul(2).ok_or(Status::OutSize)?,
        _ => layer.out_len,
    };
    // SAFETY: as this function's contract.
    let (x, kernel, bias, out) = unsafe { buffers(x, n_in, layer, units)? };
    act.validate()?;
    dense::run(x, kernel, bias, out, &act, units)
}

/// [`run_layer`] for the kinds other than dense: an int8 layer (any kind,
/// [`run_s8_layer`]), or a float32 one through its `LayerKind` (read by
/// [`Op::from_params`]), checked in this order:
/// an affine layer's ([`run_fixed`]); else out, then a kind without
/// weights's sizes, or a convolution's activation, kernel, bias and
/// sizes; then overlap.
///
/// # Safety
/// As [`run_layer`]; a pooling layer's kernel and bias are not read.
#[inline(never)]
pub(crate) unsafe fn run_other_layer(x: *const f32, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    if layer.dtype == ANNE_DTYPE_S8 as u32 {
        // SAFETY: as this function's contract (x: n_in int8 values).
        return unsafe { run_s8_layer(x as *const i8, n_in, layer) };
    }
    if layer.dtype != ANNE_DTYPE_F32 as u32 {
        return Err(Status::Kind);
    }
    let kind = Op::from_params(layer.kind, &layer.params)?;
    if kind.is_dense() {
        return Err(Status::Kind); // (run_layer's)
    }
    let weights = kind.weights();
    if weights == Weights::Fixed {
        // SAFETY: as this function's contract.
        return unsafe { run_fixed(x, n_in, layer, kind) };
    }
    let out_mut = layer.out as *mut f32;
    if out_mut.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(out_mut, layer.out_len, Status::OutSize)?;
    if weights == Weights::None {
        let linear = Activation::Linear;
        kind.check(n_in, 0, None, layer.out_len, &linear)?;
        if overlaps(out_mut as *const f32, layer.out_len, x, n_in) {
            return Err(Status::Overlap);
        }
        // SAFETY: x and out are non-null, aligned and valid for their
        // lengths (contract, checked), and do not overlap.
        let (x, out) = unsafe { (slice::from_raw_parts(x, n_in), slice::from_raw_parts_mut(out_mut, layer.out_len)) };
        return kind.forward_f32(x, &[], None, out, &linear);
    }
    let act = Activation::from_abi(&layer.act)?;
    // SAFETY: as this function's contract; out is checked.
    let ((), s) = unsafe {
        kernel_slices(x, n_in, layer, |bias_len| {
            kind.check(n_in, layer.kernel_len, bias_len, layer.out_len, &act)
        })?
    };
    kind.forward_f32(s.x, s.kernel, s.bias, s.out, &act)
}

/// A checked layer's input, kernel, bias and output.
pub(crate) struct KernelSlices<'a> {
    x: &'a [f32],
    kernel: &'a [f32],
    bias: Option<&'a [f32]>,
    out: &'a mut [f32],
}

/// The slices of a layer with a kernel (Conv1D, Conv2D) whose out is
/// non-null and aligned (checked): the kernel non-null, kernel and bias
/// aligned, then `check` (the kind's sizes, given the bias's length),
/// then out overlapping none of x, kernel, bias; returns what `check` did.
///
/// # Safety
/// As [`run_layer`].
unsafe fn kernel_slices<'a, S>(
    x: *const f32,
    n_in: usize,
    layer: &'a anne_layer_t,
    check: impl FnOnce(Option<usize>) -> Result<S, Status>,
) -> Result<(S, KernelSlices<'a>), Status> {
    let (kernel, bias, out_mut) = float_weights(layer);
    let out = out_mut as *const f32;
    if kernel.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(kernel, layer.kernel_len, Status::KernelSize)?;
    if !bias.is_null() {
        float_buffer_ok(bias, layer.bias_len, Status::BiasSize)?;
    }
    let bias_len = (!bias.is_null()).then_some(layer.bias_len);
    let shape = check(bias_len)?;
    if overlaps(out, layer.out_len, x, n_in)
        || overlaps(out, layer.out_len, kernel, layer.kernel_len)
        || overlaps(out, layer.out_len, bias, bias_len.unwrap_or(0))
    {
        return Err(Status::Overlap);
    }
    // SAFETY: every pointer is non-null (or NULL and unused), aligned and
    // valid for its length (contract, checked); out overlaps none of the
    // layer's inputs.
    let slices = unsafe {
        KernelSlices {
            x: slice::from_raw_parts(x, n_in),
            kernel: slice::from_raw_parts(kernel, layer.kernel_len),
            bias: bias_len.map(|n| slice::from_raw_parts(bias, n)),
            out: slice::from_raw_parts_mut(out_mut, layer.out_len),
        }
    };
    Ok((shape, slices))
}

/// [`run_layer`] for a kind with fixed weights (the affine layer: kernel
/// = scale, bias = offset, both required): the pointers, then the kind's
/// sizes ([`LayerKind::check`]), then overlap.
///
/// # Safety
/// As [`run_layer`].
unsafe fn run_fixed(x: *const f32, n_in: usize, layer: &anne_layer_t, kind: Op) -> Result<(), Status> {
    let (kernel, bias, out_mut) = float_weights(layer);
    if kernel.is_null() || bias.is_null() || out_mut.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(kernel, layer.kernel_len, Status::KernelSize)?;
    float_buffer_ok(bias, layer.bias_len, Status::BiasSize)?;
    float_buffer_ok(out_mut, layer.out_len, Status::OutSize)?;
    let linear = Activation::Linear;
    kind.check(n_in, layer.kernel_len, Some(layer.bias_len), layer.out_len, &linear)?;
    let out = out_mut as *const f32;
    if overlaps(out, layer.out_len, x, n_in)
        || overlaps(out, layer.out_len, kernel, layer.kernel_len)
        || overlaps(out, layer.out_len, bias, layer.bias_len)
    {
        return Err(Status::Overlap);
    }
    // SAFETY: non-null, aligned, valid for their lengths (contract,
    // checked), and out overlaps none of the inputs (checked).
    let (x, scale, offset, out) = unsafe {
        (
            slice::from_raw_parts(x, n_in),
            slice::from_raw_parts(kernel, layer.kernel_len),
            slice::from_raw_parts(bias, layer.bias_len),
            slice::from_raw_parts_mut(out_mut, layer.out_len),
        )
    };
    kind.forward_f32(x, scale, Some(offset), out, &linear)
}

/// `anne_forward`: a chain of layers of one dtype (the first layer's),
/// each checked, then run.
///
/// # Safety
/// `x` points to `n_in` values of the first layer's dtype; `layers` to
/// `n_layers` `anne_layer_t`, each with pointers as `anne.h` requires them;
/// `failed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_forward(
    x: *const c_void,
    n_in: usize,
    layers: *const anne_layer_t,
    n_layers: usize,
    failed: *mut usize,
) -> i32 {
    let fail = |i: usize, status: Status| {
        if !failed.is_null() {
            // SAFETY: failed is non-null and writable by the contract.
            unsafe { failed.write_unaligned(i) };
        }
        status.code()
    };
    if x.is_null() || layers.is_null() {
        return fail(0, Status::Null);
    }
    if !(layers as usize).is_multiple_of(align_of::<anne_layer_t>()) {
        return fail(0, Status::Align);
    }
    if n_layers == 0 || n_layers > (isize::MAX as usize) / size_of::<anne_layer_t>() {
        return fail(0, Status::Size);
    }
    // SAFETY: layers is non-null, aligned, n_layers long (contract) and its
    // byte size fits an isize; nothing writes to it during this call.
    let layers = unsafe { slice::from_raw_parts(layers, n_layers) };
    let dtype = layers[0].dtype;
    let x_ok = if dtype == ANNE_DTYPE_S8 as u32 {
        buffer_ok(x as *const i8, n_in, Status::XSize)
    } else {
        float_buffer_ok(x as *const f32, n_in, Status::XSize)
    };
    if let Err(status) = x_ok {
        return fail(0, status);
    }
    let (mut src, mut n_src) = (x as *const f32, n_in);
    for (i, layer) in layers.iter().enumerate() {
        // A layer reads its input as values of its own dtype: the chain's.
        if layer.dtype != dtype {
            return fail(i, Status::Kind);
        }
        // SAFETY: src is non-null and n_src values of the chain's dtype
        // long (aligned for it): x (checked above) or the previous layer's
        // out (checked by run_layer); the layer's pointers are as the
        // contract says.
        if let Err(status) = unsafe { run_layer(src, n_src, layer) } {
            return fail(i, status);
        }
        (src, n_src) = (layer.out as *const f32, layer.out_len);
    }
    ANNE_OK
}

/// `anne_argmax_f32`: index of the largest value of `buf[0..n)`.
///
/// # Safety
/// `buf` points to `n` readable floats; `index` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_argmax_f32(buf: *const f32, n: usize, index: *mut usize) -> i32 {
    if buf.is_null() || index.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = float_buffer_ok(buf, n, Status::Size).and_then(|()| {
        // SAFETY: buf is non-null, aligned and n floats long (contract).
        argmax_f32(unsafe { slice::from_raw_parts(buf, n) })
    });
    match result {
        Ok(i) => {
            // SAFETY: index is non-null and writable by the contract.
            unsafe { index.write_unaligned(i) };
            ANNE_OK
        }
        Err(status) => status.code(),
    }
}

