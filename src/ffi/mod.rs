//! The C ABI of `c_glue/anne.h`: the only module with `unsafe`.
//!
//! Each function checks its pointers (NULL is [`ANNE_ERR_NULL`]) and lengths,
//! builds each slice once, calls the safe API and returns a status code
//! that says exactly what was refused (see the header's list):
//! - every `float *` must be aligned for `float` (4 bytes): a misaligned
//!   buffer is `ANNE_ERR_ALIGN`; a length whose byte size exceeds
//!   `isize::MAX` is the size error of that argument;
//! - an `out` that overlaps `x`, `kernel` or `bias` is `ANNE_ERR_OVERLAP`;
//! - a NULL `buf` is `ANNE_ERR_NULL` even when `n == 0`; `n == 0` with a
//!   valid pointer is `ANNE_OK` and does nothing (glu included).
//!
//! Nothing is written through any pointer unless the call returns `ANNE_OK`
//! (except `*n_out`, which `anne_activation_outputs` sets to 0 on odd glu).

mod activation;

use crate::abi::{
    anne_activation_t, anne_fit_t, anne_layer_t, anne_train_layer_t, ANNE_DTYPE_F32, ANNE_ERR_NULL,
    ANNE_LAYER_AFFINE, ANNE_LAYER_AVERAGE_POOLING1D, ANNE_LAYER_CONV1D, ANNE_LAYER_DENSE,
    ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D, ANNE_LAYER_GLOBAL_MAX_POOLING1D, ANNE_LAYER_MAX_POOLING1D,
    ANNE_METRIC_MAX, ANNE_OK,
};
use crate::activation::backward::activation_backward;
use crate::activation::Common;
use crate::layers::affine::{affine_backward_f32, affine_f32};
use crate::layers::conv1d::{self, Conv1d};
use crate::layers::dense;
use crate::layers::pool1d::{self, Pool, Pool1d};
use crate::layers::window::Padding;
use crate::layers::Op;
use crate::train;
use crate::layers::dense::dense_backward_f32;
use crate::train::{adam, sgd};
use crate::{activate_f32, argmax_f32, Activation, Status};
use core::mem::{align_of, size_of};
use core::slice;

/// Checks that `ptr` may be the start of `len` floats: aligned (else
/// [`Status::Align`]), and the byte size fits an `isize` (else `too_long`).
/// NULL is checked separately.
#[inline(always)]
fn float_buffer_ok(ptr: *const f32, len: usize, too_long: Status) -> Result<(), Status> {
    if !(ptr as usize).is_multiple_of(align_of::<f32>()) {
        return Err(Status::Align);
    }
    if len > (isize::MAX as usize) / size_of::<f32>() {
        return Err(too_long);
    }
    Ok(())
}

/// True when the byte ranges of `a[..a_len]` and `b[..b_len]` intersect.
fn overlaps(a: *const f32, a_len: usize, b: *const f32, b_len: usize) -> bool {
    let (a0, b0) = (a as usize, b as usize);
    let a1 = a0 + a_len * size_of::<f32>();
    let b1 = b0 + b_len * size_of::<f32>();
    a_len != 0 && b_len != 0 && a0 < b1 && b0 < a1
}

/// `anne_activation_default`: fills `*act` with `kind` and Keras's defaults.
///
/// # Safety
/// `act` is NULL or points to writable memory for one `anne_activation_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_activation_default(kind: u32, act: *mut anne_activation_t) -> i32 {
    if act.is_null() {
        return ANNE_ERR_NULL;
    }
    match Activation::keras_default(kind) {
        Ok(default) => {
            // SAFETY: act is non-null and, by the contract, valid for writes.
            unsafe { act.write_unaligned(default.to_abi()) };
            ANNE_OK
        }
        Err(status) => status.code(),
    }
}

/// `anne_activation_outputs`: number of outputs of `kind` for `n` inputs.
///
/// # Safety
/// `n_out` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_activation_outputs(kind: u32, n: usize, n_out: *mut usize) -> i32 {
    if n_out.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = Activation::keras_default(kind).and_then(|act| act.outputs(n));
    match result {
        Ok(outputs) => {
            // SAFETY: n_out is non-null and, by the contract, writable.
            unsafe { n_out.write_unaligned(outputs) };
            ANNE_OK
        }
        Err(status) => {
            if status == Status::Size {
                // SAFETY: as above.
                unsafe { n_out.write_unaligned(0) };
            }
            status.code()
        }
    }
}

/// Reads `*act` (the kernels validate its parameters).
///
/// # Safety
/// `act` is non-null and points to a readable `anne_activation_t`, aligned
/// as every C pointer to one is.
unsafe fn read_activation(act: *const anne_activation_t) -> Result<Activation, Status> {
    // SAFETY: the caller guarantees a readable, aligned struct; every bit
    // pattern of its fields (integers and floats) is valid. (An aligned
    // read is a few loads; read_unaligned pulled in a 374-byte memcpy.)
    let raw = unsafe { act.read() };
    Activation::from_abi(&raw)
}

