//! Dense (fully connected) layer, float32.
//!
//! Two kernels compute the same layer:
//! - [`dense_f32_reference`]: the plain float32 loop (multiply, add, in input
//!   order), fastest where float32 arithmetic is in hardware;
//! - [`dense_f32_wide`]: each pre-activation `x . kernel[:, j] + bias[j]` is
//!   summed in a 64-bit integer ([`crate::math::wide`]) and rounded once to
//!   float32. On a CPU without an FPU it is several times faster than the
//!   soft-float loop, and more accurate: within `(n + 1) * 2^-52` of the
//!   largest term before its one rounding.
//!
//! - [`dense_f32_blocked`]: the reference kernel's arithmetic, in the same
//!   order (so the same bits), eight columns at a time: each kernel row is
//!   read once per block, contiguously, and the eight sums stay in
//!   registers. Where float32 is in hardware (the Cortex-M4F's FPU) that is
//!   a load and a multiply-accumulate per weight. It multiplies and adds
//!   (VMLA rounds the product, as Keras's float32 matmul does on most
//!   backends) rather than fusing them (VFMA): a fused sum would be closer
//!   to the exact one but differ from the reference in the last bits.
//!
//! [`dense_f32`] picks the wide kernel on bare-metal targets without an FPU
//! (src/math/mod.rs's [`DENSE_PATH`]), the blocked one on bare-metal targets
//! with one, and the reference kernel otherwise; all are
//! public and tested on every host.

use crate::activation::{apply, apply_other, sigmoid, Activation, Common};
use crate::math::matvec::{blocked_fill, sequential_dot, wide_fill};
pub use crate::math::matvec::{BLOCK_COLUMNS, DECODE_MIN_MACS};
use crate::math::wide::WideDot;
use crate::math::{DensePath, DENSE_PATH};
use crate::Status;

/// Keras `Dense`: `out = act(x . kernel + bias)`.
///
/// - `x`: `n_in` inputs (`n_in >= 1`).
/// - `kernel`: Keras layout, `n_in` rows by `units` columns, row-major
///   (`kernel[i * units + j]` connects input `i` to unit `j`); `units` is
///   `kernel.len() / n_in` and must be >= 1 and divide exactly.
/// - `bias`: `units` values, or `None` (`use_bias=False`).
/// - `out`: `units` values, or `units / 2` for glu (`units` even).
///
/// glu pairs column `j` with column `j + units / 2` so it needs no scratch
/// memory; the vector activations (softmax, log_softmax, sparsemax) run over
/// `out` once it is full. Nothing is written unless every check passes.
///
/// The pre-activations are [`dense_f32_wide`]'s on bare-metal targets
/// without hardware float, [`dense_f32_reference`]'s elsewhere.
pub fn dense_f32(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let units = check(x, kernel, bias, out, act)?;
    run(x, kernel, bias, out, act, units)
}

/// Runs the layer on arguments that [`check`] passed (`units` is its
/// result): the chain of `crate::ffi::anne_forward` checks each layer
/// once, then runs it through here.
pub(crate) fn run(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
    units: usize,
) -> Result<(), Status> {
    match DENSE_PATH {
        DensePath::Wide => run_wide(x, kernel, bias, out, act, units),
        DensePath::Blocked => run_blocked(x, kernel, bias, out, act, units),
        DensePath::Reference => run_reference(x, kernel, bias, out, act, units),
    }
}

/// [`run`] for a [`Common`] activation, which needs no check and gives
/// `units = out.len()` outputs: the chain's fast path. (Inlined: in the
/// chain the compiler then knows the sizes it checks.)
#[inline(always)]
pub(crate) fn run_common(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    common: Common,
) -> Result<(), Status> {
    match DENSE_PATH {
        DensePath::Wide => {
            if let Some(dot) = WideDot::new(x, kernel, out.len()) {
                wide_fill(&dot, x, kernel, bias, out, Some(common));
                return Ok(());
            }
        }
        DensePath::Blocked => {
            blocked_fill(x, kernel, bias, out, |v| common.apply(v));
            return Ok(());
        }
        DensePath::Reference => {}
    }
    let units = out.len();
    run_reference(x, kernel, bias, out, &common.activation(), units)
}

/// `out = x . kernel + bias` for the training loop, whose sizes are
/// checked: [`run_common`] for linear, with, where the caller has checked
/// that `kernel` holds no NaN or ±inf, the wide kernel's look at the rows
/// of zero inputs skipped. (Its own copy, so that the chain's is as before.)
#[inline(never)]
pub(crate) fn run_linear(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    kernel_finite: bool,
) -> Result<(), Status> {
    if matches!(DENSE_PATH, DensePath::Wide) && kernel_finite {
        if let Some(dot) = WideDot::with_finite_kernel(x, kernel, out.len()) {
            wide_fill(&dot, x, kernel, bias, out, None);
            return Ok(());
        }
    }
    run_common(x, kernel, bias, out, Common::Linear)
}

