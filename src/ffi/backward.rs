//! The training kernels' entry points: `anne_layer_backward_f32`,
//! `anne_dense_backward_f32`, `anne_sgd_f32`, `anne_adam_f32`.

use super::check::checked;
use crate::abi::*;
use crate::layers::dense::dense_backward_f32;
use crate::layers::{Op, Weights};
use crate::train::{adam, sgd};
use crate::Status;
use core::slice;

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
        let spec = Op::from_params(layer.kind, &layer.params)?;
        let layer_kernel = layer.kernel as *const f32;
        checked(x, n_in, &[])?;
        checked(dy, n_dy, &[])?;
        // The kernel (Conv1D's, or the affine layer's scale) and the
        // length of a filter's gradient row (gb).
        let (kernel_len, filters) = spec.grad_lens(layer.kernel_len)?;
        if kernel_len != 0 {
            checked(layer_kernel, kernel_len, &[])?;
        }
        let reads = [(x, n_in), (dy, n_dy), (layer_kernel, kernel_len)];
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
        let conv = spec.weights() == Weights::Trained;
        if (!conv && (dx.is_null() || !gk.is_null() || !gb.is_null()))
            || (conv && layer.kernel.is_null())
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
            unsafe { slice::from_raw_parts(layer_kernel, kernel_len) }
        };
        // SAFETY: as above.
        let gk = (gk_len != 0).then(|| unsafe { slice::from_raw_parts_mut(gk, gk_len) });
        // SAFETY: as above.
        let gb = (gb_len != 0).then(|| unsafe { slice::from_raw_parts_mut(gb, gb_len) });
        // SAFETY: as above.
        let dx = (dx_len != 0).then(|| unsafe { slice::from_raw_parts_mut(dx, dx_len) });
        spec.backward_f32(x, kernel, dy, scale, gk, gb, dx)
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
pub(crate) fn step_status(result: Result<bool, Status>, finite: *mut u8) -> i32 {
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