/// `anne_activate_f32`: applies `*act` in place to `buf[0..n)`.
///
/// # Safety
/// `buf` points to `n` floats, readable and writable; `act` to one
/// `anne_activation_t`. Either may be NULL (reported, not dereferenced).
#[no_mangle]
pub unsafe extern "C" fn anne_activate_f32(
    buf: *mut f32,
    n: usize,
    act: *const anne_activation_t,
) -> i32 {
    if buf.is_null() || act.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = float_buffer_ok(buf, n, Status::Size)
        // SAFETY: act is non-null and readable by the contract.
        .and_then(|()| unsafe { read_activation(act) })
        .and_then(|act| {
            // SAFETY: buf is non-null, aligned, n floats long (contract) and
            // its byte size fits an isize; no other reference to it exists
            // during this call.
            let buf = unsafe { slice::from_raw_parts_mut(buf, n) };
            activate_f32(buf, &act)
        });
    Status::code_of(result)
}

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
        kernel,
        kernel_len,
        bias,
        bias_len,
        out,
        out_len: n_out,
        // SAFETY: act is non-null, readable and aligned by the contract;
        // every bit pattern of its fields (integers and floats) is valid.
        act: unsafe { act.read() },
        params: [0; 6],
    };
    // SAFETY: x and the layer's pointers are as run_layer requires (contract).
    let result = float_buffer_ok(x, n_in, Status::XSize)
        .and_then(|()| unsafe { run_layer(x, n_in, &layer) });
    Status::code_of(result)
}

/// A checked layer's buffers as slices.
type Buffers<'a> = (&'a [f32], &'a [f32], Option<&'a [f32]>, &'a mut [f32]);

/// Checks the buffers of a dense layer of `units` columns reading `n_in`
/// floats at `x`: pointers, sizes and overlaps. Returns them as slices.
///
/// # Safety
/// As [`run_layer`]; the slices live while the layer runs, no longer.
#[inline(always)]
unsafe fn buffers<'a>(
    x: *const f32,
    n_in: usize,
    layer: &anne_layer_t,
    units: usize,
) -> Result<Buffers<'a>, Status> {
    if layer.kernel.is_null() || layer.out.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(layer.kernel, layer.kernel_len, Status::KernelSize)?;
    float_buffer_ok(layer.out, layer.out_len, Status::OutSize)?;
    if !layer.bias.is_null() {
        float_buffer_ok(layer.bias, layer.bias_len, Status::BiasSize)?;
    }
    let out = layer.out as *const f32;
    if n_in == 0
        || units == 0
        || n_in.checked_mul(units) != Some(layer.kernel_len)
        || (!layer.bias.is_null() && layer.bias_len != units)
        || overlaps(out, layer.out_len, x, n_in)
        || overlaps(out, layer.out_len, layer.kernel, layer.kernel_len)
        || (!layer.bias.is_null() && overlaps(out, layer.out_len, layer.bias, layer.bias_len))
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
            slice::from_raw_parts(layer.kernel, layer.kernel_len),
            (!layer.bias.is_null()).then(|| slice::from_raw_parts(layer.bias, layer.bias_len)),
            slice::from_raw_parts_mut(layer.out, layer.out_len),
        ))
    }
}