/// Checks the sizes and the activation; returns `units`.
pub(crate) fn check(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &[f32],
    act: &Activation,
) -> Result<usize, Status> {
    let units = check_sizes(
        x.len(),
        kernel.len(),
        bias.map(<[f32]>::len),
        out.len(),
        act,
    )?;
    act.validate()?;
    Ok(units)
}

/// The size checks of [`check`] on lengths alone, in the header's order
/// (x, kernel, out, bias): the units, or the first size that is wrong. The
/// C ABI's chain uses it to say why a layer was refused.
pub(crate) fn check_sizes(
    n_in: usize,
    kernel_len: usize,
    bias_len: Option<usize>,
    out_len: usize,
    act: &Activation,
) -> Result<usize, Status> {
    if n_in == 0 {
        return Err(Status::XSize);
    }
    let units = kernel_len / n_in;
    if units == 0 || !kernel_len.is_multiple_of(n_in) {
        return Err(Status::KernelSize);
    }
    let outputs = act.outputs(units).map_err(|_| Status::KernelSize)?;
    if out_len != outputs {
        return Err(Status::OutSize);
    }
    if bias_len.is_some_and(|b| b != units) {
        return Err(Status::BiasSize);
    }
    Ok(units)
}

/// Fills `out` from the pre-activations and applies `act` (checked already).
fn finish(
    out: &mut [f32],
    act: &Activation,
    mut pre_activation: impl FnMut(usize) -> f32,
) -> Result<(), Status> {
    if let Activation::Glu = act {
        let half = out.len();
        for (j, o) in out.iter_mut().enumerate() {
            *o = pre_activation(j) * sigmoid(pre_activation(j + half));
        }
        return Ok(());
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = pre_activation(j);
    }
    if let Activation::Linear = act {
        return Ok(());
    }
    apply(out, act).map(|_| ())
}

/// [`dense_f32`] with the plain float32 kernel: each pre-activation is
/// accumulated in float32 in input order `i = 0..n_in`, then the bias is
/// added (Keras: `matmul`, then `add`).
pub fn dense_f32_reference(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let units = check(x, kernel, bias, out, act)?;
    run_reference(x, kernel, bias, out, act, units)
}

#[inline(never)]
fn run_reference(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
    units: usize,
) -> Result<(), Status> {
    finish(out, act, |j| {
        let acc = sequential_dot(x, kernel, units, j);
        match bias.and_then(|b| b.get(j)) {
            Some(b) => acc + b,
            None => acc,
        }
    })
}

/// [`dense_f32`] with the reference kernel's sums, in its order (the same
/// bits), computed [`BLOCK_COLUMNS`] columns at a time: each row of the
/// kernel is read once per block, and the block's sums stay in registers.
pub fn dense_f32_blocked(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let units = check(x, kernel, bias, out, act)?;
    run_blocked(x, kernel, bias, out, act, units)
}

fn run_blocked(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
    units: usize,
) -> Result<(), Status> {
    // glu (two columns per output) takes the reference kernel's path.
    if matches!(act, Activation::Glu) || units != out.len() {
        return run_reference(x, kernel, bias, out, act, units);
    }
    let common = Common::of(act);
    match common {
        Some(c) => blocked_fill(x, kernel, bias, out, |v| c.apply(v)),
        None => {
            blocked_fill(x, kernel, bias, out, |v| v);
            return apply_other(out, act).map(|_| ());
        }
    }
    Ok(())
}

/// [`dense_f32`] with [`WideDot`]'s sums: each pre-activation is
/// `round(x . kernel[:, j] + bias[j])`, summed in a 64-bit integer and
/// rounded once (nearest, ties to even; `+0.0` for zero), within
/// `(n + 1) * 2^-52` of the largest term before that (`n` nonzero inputs).
/// Keras rounds the dot product, then adds the bias: the two can differ in
/// the last bit. IEEE special values keep their float32 meaning: a NaN or
/// ±inf (or a subnormal number) in `x`, or a NaN or ±inf in a kernel row
/// whose input is zero, makes the whole call [`dense_f32_reference`]'s; a
/// NaN or ±inf in column `j` of another row, or in `bias[j]`, makes that
/// column the float32 `x . kernel[:, j] + bias[j]`. A sum beyond float32's
/// range gives ±inf where float32 arithmetic may give NaN (`inf - inf`).
/// glu, which pairs two columns per output, is left to the reference kernel.
///
/// Time: one integer multiply-add per nonzero input and column; zero inputs
/// cost nothing. Stack: 8 bytes per input up to 1 KB (see [`DECODE_MIN_MACS`]).
pub fn dense_f32_wide(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let units = check(x, kernel, bias, out, act)?;
    run_wide(x, kernel, bias, out, act, units)
}

