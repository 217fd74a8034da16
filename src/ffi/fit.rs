//! The training loop's entry points: `anne_fit_workspace` and
//! `anne_fit_epoch_f32` (the layers built from their descriptors, the
//! loss, metric and optimizer codes read).

use super::check::{checked, float_buffer_ok, overlaps};
use super::merge::merge_of;
use crate::abi::*;
use crate::layers::{Op, Weights};
use crate::train;
use crate::{Activation, Status};
use core::slice;

/// The layers of `anne_fit_epoch_f32`, each built from its descriptor when
/// asked (one at a time: no two of them borrow the weights at once).
pub(crate) struct FitLayers<'a> {
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
        // (a merge's op is unused: Inputs says what it is; Dense's params
        // are not read, so a Dense record, the common case, is not parsed)
        let op = match merge_of(d.kind) {
            Some(_) => Op::Dense,
            None if d.kind == ANNE_LAYER_DENSE as u32 => Op::Dense,
            None => Op::from_params(d.kind, &d.params)?,
        };
        // (a pooling, ZeroPadding2D or merge has no kernel:
        // check_fit_buffers let it be NULL)
        let kernel = match d.kernel.is_null() && shaping(d) {
            true => Some(&mut [][..]),
            false => slice(d.kernel, k),
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

    fn act(&mut self, l: usize) -> Result<Activation, Status> {
        Activation::from_abi(&self.raw.get(l).ok_or(Status::Size)?.act)
    }

    fn inputs(&self, l: usize) -> train::Inputs {
        let Some(d) = self.raw.get(l) else {
            return train::Inputs::CHAIN;
        };
        let n = d.n_inputs as usize;
        let merge = merge_of(d.kind);
        train::Inputs {
            // (more than the format's seven: refused as too many)
            n: if n > d.inputs.len() { usize::MAX } else { n },
            from: d.inputs,
            merge,
            rows: d.params[0] as usize,
        }
    }
}

/// A layer without weights of its own: a pooling, ZeroPadding2D,
/// UpSampling1D or a graph's merge (its kernel may be NULL).
fn shaping(d: &anne_train_layer_t) -> bool {
    merge_of(d.kind).is_some()
        || Op::from_params(d.kind, &d.params).is_ok_and(|op| op.weights() == Weights::None)
}

/// The buffers of a fit call, for the overlap check: (start, length in
/// floats, written). `i` runs over 6 per layer (kernel, bias, 4 slots),
/// then `extra`.
pub(crate) fn fit_buffer(
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
pub(crate) fn check_fit_buffers(
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
        if d.kernel.is_null() && !shaping(d) {
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
pub(crate) unsafe fn fit_layers<'a>(
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

pub(crate) fn fit_config(
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