/// Why [`buffers`] refused a layer: the first of its sizes that is wrong
/// ([`dense::check_sizes`], with `units = kernel_len / n_in`), else the
/// overlap. Out of line: it only runs on an error.
#[cold]
#[inline(never)]
fn refusal(n_in: usize, layer: &anne_layer_t) -> Status {
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
unsafe fn run_layer(x: *const f32, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
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

/// [`run_layer`] for the kinds other than dense: Conv1D (its `params`:
/// in_channels, kernel_size, strides, dilation, padding) and the poolings
/// (channels, pool_size, strides, padding; global ones: channels).
///
/// # Safety
/// As [`run_layer`]; a pooling layer's kernel and bias are not read.
#[inline(never)]
unsafe fn run_other_layer(x: *const f32, n_in: usize, layer: &anne_layer_t) -> Result<(), Status> {
    if layer.dtype != ANNE_DTYPE_F32 as u32 {
        return Err(Status::Kind);
    }
    let spec = match spec_of(layer.kind, layer.params)? {
        Op::Affine(c) => {
            // SAFETY: as this function's contract.
            return unsafe { run_affine(x, n_in, layer, c) };
        }
        spec => spec,
    };
    if layer.out.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(layer.out, layer.out_len, Status::OutSize)?;
    let out = layer.out as *const f32;
    let spec = match spec {
        Op::Pool(spec) => {
            let shape = spec.check(n_in, layer.out_len)?;
            if overlaps(out, layer.out_len, x, n_in) {
                return Err(Status::Overlap);
            }
            // SAFETY: x and out are non-null, aligned and valid for their
            // lengths (contract, checked), and do not overlap.
            let (x, out) = unsafe {
                (
                    slice::from_raw_parts(x, n_in),
                    slice::from_raw_parts_mut(layer.out, layer.out_len),
                )
            };
            pool1d::run_pool1d(&spec, shape, x, out);
            return Ok(());
        }
        Op::Conv(spec) => spec,
        Op::Affine(_) | Op::Dense => return Err(Status::Kind),
    };
    let act = Activation::from_abi(&layer.act)?;
    if layer.kernel.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(layer.kernel, layer.kernel_len, Status::KernelSize)?;
    if !layer.bias.is_null() {
        float_buffer_ok(layer.bias, layer.bias_len, Status::BiasSize)?;
    }
    let bias_len = (!layer.bias.is_null()).then_some(layer.bias_len);
    let shape = spec.check(n_in, layer.kernel_len, bias_len, layer.out_len, &act)?;
    if overlaps(out, layer.out_len, x, n_in)
        || overlaps(out, layer.out_len, layer.kernel, layer.kernel_len)
        || overlaps(out, layer.out_len, layer.bias, bias_len.unwrap_or(0))
    {
        return Err(Status::Overlap);
    }
    // SAFETY: every pointer is non-null (or NULL and unused), aligned and
    // valid for its length (contract, checked); out overlaps none of the
    // layer's inputs.
    let (x, kernel, bias, out) = unsafe {
        (
            slice::from_raw_parts(x, n_in),
            slice::from_raw_parts(layer.kernel, layer.kernel_len),
            bias_len.map(|n| slice::from_raw_parts(layer.bias, n)),
            slice::from_raw_parts_mut(layer.out, layer.out_len),
        )
    };
    conv1d::run_conv1d(&spec, shape, x, kernel, bias, out, &act)
}

/// [`run_layer`] for an affine layer of `c` channels (its params, checked
/// by [`spec_of`]): kernel = scale, bias = offset (`c` values each).
///
/// # Safety
/// As [`run_layer`].
unsafe fn run_affine(
    x: *const f32,
    n_in: usize,
    layer: &anne_layer_t,
    c: usize,
) -> Result<(), Status> {
    if layer.kernel.is_null() || layer.bias.is_null() || layer.out.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(layer.kernel, layer.kernel_len, Status::KernelSize)?;
    float_buffer_ok(layer.bias, layer.bias_len, Status::BiasSize)?;
    float_buffer_ok(layer.out, layer.out_len, Status::OutSize)?;
    if layer.kernel_len != c {
        return Err(Status::KernelSize);
    }
    if n_in == 0 || !n_in.is_multiple_of(c) {
        return Err(Status::XSize);
    }
    if layer.out_len != n_in {
        return Err(Status::OutSize);
    }
    if layer.bias_len != c {
        return Err(Status::BiasSize);
    }
    let out = layer.out as *const f32;
    if overlaps(out, n_in, x, n_in)
        || overlaps(out, n_in, layer.kernel, c)
        || overlaps(out, n_in, layer.bias, c)
    {
        return Err(Status::Overlap);
    }
    // SAFETY: non-null, aligned, valid for their lengths (contract,
    // checked), and out overlaps none of the inputs (checked).
    let (x, scale, offset, out) = unsafe {
        (
            slice::from_raw_parts(x, n_in),
            slice::from_raw_parts(layer.kernel, c),
            slice::from_raw_parts(layer.bias, c),
            slice::from_raw_parts_mut(layer.out, n_in),
        )
    };
    affine_f32(x, scale, offset, out)
}

/// What a layer of kind `kind` computes: [`spec_of`], or dense (whose
/// params are not read).
fn op_of(kind: u32, params: [u32; 6]) -> Result<Op, Status> {
    if kind == ANNE_LAYER_DENSE as u32 {
        return Ok(Op::Dense);
    }
    spec_of(kind, params)
}

/// A Conv1D's `params` (in_channels, kernel_size, strides, dilation,
/// padding), a pooling's (channels, pool_size, strides, padding; global
/// ones: channels) or an affine layer's (channels).
fn spec_of(kind: u32, params: [u32; 6]) -> Result<Op, Status> {
    let p = params.map(|v| v as usize);
    let kind = kind as i32;
    let pool = match kind {
        ANNE_LAYER_AFFINE => {
            if p[0] == 0 || p[1..].iter().any(|&v| v != 0) {
                return Err(Status::LayerParam);
            }
            return Ok(Op::Affine(p[0]));
        }
        ANNE_LAYER_CONV1D => {
            return Ok(Op::Conv(Conv1d {
                in_channels: p[0],
                kernel_size: p[1],
                strides: p[2],
                dilation: p[3],
                padding: Padding::from_code(p[4] as u32)?,
            }))
        }
        ANNE_LAYER_MAX_POOLING1D | ANNE_LAYER_GLOBAL_MAX_POOLING1D => Pool::Max,
        ANNE_LAYER_AVERAGE_POOLING1D | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D => Pool::Average,
        _ => return Err(Status::Kind),
    };
    let global = matches!(
        kind,
        ANNE_LAYER_GLOBAL_MAX_POOLING1D | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D
    );
    Ok(Op::Pool(Pool1d {
        pool,
        global,
        channels: p[0],
        pool_size: p[1],
        strides: p[2],
        padding: Padding::from_code(p[3] as u32)?,
    }))
}

/// `anne_layer_backward_f32`: see `anne.h`.
///
/// # Safety
/// `layer` points to one aligned `anne_layer_t` whose kernel (unless NULL)
/// is valid for `kernel_len` floats; `x` to `n_in` floats, `dy` to `n_dy`;
/// `gk` (unless NULL) to `kernel_len` writable floats, `gb` (unless NULL)
/// to one per filter, `dx` (unless NULL) to `n_in`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn anne_layer_backward_f32(
    x: *const f32,
    n_in: usize,
    layer: *const anne_layer_t,
    dy: *const f32,
    n_dy: usize,
    scale: f32,
    gk: *mut f32,
    gb: *mut f32,
    dx: *mut f32,
) -> i32 {
    let result = (|| {
        if layer.is_null() {
            return Err(Status::Null);
        }
        if !(layer as usize).is_multiple_of(align_of::<anne_layer_t>()) {
            return Err(Status::Align);
        }
        // SAFETY: non-null, aligned and readable (contract).
        let layer = unsafe { &*layer };
        if layer.dtype != ANNE_DTYPE_F32 as u32 {
            return Err(Status::Kind);
        }
        let spec = spec_of(layer.kind, layer.params)?;
        checked(x, n_in, &[])?;
        checked(dy, n_dy, &[])?;
        // The kernel (Conv1D's, or the affine layer's scale) and the
        // length of a filter's gradient row (gb).
        let (kernel_len, filters) = match spec {
            Op::Conv(c) => {
                let rows = c.kernel_size.saturating_mul(c.in_channels);
                (
                    layer.kernel_len,
                    layer.kernel_len.checked_div(rows).unwrap_or(0),
                )
            }
            Op::Affine(c) if layer.kernel_len == c => (c, 0),
            Op::Affine(_) => return Err(Status::KernelSize),
            Op::Pool(_) => (0, 0),
            Op::Dense => return Err(Status::Kind),
        };
        if kernel_len != 0 {
            checked(layer.kernel, kernel_len, &[])?;
        }
        let reads = [(x, n_in), (dy, n_dy), (layer.kernel, kernel_len)];
        let len = |p: *mut f32, n: usize| if p.is_null() { 0 } else { n };
        let (gk_len, gb_len, dx_len) = (len(gk, kernel_len), len(gb, filters), len(dx, n_in));
        let mut seen = [(x, 0); 6];
        seen[..3].copy_from_slice(&reads);
        for (i, (p, n)) in [(gk, gk_len), (gb, gb_len), (dx, dx_len)]
            .into_iter()
            .enumerate()
        {
            if !p.is_null() {
                checked(p, n, &seen[..3 + i])?;
            }
            seen[3 + i] = (p as *const f32, n);
        }
        let needs_dx = !matches!(spec, Op::Conv(_));
        if (needs_dx && (dx.is_null() || !gk.is_null() || !gb.is_null()))
            || (matches!(spec, Op::Conv(_)) && layer.kernel.is_null())
        {
            return Err(Status::Null);
        }
        // SAFETY: every pointer used is non-null, aligned and as long as
        // the contract says; the written ones overlap no other (checked).
        let (x, dy) = unsafe {
            (
                slice::from_raw_parts(x, n_in),
                slice::from_raw_parts(dy, n_dy),
            )
        };
        let kernel = if kernel_len == 0 {
            &[]
        } else {
            // SAFETY: as above.
            unsafe { slice::from_raw_parts(layer.kernel, kernel_len) }
        };
        // SAFETY: as above.
        let gk = (gk_len != 0).then(|| unsafe { slice::from_raw_parts_mut(gk, gk_len) });
        // SAFETY: as above.
        let gb = (gb_len != 0).then(|| unsafe { slice::from_raw_parts_mut(gb, gb_len) });
        // SAFETY: as above.
        let dx = (dx_len != 0).then(|| unsafe { slice::from_raw_parts_mut(dx, dx_len) });
        match spec {
            Op::Conv(c) => conv1d::conv1d_backward_f32(&c, x, kernel, dy, scale, gk, gb, dx),
            Op::Pool(p) => pool1d::pool1d_backward_f32(&p, x, dy, dx.ok_or(Status::Null)?),
            Op::Affine(_) => affine_backward_f32(dy, kernel, dx.ok_or(Status::Null)?),
            Op::Dense => Err(Status::Kind),
        }
    })();
    Status::code_of(result)
}

/// `anne_forward_f32`: a chain of layers, each checked, then run.
///
/// # Safety
/// `x` points to `n_in` floats; `layers` to `n_layers` `anne_layer_t`, each
/// with pointers as `anne_dense_f32` requires them; `failed` is NULL or
/// points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_forward_f32(
    x: *const f32,
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
    if let Err(status) = float_buffer_ok(x, n_in, Status::XSize) {
        return fail(0, status);
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
    let (mut src, mut n_src) = (x, n_in);
    for (i, layer) in layers.iter().enumerate() {
        // SAFETY: src is non-null, aligned and n_src floats long: x (checked
        // above) or the previous layer's out (checked by run_layer); the
        // layer's pointers are as the contract says.
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

/// Checks `n` floats at `p`: not NULL, aligned, a byte size that fits, and
/// no overlap with any of `others` (pointer, length).
fn checked(p: *const f32, n: usize, others: &[(*const f32, usize)]) -> Result<(), Status> {
    if p.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(p, n, Status::Size)?;
    if others.iter().any(|&(q, m)| overlaps(p, n, q, m)) {
        return Err(Status::Overlap);
    }
    Ok(())
}

/// `anne_activation_backward_f32`: see `anne.h`.
///
/// # Safety
/// `act` points to one aligned `anne_activation_t`; `z` and `dz` to `n_z`
/// floats, `y` and `dy` to `n_y` (dz writable).
#[no_mangle]
pub unsafe extern "C" fn anne_activation_backward_f32(
    act: *const anne_activation_t,
    z: *const f32,
    n_z: usize,
    y: *const f32,
    n_y: usize,
    dy: *const f32,
    dz: *mut f32,
) -> i32 {
    if act.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = (|| {
        for (p, n) in [(z, n_z), (y, n_y), (dy, n_y)] {
            checked(p, n, &[])?;
        }
        checked(dz, n_z, &[(z, n_z), (y, n_y), (dy, n_y)])?;
        // SAFETY: act is non-null, readable and aligned (contract).
        let act = unsafe { read_activation(act) }?;
        // SAFETY: each pointer is non-null, aligned and as long as the
        // contract says; dz overlaps none of the others (checked).
        let (z, y, dy, dz) = unsafe {
            (
                slice::from_raw_parts(z, n_z),
                slice::from_raw_parts(y, n_y),
                slice::from_raw_parts(dy, n_y),
                slice::from_raw_parts_mut(dz, n_z),
            )
        };
        activation_backward(&act, z, y, dy, dz)
    })();
    Status::code_of(result)
}

/// `anne_dense_backward_f32`: see `anne.h`.
///
/// # Safety
/// `x` points to `n_in` floats, `kernel` and `gk` to `n_in * units`, `dz`
/// to `units`, `gb` (unless NULL) to `units`, `dx` (unless NULL) to `n_in`;
/// gk, gb and dx are writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn anne_dense_backward_f32(
    x: *const f32,
    n_in: usize,
    kernel: *const f32,
    dz: *const f32,
    units: usize,
    scale: f32,
    gk: *mut f32,
    gb: *mut f32,
    dx: *mut f32,
) -> i32 {
    let result = (|| {
        let n = n_in.checked_mul(units).ok_or(Status::Size)?;
        let inputs = [(x, n_in), (kernel, n), (dz, units)];
        for (p, len) in inputs {
            checked(p, len, &[])?;
        }
        checked(gk, n, &inputs)?;
        let gb_len = if gb.is_null() { 0 } else { units };
        let dx_len = if dx.is_null() { 0 } else { n_in };
        if !gb.is_null() {
            checked(gb, units, &[inputs[0], inputs[1], inputs[2], (gk, n)])?;
        }
        if !dx.is_null() {
            checked(
                dx,
                n_in,
                &[inputs[0], inputs[1], inputs[2], (gk, n), (gb, gb_len)],
            )?;
        }
        // SAFETY: every pointer is non-null (or NULL and not used), aligned
        // and as long as the contract says; the written ones overlap no
        // other (checked).
        let (x, kernel, dz, gk) = unsafe {
            (
                slice::from_raw_parts(x, n_in),
                slice::from_raw_parts(kernel, n),
                slice::from_raw_parts(dz, units),
                slice::from_raw_parts_mut(gk, n),
            )
        };
        // SAFETY: as above.
        let gb = (gb_len != 0).then(|| unsafe { slice::from_raw_parts_mut(gb, gb_len) });
        // SAFETY: as above.
        let dx = (dx_len != 0).then(|| unsafe { slice::from_raw_parts_mut(dx, dx_len) });
        dense_backward_f32(x, kernel, dz, scale, gk, gb, dx)
    })();
    Status::code_of(result)
}

/// The status of an optimizer step; `*finite` (unless NULL) says whether
/// every weight is finite after it.
fn step_status(result: Result<bool, Status>, finite: *mut u8) -> i32 {
    if let (Ok(ok), false) = (result, finite.is_null()) {
        // SAFETY: finite is non-null and writable by the callers' contract.
        unsafe { finite.write(ok as u8) };
    }
    Status::code_of(result)
}

/// `anne_sgd_f32`: see `anne.h`.
///
/// # Safety
/// `w` (writable) and `g` point to `n` floats, `m` (writable) to `n` or is
/// NULL; `finite` is NULL or points to a writable byte.
#[no_mangle]
pub unsafe extern "C" fn anne_sgd_f32(
    w: *mut f32,
    g: *const f32,
    m: *mut f32,
    n: usize,
    learning_rate: f32,
    momentum: f32,
    nesterov: u8,
    finite: *mut u8,
) -> i32 {
    let result = (|| {
        checked(g, n, &[])?;
        checked(w, n, &[(g, n)])?;
        let m_len = if m.is_null() { 0 } else { n };
        if !m.is_null() {
            checked(m, n, &[(g, n), (w, n)])?;
        }
        // SAFETY: non-null, aligned, n floats each; w and m overlap nothing.
        let (w, g) = unsafe { (slice::from_raw_parts_mut(w, n), slice::from_raw_parts(g, n)) };
        // SAFETY: as above.
        let m = (!m.is_null()).then(|| unsafe { slice::from_raw_parts_mut(m, m_len) });
        sgd(w, g, m, learning_rate, momentum, nesterov != 0)
    })();
    step_status(result, finite)
}

/// `anne_adam_f32`: see `anne.h`.
///
/// # Safety
/// `w`, `m`, `v` (writable) and `g` point to `n` floats each; `finite` is
/// NULL or points to a writable byte.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn anne_adam_f32(
    w: *mut f32,
    g: *const f32,
    m: *mut f32,
    v: *mut f32,
    n: usize,
    alpha: f32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    finite: *mut u8,
) -> i32 {
    let result = (|| {
        checked(g, n, &[])?;
        checked(w, n, &[(g, n)])?;
        checked(m, n, &[(g, n), (w, n)])?;
        checked(v, n, &[(g, n), (w, n), (m, n)])?;
        // SAFETY: non-null, aligned, n floats each; the written ones
        // overlap nothing (checked).
        let (w, g, m, v) = unsafe {
            (
                slice::from_raw_parts_mut(w, n),
                slice::from_raw_parts(g, n),
                slice::from_raw_parts_mut(m, n),
                slice::from_raw_parts_mut(v, n),
            )
        };
        adam(w, g, m, v, alpha, beta_1, beta_2, epsilon)
    })();
    step_status(result, finite)
}

/// The layers of `anne_fit_epoch_f32`, each built from its descriptor when
/// asked (one at a time: no two of them borrow the weights at once).
struct FitLayers<'a> {
    raw: &'a [anne_train_layer_t],
}