fn run_wide(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
    units: usize,
) -> Result<(), Status> {
    // glu (two columns per output) takes the reference kernel's path.
    if let (false, Some(dot)) = (
        matches!(act, Activation::Glu),
        WideDot::new(x, kernel, units),
    ) {
        // The common activations are applied to each output as it is
        // computed, the others once out is full.
        let common = Common::of(act);
        wide_fill(&dot, x, kernel, bias, out, common);
        return match common {
            Some(_) => Ok(()),
            None => apply_other(out, act).map(|_| ()),
        };
    }
    run_reference(x, kernel, bias, out, act, units)
}

/// Dense backward for one sample, Keras layout (`kernel[i * units + j]`):
/// `gk += scale * outer(x, dz)`, `gb += scale * dz` (if given), and
/// `dx = kernel · dz` (if given; not scaled). `scale` is 1 / batch size, so
/// that a batch's gradients accumulate to Keras's mean.
pub fn dense_backward_f32(
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    scale: f32,
    gk: &mut [f32],
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    let units = dz.len();
    let n = x.len().checked_mul(units).ok_or(Status::Size)?;
    if units == 0 || x.is_empty() || kernel.len() != n || gk.len() != n {
        return Err(Status::Size);
    }
    if gb.as_ref().is_some_and(|b| b.len() != units)
        || dx.as_ref().is_some_and(|d| d.len() != x.len())
    {
        return Err(Status::Size);
    }
    for (row, &xi) in gk.chunks_exact_mut(units).zip(x) {
        let s = xi * scale;
        if s != 0.0 {
            for (g, &d) in row.iter_mut().zip(dz) {
                *g += s * d;
            }
        }
    }
    if let Some(gb) = gb {
        for (g, &d) in gb.iter_mut().zip(dz) {
            *g += scale * d;
        }
    }
    if let Some(dx) = dx {
        for (out, row) in dx.iter_mut().zip(kernel.chunks_exact(units)) {
            *out = row.iter().zip(dz).map(|(k, d)| k * d).sum();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINEAR: Activation = Activation::Linear;

    #[test]
    fn keras_layout_and_bias() {
        // x = [1, 2], kernel 2x3 row-major, bias [0.5, 0, -1].
        let x = [1.0f32, 2.0];
        let kernel = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bias = [0.5f32, 0.0, -1.0];
        let mut out = [0.0f32; 3];
        dense_f32(&x, &kernel, Some(&bias), &mut out, &LINEAR).unwrap();
        assert_eq!(out, [9.5, 12.0, 14.0]);
        dense_f32(&x, &kernel, None, &mut out, &LINEAR).unwrap();
        assert_eq!(out, [9.0, 12.0, 15.0]);
    }

    #[test]
    fn size_errors_leave_out_alone() {
        let x = [1.0f32, 2.0];
        let kernel = [1.0f32; 6];
        let mut out = [7.0f32; 3];
        let (kernel_size, out_size) = (Err(Status::KernelSize), Err(Status::OutSize));
        assert_eq!(
            dense_f32(&[], &kernel, None, &mut out, &LINEAR),
            Err(Status::XSize)
        );
        assert_eq!(
            dense_f32(&x, &kernel[..5], None, &mut out, &LINEAR),
            kernel_size
        );
        assert_eq!(dense_f32(&x, &[], None, &mut out, &LINEAR), kernel_size);
        assert_eq!(
            dense_f32(&x, &kernel, Some(&[0.0; 2]), &mut out, &LINEAR),
            Err(Status::BiasSize)
        );
        assert_eq!(
            dense_f32(&x, &kernel, None, &mut out[..2], &LINEAR),
            out_size
        );
        // glu: 3 units is odd; 4 units need 2 outputs.
        assert_eq!(
            dense_f32(&x, &kernel, None, &mut out[..1], &Activation::Glu),
            kernel_size
        );
        assert_eq!(
            dense_f32(&x, &[1.0; 8], None, &mut out, &Activation::Glu),
            out_size
        );
        assert_eq!(
            dense_f32(
                &x,
                &kernel,
                None,
                &mut out,
                &Activation::Squareplus { b: -1.0 }
            ),
            Err(Status::Param)
        );
        assert_eq!(out, [7.0; 3]);
    }

    #[test]
    fn glu_pairs_column_j_with_j_plus_half() {
        // units = 4: pre-activations [1, 2, 0, 100] -> [1 * 0.5, 2 * ~1].
        let x = [1.0f32];
        let kernel = [1.0f32, 2.0, 0.0, 100.0];
        let mut out = [0.0f32; 2];
        dense_f32(&x, &kernel, None, &mut out, &Activation::Glu).unwrap();
        assert_eq!(out, [0.5, 2.0]);
    }

    #[test]
    fn softmax_after_fill() {
        let x = [1.0f32];
        let kernel = [0.0f32, 0.0];
        let mut out = [0.0f32; 2];
        dense_f32(&x, &kernel, None, &mut out, &Activation::Softmax).unwrap();
        assert_eq!(out, [0.5, 0.5]);
    }
}