impl train::Layers for FitLayers<'_> {
    fn count(&self) -> usize {
        self.raw.len()
    }

    fn layer(&mut self, l: usize) -> Result<train::Layer<'_>, Status> {
        let d = self.raw.get(l).ok_or(Status::Size)?;
        let act = Activation::from_abi(&d.act)?;
        let (k, b) = (d.kernel_len, d.bias_len);
        // SAFETY: check_fit_layers() made sure that each pointer is non-null
        // (or NULL and not used), aligned, as long as its length, and that
        // no written buffer overlaps another; the slices made here live
        // only as long as the &mut self borrow, so none aliases another.
        let slice = |p: *mut f32, n: usize| {
            (!p.is_null()).then(|| unsafe { slice::from_raw_parts_mut(p, n) })
        };
        let op = op_of(d.kind, d.params)?;
        // (a pooling has no kernel: check_fit_buffers let it be NULL)
        let kernel = match op {
            Op::Pool(_) if d.kernel.is_null() => Some(&mut [][..]),
            _ => slice(d.kernel, k),
        };
        Ok(train::Layer {
            op,
            kernel: kernel.ok_or(Status::Null)?,
            bias: slice(d.bias, b),
            act,
            trainable: d.trainable != 0,
            slots: [
                slice(d.slots[0], k),
                slice(d.slots[1], k),
                slice(d.slots[2], b),
                slice(d.slots[3], b),
            ],
        })
    }
}

/// The buffers of a fit call, for the overlap check: (start, length in
/// floats, written). `i` runs over 6 per layer (kernel, bias, 4 slots),
/// then `extra`.
fn fit_buffer(
    layers: &[anne_train_layer_t],
    extra: &[(*const f32, usize, bool)],
    i: usize,
) -> (*const f32, usize, bool) {
    match layers.get(i / 6) {
        Some(d) => {
            let (p, n) = match i % 6 {
                0 => (d.kernel, d.kernel_len),
                1 => (d.bias, d.bias_len),
                j => (
                    d.slots.get(j - 2).copied().unwrap_or(core::ptr::null_mut()),
                    if j < 4 { d.kernel_len } else { d.bias_len },
                ),
            };
            (p as *const f32, if p.is_null() { 0 } else { n }, true)
        }
        None => extra
            .get(i - 6 * layers.len())
            .copied()
            .unwrap_or((core::ptr::null(), 0, false)),
    }
}

/// Checks a fit call's layers and buffers: every pointer given is aligned
/// and as long as its length fits; no written buffer overlaps another.
fn check_fit_buffers(
    layers: &[anne_train_layer_t],
    extra: &[(*const f32, usize, bool)],
) -> Result<(), Status> {
    let n = 6 * layers.len() + extra.len();
    for i in 0..n {
        let (p, len, _) = fit_buffer(layers, extra, i);
        if !p.is_null() {
            float_buffer_ok(p, len, Status::Size)?;
        }
    }
    for d in layers {
        let pooling = matches!(op_of(d.kind, d.params), Ok(Op::Pool(_)));
        if d.kernel.is_null() && !pooling {
            return Err(Status::Null);
        }
    }
    for i in 0..n {
        let (a, a_len, a_w) = fit_buffer(layers, extra, i);
        for j in i + 1..n {
            let (b, b_len, b_w) = fit_buffer(layers, extra, j);
            if (a_w || b_w) && overlaps(a, a_len, b, b_len) {
                return Err(Status::Overlap);
            }
        }
    }
    Ok(())
}

/// The layers of a fit call as a slice (NULL with n_layers == 0 is empty).
///
/// # Safety
/// `layers` is NULL or points to `n_layers` aligned descriptors.
unsafe fn fit_layers<'a>(
    layers: *const anne_train_layer_t,
    n_layers: usize,
) -> Result<&'a [anne_train_layer_t], Status> {
    if layers.is_null() {
        return Err(Status::Null);
    }
    if !(layers as usize).is_multiple_of(align_of::<anne_train_layer_t>()) {
        return Err(Status::Align);
    }
    if n_layers == 0 || n_layers > isize::MAX as usize / size_of::<anne_train_layer_t>() {
        return Err(Status::Size);
    }
    // SAFETY: non-null, aligned, n_layers readable descriptors (contract).
    Ok(unsafe { slice::from_raw_parts(layers, n_layers) })
}

/// `anne_fit_workspace`: see `anne.h`.
///
/// # Safety
/// `layers` points to `n_layers` descriptors whose buffers are as the
/// header says; `n_floats` and `failed` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anne_fit_workspace(
    layers: *const anne_train_layer_t,
    n_layers: usize,
    n_in: usize,
    batch_size: usize,
    n_floats: *mut usize,
    failed: *mut usize,
) -> i32 {
    let mut at = 0;
    let result = (|| {
        if n_floats.is_null() {
            return Err(Status::Null);
        }
        // SAFETY: as the contract says.
        let raw = unsafe { fit_layers(layers, n_layers) }?;
        check_fit_buffers(raw, &[])?;
        train::workspace_len(&mut FitLayers { raw }, n_in, batch_size, &mut at)
    })();
    // SAFETY: writable when non-null (contract).
    unsafe {
        if let Ok(n) = result {
            n_floats.write(n);
        }
        if !failed.is_null() {
            failed.write(at);
        }
    }
    Status::code_of(result)
}

fn fit_config(
    raw: &anne_fit_t,
) -> Result<
    (
        train::Loss,
        train::Optimizer,
        [train::Metric; ANNE_METRIC_MAX as usize],
        usize,
    ),
    Status,
> {
    use train::{Loss, Metric, Optimizer};
    let loss = match raw.loss {
        0 => Loss::MeanSquaredError,
        1 => Loss::MeanAbsoluteError,
        2 => Loss::BinaryCrossentropy,
        3 => Loss::CategoricalCrossentropy,
        4 => Loss::SparseCategoricalCrossentropy,
        _ => return Err(Status::Param),
    };
    let optimizer = match raw.optimizer {
        0 => Optimizer::Sgd {
            learning_rate: raw.learning_rate,
            momentum: raw.momentum,
            nesterov: raw.nesterov != 0,
        },
        1 => Optimizer::Adam {
            learning_rate: raw.learning_rate,
            beta_1: raw.beta_1,
            beta_2: raw.beta_2,
            epsilon: raw.epsilon,
        },
        _ => return Err(Status::Param),
    };
    let n = raw.n_metrics as usize;
    let mut metrics = [Metric::BinaryAccuracy; ANNE_METRIC_MAX as usize];
    if n > metrics.len() {
        return Err(Status::Size);
    }
    for (m, &code) in metrics.iter_mut().zip(&raw.metrics).take(n) {
        *m = match code {
            0 => Metric::BinaryAccuracy,
            1 => Metric::CategoricalAccuracy,
            2 => Metric::SparseCategoricalAccuracy,
            3 => Metric::MeanSquaredError,
            4 => Metric::MeanAbsoluteError,
            _ => return Err(Status::Param),
        };
    }
    Ok((loss, optimizer, metrics, n))
}

/// `anne_fit_epoch_f32`: see `anne.h`.
///
/// # Safety
/// `layers` points to `n_layers` descriptors whose buffers are as the
/// header says; `fit` to one `anne_fit_t`; `x`, `t`, `ws` and `sums` to
/// their lengths in floats, `order` (unless NULL) to `order_len` indices
/// (which must be `x_len / n_in`); `iterations` and `failed` are writable (`failed` may be NULL).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn anne_fit_epoch_f32(
    layers: *const anne_train_layer_t,
    n_layers: usize,
    fit: *const anne_fit_t,
    x: *const f32,
    x_len: usize,
    n_in: usize,
    t: *const f32,
    t_len: usize,
    order: *const u32,
    order_len: usize,
    ws: *mut f32,
    ws_len: usize,
    sums: *mut f32,
    n_sums: usize,
    iterations: *mut u32,
    failed: *mut usize,
) -> i32 {
    let mut at = 0;
    let result = (|| {
        if fit.is_null() || iterations.is_null() {
            return Err(Status::Null);
        }
        if !(fit as usize).is_multiple_of(align_of::<anne_fit_t>())
            || !(iterations as usize).is_multiple_of(align_of::<u32>())
        {
            return Err(Status::Align);
        }
        // SAFETY: non-null, aligned, readable (contract).
        let raw_fit = unsafe { fit.read() };
        let (loss, optimizer, metrics, n_metrics) = fit_config(&raw_fit)?;
        // SAFETY: as the contract says.
        let raw = unsafe { fit_layers(layers, n_layers) }?;
        if n_in == 0 {
            return Err(Status::XSize);
        }
        let n_rows = x_len / n_in;
        for (p, n) in [
            (x, x_len),
            (t, t_len),
            (ws as *const f32, ws_len),
            (sums as *const f32, n_sums),
        ] {
            checked(p, n, &[])?;
        }
        if !order.is_null() {
            if order_len != n_rows {
                return Err(Status::Size);
            }
            // (u32 has the alignment and size of f32)
            float_buffer_ok(order as *const f32, n_rows, Status::Size)?;
        }
        let order_ptr = if order.is_null() {
            core::ptr::null()
        } else {
            order as *const f32
        };
        let extra = [
            (x, x_len, false),
            (t, t_len, false),
            (order_ptr, if order.is_null() { 0 } else { n_rows }, false),
            (ws as *const f32, ws_len, true),
            (sums as *const f32, n_sums, true),
            (iterations as *const u32 as *const f32, 1, true),
        ];
        check_fit_buffers(raw, &extra)?;
        // SAFETY: each pointer is non-null, aligned and as long as the
        // contract says; the written ones overlap nothing (checked).
        let (x, t, ws, sums, order) = unsafe {
            (
                slice::from_raw_parts(x, x_len),
                slice::from_raw_parts(t, t_len),
                slice::from_raw_parts_mut(ws, ws_len),
                slice::from_raw_parts_mut(sums, n_sums),
                (!order.is_null()).then(|| slice::from_raw_parts(order, n_rows)),
            )
        };
        let run = train::Run {
            loss,
            metrics: metrics.get(..n_metrics).unwrap_or(&[]),
            optimizer,
            batch: raw_fit.batch_size as usize,
            train: raw_fit.train != 0,
            n_in,
            x,
            t,
            order,
        };
        // SAFETY: non-null, aligned, writable, overlapping nothing (checked).
        let iterations = unsafe { &mut *iterations };
        train::epoch(&mut FitLayers { raw }, &run, ws, sums, iterations, &mut at)
    })();
    if !failed.is_null() {
        // SAFETY: writable when non-null (contract).
        unsafe { failed.write(at) };
    }
    Status::code_of(result)
}

/// Compile-time check that each definition above has exactly the signature
/// that bindgen derived from the header's declaration.
#[allow(dead_code, unused_assignments)]
fn signatures_match_header() {
    use crate::abi as h;
    let mut f: unsafe extern "C" fn(_, _) -> _ = h::anne_activation_default;
    f = anne_activation_default;
    let mut f2: unsafe extern "C" fn(_, _, _) -> _ = h::anne_activation_outputs;
    f2 = anne_activation_outputs;
    let mut f3: unsafe extern "C" fn(_, _, _) -> _ = h::anne_activate_f32;
    f3 = anne_activate_f32;
    let mut f4: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _) -> _ = h::anne_dense_f32;
    f4 = anne_dense_f32;
    let mut f5: unsafe extern "C" fn(_, _, _) -> _ = h::anne_argmax_f32;
    f5 = anne_argmax_f32;
    let mut f6: unsafe extern "C" fn(_, _, _, _, _) -> _ = h::anne_forward_f32;
    f6 = anne_forward_f32;
    let mut f7: unsafe extern "C" fn(_, _, _, _, _, _, _) -> _ = h::anne_activation_backward_f32;
    f7 = anne_activation_backward_f32;
    let mut f8: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _) -> _ = h::anne_dense_backward_f32;
    f8 = anne_dense_backward_f32;
    let mut f9: unsafe extern "C" fn(_, _, _, _, _, _, _, _) -> _ = h::anne_sgd_f32;
    f9 = anne_sgd_f32;
    let mut f10: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _, _) -> _ = h::anne_adam_f32;
    f10 = anne_adam_f32;
    let mut f11: unsafe extern "C" fn(_, _, _, _, _, _) -> _ = h::anne_fit_workspace;
    f11 = anne_fit_workspace;
    let mut f12: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _) -> _ =
        h::anne_fit_epoch_f32;
    f12 = anne_fit_epoch_f32;
    let _ = (f, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12);
}
