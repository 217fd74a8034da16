//! Keras's `fit()` inner loop in one call: an epoch (or an evaluation)
//! over a chain of layers (dense, and before the last one Conv1D, pooling
//! and the per-channel affine layer), batch by batch: the forward pass of every
//! sample, the loss and metrics, the backward pass, and the optimizer's
//! step, with the workspace the caller allocated once
//! ([`workspace_len`] floats). Nothing allocates, and nothing in the loop
//! goes back to Python.
//!
//! A batch of `nb` samples keeps, per layer, its inputs transposed (`xt`:
//! `n_in` rows of the batch's values), pre-activations `z`, activations `a`
//! and `dz = dL/dz` (one row per sample). The gradients are then dot
//! products over the batch, computed by the dense kernel itself (so on
//! cores without an FPU each is summed exactly and rounded once):
//! `gk[i, :] = xt[i, :] . dz`, `gb = ones . dz`, and the gradient handed to
//! the layer before is `dz[b, :] . kernel^T` (the kernel transposed into
//! `kt` once per batch). The losses are Keras's (mean over the batch; the
//! cross-entropies from the logits after a sigmoid or softmax output, as
//! TensorFlow computes them), the updates [`crate::train`]'s.
//!
//! A network with other kinds of layer (Conv1D, pooling, affine) runs
//! sample by sample instead: each sample's forward and backward pass in
//! turn, every gradient summed over the batch (the dense ones by
//! [`dense_backward`]), then the step. Its buffers then hold one sample,
//! not a batch (a Conv1D's activations are large next to a board's RAM),
//! and those layers keep their inputs as rows (`xt` is `x`).

use crate::activation::backward::activation_backward;
use crate::activation::{apply, Activation};
use crate::layers::affine::{affine_backward_f32, affine_f32};
use crate::argmax::argmax_f32;
use crate::layers::conv1d::{activate_rows, conv1d_backward_f32, conv1d_f32, Conv1d};
use crate::layers::pool1d::{pool1d_backward_f32, pool1d_f32, Pool1d};
use crate::layers::dense::run_linear;
use crate::math::{self, fdiv};
use crate::train::{adam_step, dense_backward, momentum_step};
use crate::Status;
use libm::fabsf;

/// keras.backend.epsilon(), the cross-entropies' clip.
const EPS: f32 = 1e-7;

/// Keras's losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    MeanSquaredError,
    MeanAbsoluteError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    /// Targets are class indices (one value per sample).
    SparseCategoricalCrossentropy,
}

/// Keras's metrics (accuracy resolved to its kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
}

/// Keras 3's optimizers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd {
        learning_rate: f32,
        momentum: f32,
        nesterov: bool,
    },
    Adam {
        learning_rate: f32,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
    },
}

/// What a layer computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Op {
    #[default]
    Dense,
    /// Kernel and bias in Keras's layouts; trainable.
    Conv(Conv1d),
    /// No kernel (empty) or bias; never trainable.
    Pool(Pool1d),
    /// Per-channel scale (the kernel, `channels` values) and offset (the
    /// bias, as many; required); never trainable.
    Affine(usize),
}

/// One layer to train: what it computes, its weights (Keras layout, as in
/// [`dense_f32`] or [`conv1d_f32`]), activation, whether it is trained, and its optimizer
/// slots: `[kernel m, kernel v, bias m, bias v]` (SGD with momentum uses the
/// two `m`, Adam all four; the bias ones only with a bias).
pub struct Layer<'a> {
    pub op: Op,
    pub kernel: &'a mut [f32],
    pub bias: Option<&'a mut [f32]>,
    pub act: Activation,
    pub trainable: bool,
    pub slots: [Option<&'a mut [f32]>; 4],
}

/// Where the layers come from, one at a time (the C ABI builds each from
/// its descriptor when asked; a slice of [`Layer`] serves tests).
pub trait Layers {
    fn count(&self) -> usize;
    fn layer(&mut self, l: usize) -> Result<Layer<'_>, Status>;
}

impl Layers for [Layer<'_>] {
    fn count(&self) -> usize {
        self.len()
    }

    fn layer(&mut self, l: usize) -> Result<Layer<'_>, Status> {
        let layer = self.get_mut(l).ok_or(Status::Size)?;
        let [s0, s1, s2, s3] = &mut layer.slots;
        Ok(Layer {
            op: layer.op,
            kernel: &mut *layer.kernel,
            bias: layer.bias.as_deref_mut(),
            act: layer.act,
            trainable: layer.trainable,
            slots: [
                s0.as_deref_mut(),
                s1.as_deref_mut(),
                s2.as_deref_mut(),
                s3.as_deref_mut(),
            ],
        })
    }
}

/// What one epoch runs on and how.
pub struct Run<'a> {
    pub loss: Loss,
    pub metrics: &'a [Metric],
    pub optimizer: Optimizer,
    /// Samples per step (the last batch may be smaller).
    pub batch: usize,
    /// False: forward, loss and metrics only (Keras's evaluate()).
    pub train: bool,
    /// The first layer's inputs: x's row length.
    pub n_in: usize,
    /// `n_rows x n_in` values.
    pub x: &'a [f32],
    /// `n_rows x n_out` values, or `n_rows` class indices for the sparse loss.
    pub t: &'a [f32],
    /// The order of the rows (indices below `n_rows`), or `None`.
    pub order: Option<&'a [u32]>,
}

/// One layer's shape: inputs, units (pre-activations) and outputs (units,
/// or units / 2 for glu), the rows its activation works over (`width`:
/// units, or a Conv1D's filters), its kernel's length, and whether it is dense.
#[derive(Clone, Copy, Default)]
struct Shape {
    dense: bool,
    n_in: usize,
    units: usize,
    n_out: usize,
    width: usize,
    kernel_len: usize,
    bias: bool,
    trainable: bool,
}

/// A layer's part of the workspace (in this order): its inputs transposed
/// (dense) or as rows, `z`, `a`, `dz` (one row of `units` per sample), the
/// kernel transposed (dense, not for the first layer), and (trained layers only) the gradients,
/// which the step turns into the new weights: they are copied over the
/// old ones only if every one of them is finite.
struct Work<'w> {
    xt: &'w mut [f32],
    z: &'w mut [f32],
    a: &'w mut [f32],
    dz: &'w mut [f32],
    kt: &'w mut [f32],
    gk: &'w mut [f32],
    gb: &'w mut [f32],
}

impl Shape {
    fn lens(&self, batch: usize, first: bool) -> [usize; 7] {
        let weights = self.kernel_len;
        let bias = if self.bias { self.width } else { 0 };
        let rows = batch * self.units;
        let trained = if self.trainable { 1 } else { 0 };
        let dense = self.dense;
        [
            self.n_in * batch,
            rows,
            rows,
            rows,
            if first || !dense { 0 } else { weights },
            trained * weights,
            trained * bias,
        ]
    }

    fn len(&self, batch: usize, first: bool) -> usize {
        self.lens(batch, first).iter().sum()
    }

    fn carve<'w>(&self, ws: &'w mut [f32], batch: usize, first: bool) -> Result<Work<'w>, Status> {
        let [n0, n1, n2, n3, n4, n5, n6] = self.lens(batch, first);
        let (xt, ws) = ws.split_at_mut_checked(n0).ok_or(Status::Size)?;
        let (z, ws) = ws.split_at_mut_checked(n1).ok_or(Status::Size)?;
        let (a, ws) = ws.split_at_mut_checked(n2).ok_or(Status::Size)?;
        let (dz, ws) = ws.split_at_mut_checked(n3).ok_or(Status::Size)?;
        let (kt, ws) = ws.split_at_mut_checked(n4).ok_or(Status::Size)?;
        let (gk, ws) = ws.split_at_mut_checked(n5).ok_or(Status::Size)?;
        let gb = ws.get_mut(..n6).ok_or(Status::Size)?;
        Ok(Work {
            xt,
            z,
            a,
            dz,
            kt,
            gk,
            gb,
        })
    }
}

/// The shape of a layer reading `n_in` values, checked: a dense kernel
/// holds `n_in x units`, the bias `units`, the activation is valid for
/// them; the other kinds as their kernels check them (a pooling or affine
/// layer is linear and not trainable); and the workspace sizes fit a
/// `usize` in bytes.
fn shape_of(layer: &Layer, n_in: usize, batch: usize) -> Result<Shape, Status> {
    if n_in == 0 {
        return Err(Status::XSize);
    }
    let k = layer.kernel.len();
    let bias = layer.bias.as_ref().map(|b| b.len());
    let (units, n_out, width) = match layer.op {
        Op::Dense => {
            let units = k / n_in;
            if units == 0 || !k.is_multiple_of(n_in) {
                return Err(Status::KernelSize);
            }
            layer.act.validate()?;
            let n_out = layer.act.outputs(units).map_err(|_| Status::KernelSize)?;
            if bias.is_some_and(|b| b != units) {
                return Err(Status::BiasSize);
            }
            (units, n_out, units)
        }
        Op::Conv(c) => {
            let (_, steps, _, filters) = c.shape(n_in, k)?;
            let units = steps.checked_mul(filters).ok_or(Status::Size)?;
            c.check(n_in, k, bias, units, &layer.act)?;
            (units, units, filters)
        }
        Op::Pool(_) | Op::Affine(_)
            if layer.trainable || !matches!(layer.act, Activation::Linear) =>
        {
            return Err(Status::Kind);
        }
        Op::Pool(p) => {
            let units = p
                .shape(n_in)?
                .1
                .checked_mul(p.channels)
                .ok_or(Status::Size)?;
            if k != 0 || bias.is_some() {
                return Err(Status::KernelSize);
            }
            (units, units, units)
        }
        Op::Affine(c) => {
            if k != c || c == 0 {
                return Err(Status::KernelSize);
            }
            if bias != Some(c) {
                return Err(Status::BiasSize);
            }
            if !n_in.is_multiple_of(c) {
                return Err(Status::XSize);
            }
            (n_in, n_in, n_in)
        }
    };
    // Each part of the workspace is at most one of these products; eight
    // parts per layer stay far below isize::MAX bytes.
    let limit = isize::MAX as usize / 64;
    if n_in.max(units).checked_mul(batch).is_none_or(|v| v > limit) || layer.kernel.len() > limit {
        return Err(Status::Size);
    }
    Ok(Shape {
        dense: matches!(layer.op, Op::Dense),
        n_in,
        units,
        n_out,
        width,
        kernel_len: k,
        bias: layer.bias.is_some(),
        trainable: layer.trainable,
    })
}

/// The first [`Spans::MAX`] layers' offsets in the layers' part of the
/// workspace and their shapes, found once per call by [`workspace`]: the
/// batches' phases then need not walk the layers before each one (deeper
/// layers are still located by that walk).
struct Spans {
    at: [(usize, Shape); Spans::MAX],
    n: usize,
    /// Every layer's kernel holds no NaN or ±inf (checked once per epoch;
    /// a step that would make one so is refused), nor then does its
    /// transpose: the dense kernel need not look at the rows of zero inputs.
    finite: bool,
    /// The rows of each layer's buffers: the batch, or (`per_sample`) one.
    rows: usize,
    /// A network with other layers than dense runs each sample's forward
    /// and backward pass in turn, its gradients summed over the batch: its
    /// buffers (a Conv1D's are large) hold one sample, not a batch.
    per_sample: bool,
}

impl Spans {
    const MAX: usize = 16;
}

/// Layer `l`'s offset in the layers' part of the workspace, and its shape.
fn locate<L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    n_in: usize,
    batch: usize,
    l: usize,
) -> Result<(usize, Shape), Status> {
    if let Some(&found) = spans.at.get(l).filter(|_| l < spans.n) {
        return Ok(found);
    }
    let (mut offset, mut n) = (0, n_in);
    for i in 0..layers.count() {
        let s = shape_of(&layers.layer(i)?, n, batch)?;
        if i == l {
            return Ok((offset, s));
        }
        offset += s.len(batch, i == 0);
        n = s.n_out;
    }
    Err(Status::Size)
}

/// Layer `l`'s work area, and (for `l > 0`) the previous layer's, with
/// their shapes.
#[allow(clippy::type_complexity)]
fn works<'w, L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    ws: &'w mut [f32],
    n_in: usize,
    l: usize,
) -> Result<((Work<'w>, Shape), Option<(Work<'w>, Shape)>), Status> {
    let batch = spans.rows;
    let (offset, s) = locate(layers, spans, n_in, batch, l)?;
    let (before, here) = ws.split_at_mut_checked(offset).ok_or(Status::Size)?;
    let this = (s.carve(here, batch, l == 0)?, s);
    if l == 0 {
        return Ok((this, None));
    }
    let (po, ps) = locate(layers, spans, n_in, batch, l - 1)?;
    let prev = ps.carve(before.get_mut(po..).ok_or(Status::Size)?, batch, l == 1)?;
    Ok((this, Some((prev, ps))))
}

/// Floats of workspace that [`epoch`] needs: `batch` ones, one sample's
/// `dL/dy` for the widest layer, and each layer's [`Work`]. A layer that
/// does not fit the one before gives its status, with its index in
/// `*failed`; no layers or `batch == 0` is [`Status::Size`].
pub fn workspace_len<L: Layers + ?Sized>(
    layers: &mut L,
    n_in: usize,
    batch: usize,
    failed: &mut usize,
) -> Result<usize, Status> {
    workspace(layers, n_in, batch, failed).map(|(total, _, _)| total)
}

/// [`workspace_len`], the length of its shared `dL/dy` part (the widest
/// layer input or units), and the layers' [`Spans`].
fn workspace<L: Layers + ?Sized>(
    layers: &mut L,
    n_in: usize,
    batch: usize,
    failed: &mut usize,
) -> Result<(usize, usize, Spans), Status> {
    if batch == 0 || layers.count() == 0 {
        return Err(Status::Size);
    }
    let mut per_sample = false;
    for l in 0..layers.count() {
        per_sample |= !matches!(layers.layer(l)?.op, Op::Dense);
    }
    let rows = if per_sample { 1 } else { batch };
    let mut spans = Spans {
        at: [(0, Shape::default()); Spans::MAX],
        n: 0,
        finite: false,
        rows,
        per_sample,
    };
    let (mut offset, mut widest, mut n) = (0usize, 0usize, n_in);
    for l in 0..layers.count() {
        *failed = l;
        let s = shape_of(&layers.layer(l)?, n, batch)?;
        if l + 1 == layers.count() && !s.dense {
            return Err(Status::Kind); // (the losses read a dense layer's outputs)
        }
        if let Some(slot) = spans.at.get_mut(l) {
            *slot = (offset, s);
            spans.n = l + 1;
        }
        offset = offset
            .checked_add(s.len(rows, l == 0))
            .ok_or(Status::Size)?;
        widest = widest.max(s.n_in).max(s.units);
        n = s.n_out;
    }
    let total = offset
        .checked_add(batch)
        .and_then(|t| t.checked_add(widest))
        .ok_or(Status::Size)?;
    Ok((total, widest, spans))
}

/// One epoch (or, `run.train == false`, one evaluation) over the rows of
/// `run.x`, `run.batch` at a time. The sums over the samples of the loss
/// and of each metric go to `sums` (`1 + metrics.len()` values), and
/// `*iterations` counts the steps taken (Adam's `t`). A step that cannot be
/// taken stops the epoch with its batch index in `*failed`:
/// - [`Status::LossNotFinite`]: the batch's loss is NaN or ±inf (no weight
///   changed in that batch);
/// - [`Status::StepNotFinite`]: the step would make a weight NaN or ±inf
///   (no weight is changed).
///
/// Anything else is refused before anything is written: a layer that does
/// not fit (its status, its index in `*failed`), sizes ([`Status::Size`]),
/// a missing optimizer slot ([`Status::Null`]), a class index that is not
/// one of the output's ([`Status::Label`]).
pub fn epoch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    ws: &mut [f32],
    sums: &mut [f32],
    iterations: &mut u32,
    failed: &mut usize,
) -> Result<(), Status> {
    let (batch, n_in) = (run.batch, run.n_in);
    let (need, widest, mut spans) = workspace(layers, n_in, batch, failed)?;
    let n_layers = layers.count();
    let mut first_trained = n_layers;
    let mut finite = true;
    let mut n_out = n_in;
    for l in 0..n_layers {
        *failed = l;
        let layer = layers.layer(l)?;
        let s = shape_of(&layer, n_out, batch)?;
        finite &= all_finite(layer.kernel);
        if s.trainable && run.train {
            check_slots(&layer, &run.optimizer)?;
            first_trained = first_trained.min(l);
        }
        n_out = s.n_out;
    }
    *failed = 0;
    spans.finite = finite;
    let sparse = run.loss == Loss::SparseCategoricalCrossentropy;
    let t_width = if sparse { 1 } else { n_out };
    let n_rows = run.x.len().checked_div(n_in).ok_or(Status::XSize)?;
    if ws.len() < need
        || sums.len() != 1 + run.metrics.len()
        || n_rows == 0
        || !run.x.len().is_multiple_of(n_in)
        || Some(run.t.len()) != n_rows.checked_mul(t_width)
        || run
            .order
            .is_some_and(|o| o.len() != n_rows || o.iter().any(|&k| k as usize >= n_rows))
        || (!sparse && run.metrics.contains(&Metric::SparseCategoricalAccuracy))
    {
        return Err(Status::Size);
    }
    if sparse {
        // class indices, as floats: whole numbers below n_out
        if run.t.iter().any(|&v| class_index(v, n_out).is_none()) {
            return Err(Status::Label);
        }
    }
    for s in sums.iter_mut() {
        *s = 0.0;
    }
    let (ones, ws) = ws.split_at_mut_checked(batch).ok_or(Status::Size)?;
    let (dy, ws) = ws.split_at_mut_checked(widest).ok_or(Status::Size)?;
    for o in ones.iter_mut() {
        *o = 1.0;
    }
    let (mut start, mut step) = (0usize, 0usize);
    while start < n_rows {
        let nb = batch.min(n_rows - start);
        *failed = step;
        let train = run.train && first_trained < n_layers;
        if train && spans.per_sample {
            begin_batch(layers, run, &spans, ws, first_trained)?;
        }
        // the batch at once, or (per_sample) one sample after the other
        let (passes, per) = if spans.per_sample { (nb, 1) } else { (1, nb) };
        let mut loss = 0.0f32;
        for i in 0..passes {
            let from = start + i * per;
            let rows = Rows {
                order: run.order.and_then(|o| o.get(from..from + per)),
                start: from,
                nb: per,
            };
            forward(layers, run, &spans, ws, &rows)?;
            loss += loss_batch(layers, run, &spans, ws, dy, &rows, nb, t_width, sums)?;
            if train {
                backward(layers, run, &spans, ws, ones, dy, per, first_trained)?;
            }
        }
        if !loss.is_finite() {
            return Err(Status::LossNotFinite);
        }
        if train {
            if spans.per_sample {
                end_batch(layers, run, &spans, ws)?;
            }
            update(layers, run, &spans, ws, *iterations)?;
            *iterations = iterations.wrapping_add(1);
        }
        start += nb;
        step += 1;
    }
    Ok(())
}

/// The rows of one batch: `order[start..start + nb]`, or `start..start + nb`.
struct Rows<'a> {
    order: Option<&'a [u32]>,
    start: usize,
    nb: usize,
}

impl Rows<'_> {
    fn row(&self, b: usize) -> usize {
        match self.order {
            Some(o) => o.get(b).map_or(0, |&k| k as usize),
            None => self.start + b,
        }
    }
}

/// `out = x . kernel + bias`: the dense kernel, called from one place (so
/// that it is in the module once, not inlined at each call). The sizes are
/// checked here; linear needs no parameter check (`dense_f32` would do
/// both on every call).
#[inline(never)]
fn linear(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    kernel_finite: bool,
) -> Result<(), Status> {
    if x.len().checked_mul(out.len()) != Some(kernel.len())
        || bias.is_some_and(|b| b.len() != out.len())
    {
        return Err(Status::Size);
    }
    run_linear(x, kernel, bias, out, kernel_finite)
}

/// [`linear`], for a batch of one (`x` one value, `kernel` one row) on
/// cores without an FPU by [`math::wide::outer_fma`]: the same bits, but
/// the weight gradient's columns have a single term each, and linear's
/// set-up per column would cost more than the term.
fn outer_or_linear(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    kernel_finite: bool,
) -> Result<(), Status> {
    if math::SOFT_FLOAT {
        if let [x] = x {
            if math::wide::outer_fma(*x, kernel, bias, out) {
                return Ok(());
            }
        }
    }
    linear(x, kernel, bias, out, kernel_finite)
}

/// `v` as a class index below `n`: a whole number in [0, n) (-0.0 is 0),
/// from its bits (a float compare or conversion is a library call on cores
/// without an FPU).
fn class_index(v: f32, n: usize) -> Option<usize> {
    let bits = v.to_bits();
    if bits << 1 == 0 {
        return (n > 0).then_some(0);
    }
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    if bits >> 31 != 0 || !(0..24).contains(&e) {
        return None; // negative, NaN, ±inf, below 1, or above 2^24
    }
    let m = (bits & 0x007f_ffff) | 0x0080_0000;
    let shift = (23 - e) as u32;
    let k = (m >> shift) as usize;
    (m & ((1 << shift) - 1) == 0 && k < n).then_some(k)
}

/// No NaN or ±inf in `values`, on the bits (exponent not all ones): a
/// float compare is a library call on cores without an FPU.
fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.to_bits() << 1 < 0xff00_0000)
}

/// The linear part of a layer other than dense for one sample, into `z`
/// (out of line: the dense path's loops stay as they were without it).
#[inline(never)]
fn other_forward(
    op: &Op,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    z: &mut [f32],
) -> Result<(), Status> {
    match op {
        Op::Dense => Err(Status::Kind),
        Op::Conv(c) => conv1d_f32(c, x, kernel, bias, z, &Activation::Linear),
        Op::Pool(p) => pool1d_f32(p, x, z),
        Op::Affine(_) => affine_f32(x, kernel, bias.unwrap_or(&[]), z),
    }
}

/// The backward pass of a layer other than dense for one sample, from
/// `dz`: `dx` (a pooling's and an affine layer's are required), and a
/// Conv1D's gradients added to `gk` and `gb` (if given).
#[inline(never)]
fn other_backward(
    op: &Op,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    gk: Option<&mut [f32]>,
    gb: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<(), Status> {
    match op {
        Op::Dense => Err(Status::Kind),
        Op::Conv(c) => conv1d_backward_f32(c, x, kernel, dz, 1.0, gk, gb, dx),
        Op::Pool(p) => pool1d_backward_f32(p, x, dz, dx.ok_or(Status::Null)?),
        Op::Affine(_) => affine_backward_f32(dz, kernel, dx.ok_or(Status::Null)?),
    }
}

/// `dst += src` (slices of the same length; a shorter one ends the sum).
fn add(dst: &mut [f32], src: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d += v;
    }
}

/// [`activation_backward`] over rows of `width` values for the vector
/// activations (a Conv1D's per step), at once for the others.
fn backward_rows(
    act: &Activation,
    width: usize,
    z: &[f32],
    y: &[f32],
    dy: &[f32],
    dz: &mut [f32],
) -> Result<(), Status> {
    if act.is_elementwise() || width == 0 || width == z.len() {
        return activation_backward(act, z, y, dy, dz);
    }
    let rows = z.chunks_exact(width).zip(y.chunks_exact(width));
    for ((z, y), (dy, dz)) in rows.zip(dy.chunks_exact(width).zip(dz.chunks_exact_mut(width))) {
        activation_backward(act, z, y, dy, dz)?;
    }
    Ok(())
}

/// `dst = src` (slices of the same length; a shorter one ends the copy).
fn copy(dst: &mut [f32], src: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v;
    }
}

/// `row`th row of `width` values of `data` (checked: empty if out of range).
fn row_of(data: &[f32], row: usize, width: usize) -> &[f32] {
    data.get(row * width..(row + 1) * width).unwrap_or(&[])
}

fn row_of_mut(data: &mut [f32], row: usize, width: usize) -> &mut [f32] {
    data.get_mut(row * width..(row + 1) * width)
        .unwrap_or(&mut [])
}

/// Every sample of the batch through every layer: `z`, `a` and the inputs
/// transposed into `xt`.
fn forward<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    rows: &Rows,
) -> Result<(), Status> {
    let batch = spans.rows;
    for l in 0..layers.count() {
        let ((w, s), prev) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        for b in 0..rows.nb {
            let x = match &prev {
                None => row_of(run.x, rows.row(b), s.n_in),
                Some((p, ps)) => row_of(p.a, b, ps.units).get(..s.n_in).unwrap_or(&[]),
            };
            let z = row_of_mut(w.z, b, s.units);
            let (kernel, bias) = (&*layer.kernel, layer.bias.as_deref());
            if s.dense {
                linear(x, kernel, bias, z, spans.finite)?;
            } else {
                other_forward(&layer.op, x, kernel, bias, z)?;
            }
            let a = row_of_mut(w.a, b, s.units);
            copy(a, z);
            if s.dense {
                apply(a, &layer.act)?;
            } else {
                activate_rows(a, s.width, &layer.act)?;
            }
            if s.dense {
                for (i, &v) in x.iter().enumerate() {
                    if let Some(slot) = w.xt.get_mut(i * batch + b) {
                        *slot = v;
                    }
                }
            } else {
                copy(row_of_mut(w.xt, b, s.n_in), x);
            }
        }
    }
    Ok(())
}

/// The loss of the rows (the sum over them), the metrics added to `sums`,
/// and (training) the output layer's `dz`, the gradient of the mean loss
/// over a batch of `nb` (each sample's scaled by 1 / nb).
#[allow(clippy::too_many_arguments)]
fn loss_batch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    dy: &mut [f32],
    rows: &Rows,
    nb: usize,
    t_width: usize,
    sums: &mut [f32],
) -> Result<f32, Status> {
    let last = layers.count() - 1;
    let ((w, s), _) = works(layers, spans, ws, run.n_in, last)?;
    let act = layers.layer(last)?.act;
    // the mean's 1 / nb; for plain SGD also -lr (see backward())
    let scale = match plain_sgd(&run.optimizer) {
        Some(lr) => -(lr / nb as f32),
        None => 1.0 / nb as f32,
    };
    let dy = dy.get_mut(..s.n_out).ok_or(Status::Size)?;
    let mut total = 0.0f32;
    for b in 0..rows.nb {
        let z = row_of(w.z, b, s.units);
        let y = row_of(w.a, b, s.units).get(..s.n_out).unwrap_or(&[]);
        let t = row_of(run.t, rows.row(b), t_width);
        let dz = row_of_mut(w.dz, b, s.units);
        let grad = run.train.then_some((&mut *dy, dz, scale));
        let value = loss_and_grad(run.loss, &act, z, y, t, grad)?;
        total += value;
        if let Some(sum) = sums.first_mut() {
            *sum += value;
        }
        for (sum, &m) in sums.iter_mut().skip(1).zip(run.metrics) {
            *sum += metric(m, y, t);
        }
    }
    Ok(total)
}

/// The gradients of the trained layers, from the last layer's `dz` back to
/// `first_trained`.
fn backward<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    ones: &[f32],
    dy: &mut [f32],
    nb: usize,
    first_trained: usize,
) -> Result<(), Status> {
    let batch = spans.rows;
    for l in (first_trained..layers.count()).rev() {
        let prev_act = if l > first_trained {
            Some(layers.layer(l - 1)?.act)
        } else {
            None
        };
        let ((w, s), prev) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if s.units == 0 {
            return Err(Status::KernelSize); // (shape_of refused it already)
        }
        let dz = w.dz.get(..nb * s.units).ok_or(Status::Size)?;
        // A trained Conv1D's gradients: added to the sums over the batch
        // (begin_batch cleared them), with the gradient for the layer before
        // (if it needs one) in one call per sample.
        let conv_grads = s.trainable && matches!(layer.op, Op::Conv(_));
        let mut gk = conv_grads.then_some(&mut *w.gk);
        let mut gb = (conv_grads && s.bias).then_some(&mut *w.gb);
        if let (Some(act), Some((p, ps))) = (prev_act, prev) {
            // (dense) kt = kernel^T (per_sample: begin_batch's), then dy[b]
            // = dz[b] . kt; (the others) their kernel's dy[b]; through the
            // layer before's activation into its dz[b]
            if s.dense && !spans.per_sample {
                transpose(layer.kernel, s.units, s.n_in, w.kt);
            }
            let dy = dy.get_mut(..s.n_in).ok_or(Status::Size)?;
            for b in 0..nb {
                let (dzb, x) = (row_of(dz, b, s.units), row_of(w.xt, b, s.n_in));
                if s.dense {
                    linear(dzb, w.kt, None, dy, spans.finite)?;
                } else {
                    let (gk, gb) = (gk.as_deref_mut(), gb.as_deref_mut());
                    other_backward(&layer.op, x, layer.kernel, dzb, gk, gb, Some(&mut *dy))?;
                }
                let pz = row_of(p.z, b, ps.units);
                let py = row_of(p.a, b, ps.units).get(..ps.n_out).unwrap_or(&[]);
                let pdz = row_of_mut(p.dz, b, ps.units);
                if ps.dense {
                    activation_backward(&act, pz, py, dy, pdz)?;
                } else {
                    backward_rows(&act, ps.width, pz, py, dy, pdz)?;
                }
            }
        } else if conv_grads {
            for b in 0..nb {
                let (dzb, x) = (row_of(dz, b, s.units), row_of(w.xt, b, s.n_in));
                let (gk, gb) = (gk.as_deref_mut(), gb.as_deref_mut());
                other_backward(&layer.op, x, layer.kernel, dzb, gk, gb, None)?;
            }
        }
        if !s.trainable || conv_grads {
            continue;
        }
        if spans.per_sample {
            // one sample's x and dz: added to the sums over the batch
            let (x, dz) = (row_of(w.xt, 0, s.n_in), row_of(dz, 0, s.units));
            let gb = s.bias.then_some(&mut *w.gb);
            dense_backward(x, layer.kernel, dz, 1.0, w.gk, gb, None)?;
            continue;
        }
        let plain = plain_sgd(&run.optimizer).is_some();
        let ones = ones.get(..nb).ok_or(Status::Size)?;
        // gk[i, :] = sum over the batch of x[b, i] * dz[b, :]; for plain SGD
        // dz holds -lr / nb times the gradient, and the old weight is the
        // sum's bias: gk is then the stepped weight, rounded once.
        // (dz is every row's "kernel": looked at for NaN and ±inf once here,
        // not at each row's zero inputs; a batch of one has none to skip.)
        let dz_finite = nb > 1 && all_finite(dz);
        let rows =
            w.gk.chunks_exact_mut(s.units)
                .zip(layer.kernel.chunks_exact(s.units));
        for (i, (gk, kernel)) in rows.enumerate() {
            let xt = w.xt.get(i * batch..i * batch + nb).ok_or(Status::Size)?;
            outer_or_linear(xt, dz, plain.then_some(kernel), gk, dz_finite)?;
        }
        if s.bias {
            let bias = layer.bias.as_deref().filter(|_| plain);
            outer_or_linear(ones, dz, bias, w.gb, dz_finite)?;
        }
    }
    Ok(())
}

/// `kt = kernel^T` (a dense kernel of `n_in x units`).
fn transpose(kernel: &[f32], units: usize, n_in: usize, kt: &mut [f32]) {
    if units == 0 {
        return; // (shape_of refused it)
    }
    for (i, row) in kernel.chunks_exact(units).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if let Some(slot) = kt.get_mut(j * n_in + i) {
                *slot = v;
            }
        }
    }
}

/// Before a per_sample batch's backward passes: the sums of the gradients,
/// added up sample by sample, cleared, and the dense kernels transposed
/// (once a batch).
fn begin_batch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    first_trained: usize,
) -> Result<(), Status> {
    for l in first_trained..layers.count() {
        let ((w, s), _) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if s.trainable {
            w.gk.fill(0.0);
            w.gb.fill(0.0);
        }
        if s.dense && l > first_trained {
            transpose(layer.kernel, s.units, s.n_in, w.kt);
        }
    }
    Ok(())
}

/// After a per_sample batch's backward passes, for plain SGD (its `dz`
/// holds -lr / nb times the gradient): the sums of the gradients become
/// the new weights, the old ones plus those sums. (A batch of dense layers
/// has its new weights from [`backward`] already.)
fn end_batch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
) -> Result<(), Status> {
    if plain_sgd(&run.optimizer).is_none() {
        return Ok(());
    }
    for l in 0..layers.count() {
        let ((w, s), _) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if s.trainable {
            add(w.gk, layer.kernel);
            add(w.gb, layer.bias.as_deref().unwrap_or(&[]));
        }
    }
    Ok(())
}

/// SGD without momentum: its learning rate (fit steps it in the backward
/// pass, fused with the gradient's dot products).
fn plain_sgd(opt: &Optimizer) -> Option<f32> {
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            ..
        } => (momentum == 0.0).then_some(learning_rate),
        Optimizer::Adam { .. } => None,
    }
}

/// The optimizer's step on every trained layer, committed only if every new
/// weight and every new optimizer slot is finite ([`Status::StepNotFinite`],
/// nothing written, if not: the weights and the momentum or Adam slots stay
/// those of the last finite step). For plain SGD the backward pass put the
/// new weights in `gk` and `gb` already: they are checked, then copied. The
/// other optimizers' steps are computed twice: once to check them (writing
/// nothing), then in place (weights and slots), with the same arithmetic.
fn update<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    iterations: u32,
) -> Result<(), Status> {
    let alpha = match run.optimizer {
        Optimizer::Adam {
            learning_rate,
            beta_1,
            beta_2,
            ..
        } => {
            // Keras 3, in float32: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
            let t = iterations.wrapping_add(1) as f32;
            learning_rate * libm::sqrtf(1.0 - pow(beta_2, t)) / (1.0 - pow(beta_1, t))
        }
        Optimizer::Sgd { .. } => 0.0,
    };
    let plain = plain_sgd(&run.optimizer).is_some();
    let mut finite = true;
    for l in 0..layers.count() {
        let ((w, s), _) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if !s.trainable {
            continue;
        }
        if plain {
            finite &= all_finite(w.gk) && all_finite(w.gb);
            continue;
        }
        let [s0, s1, s2, s3] = &layer.slots;
        finite &= step_is_finite(&run.optimizer, alpha, layer.kernel, w.gk, s0, s1)?;
        if let Some(bias) = layer.bias.as_deref() {
            finite &= step_is_finite(&run.optimizer, alpha, bias, w.gb, s2, s3)?;
        }
    }
    if !finite {
        return Err(Status::StepNotFinite);
    }
    for l in 0..layers.count() {
        let ((w, s), _) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if !s.trainable {
            continue;
        }
        if plain {
            copy(layer.kernel, w.gk);
            if let Some(bias) = layer.bias {
                copy(bias, w.gb);
            }
            continue;
        }
        let [s0, s1, s2, s3] = layer.slots;
        step_in_place(&run.optimizer, alpha, layer.kernel, w.gk, s0, s1)?;
        if let Some(bias) = layer.bias {
            step_in_place(&run.optimizer, alpha, bias, w.gb, s2, s3)?;
        }
    }
    Ok(())
}

/// The slots one step (momentum SGD or Adam) reads, checked against `w`.
fn step_slots<'s>(
    opt: &Optimizer,
    n: usize,
    g: usize,
    m: Option<&'s [f32]>,
    v: Option<&'s [f32]>,
) -> Result<(&'s [f32], &'s [f32]), Status> {
    let m = m.filter(|m| m.len() == n).ok_or(Status::Null)?;
    if g != n {
        return Err(Status::Size);
    }
    let v = match opt {
        Optimizer::Adam { .. } => v.filter(|v| v.len() == n).ok_or(Status::Null)?,
        Optimizer::Sgd { .. } => &[],
    };
    Ok((m, v))
}

/// Whether one optimizer step (momentum SGD or Adam) on `w` with gradient
/// `g` gives finite weights and finite slots. Writes nothing.
fn step_is_finite(
    opt: &Optimizer,
    alpha: f32,
    w: &[f32],
    g: &[f32],
    m: &Option<&mut [f32]>,
    v: &Option<&mut [f32]>,
) -> Result<bool, Status> {
    let (m, v) = step_slots(opt, w.len(), g.len(), m.as_deref(), v.as_deref())?;
    let ok = |x: f32| x.to_bits() << 1 < 0xff00_0000;
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            nesterov,
        } => Ok(w.iter().zip(g).zip(m).all(|((&w, &g), &m)| {
            let mut m = m;
            let w = momentum_step(w, g, &mut m, learning_rate, momentum, nesterov);
            ok(w) && ok(m)
        })),
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } => Ok(w
            .iter()
            .zip(g)
            .zip(m.iter().zip(v))
            .all(|((&w, &g), (&m, &v))| {
                let (mut m, mut v) = (m, v);
                let w = adam_step(w, g, &mut m, &mut v, alpha, beta_1, beta_2, epsilon);
                ok(w) && ok(m) && ok(v)
            })),
    }
}

/// One optimizer step (momentum SGD or Adam) on `w` with gradient `g`, in
/// place: the weights and their slots ([`step_is_finite`] checked it).
fn step_in_place(
    opt: &Optimizer,
    alpha: f32,
    w: &mut [f32],
    g: &[f32],
    m: Option<&mut [f32]>,
    v: Option<&mut [f32]>,
) -> Result<(), Status> {
    let m = m.filter(|m| m.len() == w.len()).ok_or(Status::Null)?;
    if g.len() != w.len() {
        return Err(Status::Size);
    }
    match *opt {
        Optimizer::Sgd {
            learning_rate,
            momentum,
            nesterov,
        } => {
            for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                *w = momentum_step(*w, g, m, learning_rate, momentum, nesterov);
            }
        }
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            ..
        } => {
            let v = v.filter(|v| v.len() == w.len()).ok_or(Status::Null)?;
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *w = adam_step(*w, g, m, v, alpha, beta_1, beta_2, epsilon);
            }
        }
    }
    Ok(())
}

/// The slots the optimizer needs for this layer are there, of its sizes.
fn check_slots(layer: &Layer, opt: &Optimizer) -> Result<(), Status> {
    let (k, b) = (layer.kernel.len(), layer.bias.as_ref().map(|b| b.len()));
    let needed = match opt {
        Optimizer::Sgd { momentum, .. } if *momentum != 0.0 => [true, false],
        Optimizer::Sgd { .. } => [false, false],
        Optimizer::Adam { .. } => [true, true],
    };
    for (i, slot) in layer.slots.iter().enumerate() {
        let len = if i < 2 { Some(k) } else { b };
        if let (true, Some(len)) = (needed[i % 2], len) {
            match slot {
                None => return Err(Status::Null),
                Some(s) if s.len() != len => return Err(Status::Size),
                _ => {}
            }
        }
    }
    Ok(())
}

// libm's functions, each called from one place (LTO would otherwise
// inline a copy at every call); exp is the activations' and ln the integer
// one on cores without an FPU (src/math/ln.rs), like exp: both picked by
// src/math/mod.rs.
#[inline(never)]
fn exp(x: f32) -> f32 {
    math::expf(x)
}

#[inline(never)]
fn ln(x: f32) -> f32 {
    math::ln_f32(x)
}

#[inline(never)]
fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// `b^t` for Adam's bias correction, as `exp(t ln b)` (within a few ulp of
/// float32's `pow` for the betas Keras uses; libm's powf is 1.8 KB).
fn pow(b: f32, t: f32) -> f32 {
    exp(t * ln(b))
}

/// `v` clipped to [EPS, 1 - EPS] (NaN stays NaN), on the bits: each float
/// compare is a library call on cores without an FPU.
fn clip(v: f32) -> f32 {
    let bits = v.to_bits();
    if bits << 1 > 0xff00_0000 {
        v
    } else if bits < EPS.to_bits() || bits >> 31 != 0 {
        EPS
    } else if bits > (1.0 - EPS).to_bits() {
        1.0 - EPS
    } else {
        v
    }
}

/// `v` in [EPS, 1 - EPS] (on the bits: negative values, -0.0 and NaN are
/// above 1 - EPS's as unsigned integers).
fn inside(v: f32) -> bool {
    (EPS.to_bits()..=(1.0 - EPS).to_bits()).contains(&v.to_bits())
}

/// One sample's loss (Keras's, for output `y` with pre-activation `z` and
/// target `t`) and, given `grad = (dy, dz, scale)`, its gradient `dz`
/// times `scale` (through the activation's backward pass where the loss is
/// not computed from the logits; `dy` is scratch for it).
#[inline(never)]
fn loss_and_grad(
    loss: Loss,
    act: &Activation,
    z: &[f32],
    y: &[f32],
    t: &[f32],
    grad: Option<(&mut [f32], &mut [f32], f32)>,
) -> Result<f32, Status> {
    let n = y.len() as f32;
    let (dy, mut dz, scale) = match grad {
        Some((dy, dz, scale)) => (Some(dy), Some(dz), scale),
        None => (None, None, 1.0),
    };
    let mut scratch = [0.0f32; 0];
    let dy = dy.unwrap_or(&mut scratch);
    let pairs = || y.iter().zip(t);
    let (value, from_logits) = match loss {
        Loss::MeanSquaredError => {
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                *d = 2.0 * (y - t) / n;
            }
            (
                pairs().map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / n,
                false,
            )
        }
        Loss::MeanAbsoluteError => {
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                let e = y - t;
                *d = if e > 0.0 {
                    1.0 / n
                } else if e < 0.0 {
                    -1.0 / n
                } else {
                    0.0
                };
            }
            (pairs().map(|(y, t)| fabsf(y - t)).sum::<f32>() / n, false)
        }
        Loss::BinaryCrossentropy if *act == Activation::Sigmoid => {
            // (y is sigmoid(z), from the forward pass)
            if let Some(dz) = dz.as_deref_mut() {
                for (d, (&y, &t)) in dz.iter_mut().zip(pairs()) {
                    *d = (y - t) / n;
                }
            }
            let s: f32 = z
                .iter()
                .zip(t)
                .map(|(&x, &t)| x.max(0.0) - x * t + ln_1p(exp(-fabsf(x))))
                .sum();
            (s / n, true)
        }
        Loss::BinaryCrossentropy => {
            let mut s = 0.0f32;
            for (&y, &t) in pairs() {
                let p = clip(y);
                s -= t * ln(p) + (1.0 - t) * ln(1.0 - p);
            }
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                let p = clip(y);
                *d = if inside(y) {
                    (-t / p + (1.0 - t) / (1.0 - p)) / n
                } else {
                    0.0
                };
            }
            (s / n, false)
        }
        Loss::CategoricalCrossentropy if *act == Activation::Softmax => {
            // y is softmax(z) = exp(z - lse) from the forward pass; at the
            // largest z (y >= 1/len), lse = z - log(y) to an ulp.
            let k = first_max(z);
            let lse = z
                .get(k)
                .zip(y.get(k))
                .map_or(f32::NAN, |(&z, &y)| z - ln(y));
            let st: f32 = t.iter().sum();
            if let Some(dz) = dz.as_deref_mut() {
                for (d, (&y, &t)) in dz.iter_mut().zip(pairs()) {
                    *d = y * st - t;
                }
            }
            (
                -z.iter().zip(t).map(|(&z, &t)| t * (z - lse)).sum::<f32>(),
                true,
            )
        }
        Loss::CategoricalCrossentropy => {
            let total: f32 = y.iter().sum();
            let st: f32 = t.iter().sum();
            let s: f32 = -pairs().map(|(&y, &t)| t * ln(clip(y / total))).sum::<f32>();
            for (d, (&y, &t)) in dy.iter_mut().zip(pairs()) {
                *d = if inside(y / total) && y != 0.0 {
                    st / total - t / y
                } else {
                    0.0
                };
            }
            (s, false)
        }
        Loss::SparseCategoricalCrossentropy
            if *act == Activation::Softmax && dz.is_some() && y.iter().all(|&v| inside(v)) =>
        {
            // The general path below, with softmax's backward pass folded
            // in where no clip acts: with g = 1/s - [j == label] / y[label],
            // dz = y * (g - y . g) and y . g = sum(y) / s - 1 = 0, so
            // dz[j] = y[j] / s - [j == label] (to rounding), times scale.
            let label = t
                .first()
                .and_then(|&v| class_index(v, y.len()))
                .unwrap_or(0);
            let s: f32 = y.iter().sum();
            let c = fdiv(scale, s);
            if let Some(dz) = dz {
                for (j, (d, &y)) in dz.iter_mut().zip(y).enumerate() {
                    let p = y * c;
                    *d = if j == label { p - scale } else { p };
                }
            }
            return Ok(ln(fdiv(s, y.get(label).copied().unwrap_or(1.0))));
        }
        Loss::SparseCategoricalCrossentropy => {
            // Keras: the logits log(clip(y)), then the softmax
            // cross-entropy with the label. softmax(log c) = c / s with
            // s = sum(c), so the loss is log(s / c[label]) (one log) and its
            // gradient (c / s - [j == label]) / c = 1/s - [j == label] / c
            // where the clip passes it.
            let label = t
                .first()
                .and_then(|&v| class_index(v, y.len()))
                .unwrap_or(0);
            let s: f32 = y.iter().map(|&v| clip(v)).sum();
            let value = ln(fdiv(s, y.get(label).map_or(1.0, |&v| clip(v))));
            let inv = fdiv(1.0, s);
            for (j, (d, &y)) in dy.iter_mut().zip(y).enumerate() {
                *d = if !inside(y) {
                    0.0
                } else if j == label {
                    inv - 1.0 / y
                } else {
                    inv
                };
            }
            (value, false)
        }
    };
    if let Some(dz) = dz {
        if !from_logits {
            activation_backward(act, z, y, dy, dz)?;
        }
        for v in dz.iter_mut() {
            *v *= scale;
        }
    }
    Ok(value)
}

/// One sample's value of a metric.
#[inline(never)]
fn metric(m: Metric, y: &[f32], t: &[f32]) -> f32 {
    let n = y.len() as f32;
    let pairs = || y.iter().zip(t);
    let hit = |ok: bool| if ok { 1.0 } else { 0.0 };
    match m {
        Metric::BinaryAccuracy => {
            pairs()
                .map(|(&y, &t)| hit((y > 0.5) == (t > 0.5)))
                .sum::<f32>()
                / n
        }
        Metric::CategoricalAccuracy => hit(first_max(y) == first_max(t)),
        Metric::SparseCategoricalAccuracy => {
            hit(t.first().and_then(|&l| class_index(l, y.len())) == Some(first_max(y)))
        }
        Metric::MeanSquaredError => pairs().map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / n,
        Metric::MeanAbsoluteError => pairs().map(|(y, t)| fabsf(y - t)).sum::<f32>() / n,
    }
}

/// Index of the largest value, the first on ties (Keras's argmax).
fn first_max(v: &[f32]) -> usize {
    argmax_f32(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense_f32;
    use crate::train::{dense_backward, sgd};

    /// The per-sample reference: forward, loss gradient, dense_backward
    /// accumulating 1/nb of each sample, then SGD; as anne_train's Python
    /// loop computes it.
    fn reference(
        k: &mut [Vec<f32>],
        b: &mut [Vec<f32>],
        acts: &[Activation],
        x: &[f32],
        t: &[f32],
        batch: usize,
        lr: f32,
    ) -> f32 {
        let n_in = 3;
        let rows = x.len() / n_in;
        let mut total = 0.0;
        let mut start = 0;
        while start < rows {
            let nb = batch.min(rows - start);
            let mut gk: Vec<Vec<f32>> = k.iter().map(|k| vec![0.0; k.len()]).collect();
            let mut gb: Vec<Vec<f32>> = b.iter().map(|b| vec![0.0; b.len()]).collect();
            for r in start..start + nb {
                let mut ins = vec![x[r * n_in..(r + 1) * n_in].to_vec()];
                let mut zs = vec![];
                for l in 0..k.len() {
                    let units = b[l].len();
                    let mut z = vec![0.0; units];
                    dense_f32(&ins[l], &k[l], Some(&b[l]), &mut z, &Activation::Linear).unwrap();
                    let mut a = z.clone();
                    apply(&mut a, &acts[l]).unwrap();
                    zs.push(z);
                    ins.push(a);
                }
                let last = k.len() - 1;
                let y = &ins[last + 1];
                let tr = &t[r * y.len()..(r + 1) * y.len()];
                let mut dy = vec![0.0; y.len()];
                let mut dz = vec![0.0; y.len()];
                total += loss_and_grad(
                    Loss::MeanSquaredError,
                    &acts[last],
                    &zs[last],
                    y,
                    tr,
                    Some((&mut dy, &mut dz, 1.0)),
                )
                .unwrap();
                for l in (0..k.len()).rev() {
                    let mut dx = vec![0.0; ins[l].len()];
                    dense_backward(
                        &ins[l],
                        &k[l],
                        &dz,
                        1.0 / nb as f32,
                        &mut gk[l],
                        Some(&mut gb[l]),
                        Some(&mut dx),
                    )
                    .unwrap();
                    if l > 0 {
                        let mut pdz = vec![0.0; zs[l - 1].len()];
                        activation_backward(&acts[l - 1], &zs[l - 1], &ins[l], &dx, &mut pdz)
                            .unwrap();
                        dz = pdz;
                    }
                }
            }
            for l in 0..k.len() {
                sgd(&mut k[l], &gk[l], None, lr, 0.0, false).unwrap();
                sgd(&mut b[l], &gb[l], None, lr, 0.0, false).unwrap();
            }
            start += nb;
        }
        total
    }

    /// Training with MSE and plain SGD on rows of 3 inputs, 2 per batch:
    /// what `reference` computes.
    fn sgd_mse<'a>(
        learning_rate: f32,
        metrics: &'a [Metric],
        x: &'a [f32],
        t: &'a [f32],
    ) -> Run<'a> {
        Run {
            loss: Loss::MeanSquaredError,
            metrics,
            optimizer: Optimizer::Sgd {
                learning_rate,
                momentum: 0.0,
                nesterov: false,
            },
            batch: 2,
            train: true,
            n_in: 3,
            x,
            t,
            order: None,
        }
    }

    /// One epoch of `run` in a workspace sized for it: the loss and metric
    /// sums, and the iterations.
    fn run_epoch<L: Layers + ?Sized, const M: usize>(layers: &mut L, run: &Run) -> ([f32; M], u32) {
        let mut failed = 0;
        let mut ws = vec![0.0f32; workspace_len(layers, run.n_in, run.batch, &mut failed).unwrap()];
        let (mut sums, mut iterations) = ([0.0f32; M], 0u32);
        epoch(
            layers,
            run,
            &mut ws,
            &mut sums,
            &mut iterations,
            &mut failed,
        )
        .unwrap();
        (sums, iterations)
    }

    #[test]
    fn epoch_matches_the_per_sample_loop() {
        let acts = [Activation::Tanh, Activation::Sigmoid];
        let k0: Vec<f32> = (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) / 8.0).collect();
        let k1: Vec<f32> = (0..8).map(|i| ((i * 5 % 7) as f32 - 3.0) / 5.0).collect();
        let (b0, b1) = (vec![0.1f32, -0.2, 0.05, 0.0], vec![0.3f32, -0.1]);
        let x: Vec<f32> = (0..15).map(|i| ((i * 3 % 13) as f32 - 6.0) / 6.0).collect();
        let t: Vec<f32> = (0..10).map(|i| (i % 3) as f32 / 2.0).collect();
        let (mut rk, mut rb) = (vec![k0.clone(), k1.clone()], vec![b0.clone(), b1.clone()]);
        let want = reference(&mut rk, &mut rb, &acts, &x, &t, 2, 0.5);
        let (mut k0, mut k1, mut b0, mut b1) = (k0, k1, b0, b1);
        let mut layers = [
            Layer {
                op: Op::Dense,
                kernel: &mut k0,
                bias: Some(&mut b0),
                act: acts[0],
                trainable: true,
                slots: [None, None, None, None],
            },
            Layer {
                op: Op::Dense,
                kernel: &mut k1,
                bias: Some(&mut b1),
                act: acts[1],
                trainable: true,
                slots: [None, None, None, None],
            },
        ];
        let run = sgd_mse(0.5, &[Metric::MeanAbsoluteError], &x, &t);
        let mut failed = 0;
        let n = workspace_len(&mut layers[..], 3, 2, &mut failed).unwrap();
        let mut ws = vec![0.0f32; n];
        let (mut sums, mut iterations) = ([0.0f32; 2], 0u32);
        assert_eq!(
            epoch(
                &mut layers[..],
                &run,
                &mut ws[..n - 1],
                &mut sums,
                &mut iterations,
                &mut failed
            ),
            Err(Status::Size)
        );
        epoch(
            &mut layers[..],
            &run,
            &mut ws,
            &mut sums,
            &mut iterations,
            &mut failed,
        )
        .unwrap();
        assert_eq!(iterations, 3, "5 rows, 2 per batch");
        assert!((sums[0] - want).abs() < 1e-5, "{} vs {want}", sums[0]);
        for (got, want) in [
            (&*layers[0].kernel, &rk[0]),
            (&*layers[1].kernel, &rk[1]),
            (layers[1].bias.as_deref().unwrap(), &rb[1]),
        ] {
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
            }
        }
    }

    /// Past the first Spans::MAX layers the batches' phases locate each
    /// layer by walking the ones before: the same epoch either way.
    #[test]
    fn deeper_nets_than_the_cached_spans_match_the_per_sample_loop() {
        let n_layers = Spans::MAX + 2;
        let acts: Vec<Activation> = (0..n_layers)
            .map(|l| {
                if l + 1 < n_layers {
                    Activation::Tanh
                } else {
                    Activation::Linear
                }
            })
            .collect();
        let k0: Vec<Vec<f32>> = (0..n_layers)
            .map(|l| {
                (0..9)
                    .map(|i| (((i + l) * 7 % 11) as f32 - 5.0) / 6.0)
                    .collect()
            })
            .collect();
        let b0: Vec<Vec<f32>> = (0..n_layers)
            .map(|l| vec![0.1 * (l % 3) as f32; 3])
            .collect();
        let x: Vec<f32> = (0..15).map(|i| ((i * 3 % 13) as f32 - 6.0) / 6.0).collect();
        let t: Vec<f32> = (0..15).map(|i| (i % 4) as f32 / 3.0).collect();
        let (mut rk, mut rb) = (k0.clone(), b0.clone());
        let want = reference(&mut rk, &mut rb, &acts, &x, &t, 2, 0.1);
        let (mut k, mut b) = (k0, b0);
        let mut layers: Vec<Layer> = k
            .iter_mut()
            .zip(b.iter_mut())
            .zip(&acts)
            .map(|((k, b), &act)| Layer {
                op: Op::Dense,
                kernel: k,
                bias: Some(b),
                act,
                trainable: true,
                slots: [None, None, None, None],
            })
            .collect();
        let run = sgd_mse(0.1, &[], &x, &t);
        let (sums, _) = run_epoch::<_, 1>(&mut layers[..], &run);
        assert!((sums[0] - want).abs() < 1e-4, "{} vs {want}", sums[0]);
        for (l, layer) in layers.iter().enumerate() {
            for (g, w) in layer.kernel.iter().zip(&rk[l]) {
                assert!((g - w).abs() < 1e-5, "layer {l}: {g} vs {w}");
            }
        }
    }

    /// A network of every kind fit() trains through: Conv1D (same, tanh),
    /// max pooling, the affine layer, Conv1D (valid, softmax per step, no
    /// bias), global average pooling, dense (sigmoid): the epoch (SGD,
    /// plain and with momentum) against the per-sample loop over each
    /// layer's own kernels, as anne_train's Python loop runs them.
    #[test]
    fn epoch_through_conv_and_pooling_matches_the_per_sample_loop() {
        use crate::layers::{pool1d::Pool, window::Padding};
        let conv1 = Conv1d {
            in_channels: 2,
            kernel_size: 3,
            strides: 1,
            dilation: 1,
            padding: Padding::Same,
        };
        let pool = Pool1d {
            pool: Pool::Max,
            global: false,
            channels: 4,
            pool_size: 2,
            strides: 2,
            padding: Padding::Valid,
        };
        let conv2 = Conv1d {
            in_channels: 4,
            kernel_size: 2,
            strides: 1,
            dilation: 1,
            padding: Padding::Valid,
        };
        let gap = Pool1d {
            pool: Pool::Average,
            global: true,
            channels: 3,
            pool_size: 0,
            strides: 0,
            padding: Padding::Valid,
        };
        let ops = [
            Op::Conv(conv1),
            Op::Pool(pool),
            Op::Affine(4),
            Op::Conv(conv2),
            Op::Pool(gap),
            Op::Dense,
        ];
        let acts = [
            Activation::Tanh,
            Activation::Linear,
            Activation::Linear,
            Activation::Softmax,
            Activation::Linear,
            Activation::Sigmoid,
        ];
        let wave = |n: usize, a: usize, d: f32| -> Vec<f32> {
            (0..n).map(|i| ((i * a % 13) as f32 - 6.0) / d).collect()
        };
        let kernels0 = [
            wave(24, 7, 9.0),
            vec![],
            vec![1.5, 0.5, -1.0, 2.0],
            wave(24, 5, 8.0),
            vec![],
            wave(6, 3, 5.0),
        ];
        let biases0 = [
            Some(wave(4, 3, 20.0)),
            None,
            Some(vec![0.1, -0.2, 0.0, 0.3]),
            None,
            None,
            Some(vec![0.1, -0.1]),
        ];
        let trained = [true, false, false, true, false, true];
        let x = wave(5 * 12, 3, 6.0);
        let t: Vec<f32> = (0..10).map(|i| (i % 3) as f32 / 2.0).collect();
        for momentum in [0.0f32, 0.9] {
            let lr = 0.5;
            // the reference
            let (mut rk, mut rb) = (kernels0.clone(), biases0.clone());
            let mut mk: Vec<Vec<f32>> = rk.iter().map(|k| vec![0.0; k.len()]).collect();
            let mut mb: Vec<Vec<f32>> = rb
                .iter()
                .map(|b| vec![0.0; b.as_ref().map_or(0, |b| b.len())])
                .collect();
            let mut want = 0.0;
            for start in (0..5).step_by(2) {
                let nb = 2.min(5 - start);
                let mut gk: Vec<Vec<f32>> = rk.iter().map(|k| vec![0.0; k.len()]).collect();
                let mut gb: Vec<Vec<f32>> = mb.iter().map(|b| vec![0.0; b.len()]).collect();
                for r in start..start + nb {
                    let mut ins = vec![x[r * 12..(r + 1) * 12].to_vec()];
                    let mut zs = vec![];
                    for l in 0..6 {
                        let n = [24, 12, 12, 6, 3, 2][l];
                        let mut z = vec![0.0; n];
                        let (k, b) = (&rk[l][..], rb[l].as_deref());
                        match ops[l] {
                            Op::Dense => {
                                dense_f32(&ins[l], k, b, &mut z, &Activation::Linear).unwrap()
                            }
                            Op::Conv(c) => {
                                conv1d_f32(&c, &ins[l], k, b, &mut z, &Activation::Linear).unwrap()
                            }
                            Op::Pool(p) => pool1d_f32(&p, &ins[l], &mut z).unwrap(),
                            Op::Affine(_) => affine_f32(&ins[l], k, b.unwrap(), &mut z).unwrap(),
                        }
                        let mut a = z.clone();
                        let width = if l == 3 { 3 } else { n };
                        for row in a.chunks_exact_mut(width) {
                            apply(row, &acts[l]).unwrap();
                        }
                        zs.push(z);
                        ins.push(a);
                    }
                    let (mut dy, mut dz) = (vec![0.0; 2], vec![0.0; 2]);
                    let tr = &t[r * 2..r * 2 + 2];
                    want += loss_and_grad(
                        Loss::MeanSquaredError,
                        &acts[5],
                        &zs[5],
                        &ins[6],
                        tr,
                        Some((&mut dy, &mut dz, 1.0)),
                    )
                    .unwrap();
                    for l in (0..6).rev() {
                        let mut dx = vec![0.0; ins[l].len()];
                        let scale = 1.0 / nb as f32;
                        let gbl = if gb[l].is_empty() {
                            None
                        } else {
                            Some(&mut gb[l][..])
                        };
                        match ops[l] {
                            Op::Dense => dense_backward(
                                &ins[l],
                                &rk[l],
                                &dz,
                                scale,
                                &mut gk[l],
                                gbl,
                                Some(&mut dx),
                            )
                            .unwrap(),
                            Op::Conv(c) => conv1d_backward_f32(
                                &c,
                                &ins[l],
                                &rk[l],
                                &dz,
                                scale,
                                Some(&mut gk[l]),
                                gbl,
                                Some(&mut dx),
                            )
                            .unwrap(),
                            Op::Pool(p) => pool1d_backward_f32(&p, &ins[l], &dz, &mut dx).unwrap(),
                            Op::Affine(_) => affine_backward_f32(&dz, &rk[l], &mut dx).unwrap(),
                        }
                        if l > 0 {
                            let mut pdz = vec![0.0; zs[l - 1].len()];
                            let width = if l - 1 == 3 { 3 } else { pdz.len() };
                            for (((z, y), d), o) in zs[l - 1]
                                .chunks_exact(width)
                                .zip(ins[l].chunks_exact(width))
                                .zip(dx.chunks_exact(width))
                                .zip(pdz.chunks_exact_mut(width))
                            {
                                activation_backward(&acts[l - 1], z, y, d, o).unwrap();
                            }
                            dz = pdz;
                        }
                    }
                }
                for l in 0..6 {
                    if trained[l] {
                        let m = (momentum != 0.0).then_some(&mut mk[l][..]);
                        sgd(&mut rk[l], &gk[l], m, lr, momentum, false).unwrap();
                        if let Some(b) = rb[l].as_mut() {
                            let m = (momentum != 0.0).then_some(&mut mb[l][..]);
                            sgd(b, &gb[l], m, lr, momentum, false).unwrap();
                        }
                    }
                }
            }
            // the epoch
            let (mut k, mut b) = (kernels0.clone(), biases0.clone());
            let (mut sk, mut sb) = (mk.clone(), mb.clone());
            for v in sk.iter_mut().chain(sb.iter_mut()) {
                v.fill(0.0);
            }
            let mut layers: Vec<Layer> = k
                .iter_mut()
                .zip(b.iter_mut())
                .zip(sk.iter_mut().zip(sb.iter_mut()))
                .enumerate()
                .map(|(l, ((k, b), (sk, sb)))| Layer {
                    op: ops[l],
                    kernel: k,
                    bias: b.as_deref_mut(),
                    act: acts[l],
                    trainable: trained[l],
                    slots: [Some(sk), None, (!sb.is_empty()).then_some(sb), None],
                })
                .collect();
            let mut run = sgd_mse(lr, &[], &x, &t);
            run.n_in = 12;
            run.optimizer = Optimizer::Sgd {
                learning_rate: lr,
                momentum,
                nesterov: false,
            };
            let (sums, iterations) = run_epoch::<_, 1>(&mut layers[..], &run);
            assert_eq!(iterations, 3);
            assert!((sums[0] - want).abs() < 1e-5, "{} vs {want}", sums[0]);
            let mut moved = 0.0f32;
            for l in 0..6 {
                for (i, (g, w)) in layers[l].kernel.iter().zip(&rk[l]).enumerate() {
                    assert!(
                        (g - w).abs() < 1e-5,
                        "momentum {momentum}, layer {l}, kernel[{i}]: {g} vs {w}"
                    );
                    moved = moved.max((w - kernels0[l][i]).abs());
                }
                if let (Some(g), Some(w)) = (layers[l].bias.as_deref(), rb[l].as_ref()) {
                    for (g, w) in g.iter().zip(w) {
                        assert!(
                            (g - w).abs() < 1e-5,
                            "momentum {momentum}, layer {l} bias: {g} vs {w}"
                        );
                    }
                }
            }
            assert!(moved > 1e-3, "the weights moved: {moved}");
        }
    }

    #[test]
    fn class_indices_are_whole_numbers_below_n() {
        for (v, n, want) in [
            (0.0f32, 3, Some(0)),
            (-0.0, 3, Some(0)),
            (0.0, 0, None),
            (1.0, 3, Some(1)),
            (2.0, 3, Some(2)),
            (3.0, 3, None),
            (0.5, 3, None),
            (1.5, 3, None),
            (2.000_000_2, 3, None),
            (-1.0, 3, None),
            (f32::NAN, 3, None),
            (f32::INFINITY, 3, None),
            (f32::from_bits(1), 3, None),
            (16_777_215.0, 1 << 24, Some((1 << 24) - 1)),
            (16_777_216.0, usize::MAX, None),
        ] {
            assert_eq!(class_index(v, n), want, "{v:e} below {n}");
        }
        for k in 0..1000usize {
            assert_eq!(class_index(k as f32, 1000), Some(k));
        }
    }

    #[test]
    fn a_step_that_overflows_is_undone() {
        let (mut k, mut b) = (vec![1.0f32, -1.0], vec![0.0f32]);
        let kept = k.clone();
        let mut layers = [Layer {
            op: Op::Dense,
            kernel: &mut k,
            bias: Some(&mut b),
            act: Activation::Linear,
            trainable: true,
            slots: [None, None, None, None],
        }];
        let (x, t) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32, 0.0]);
        let run = Run {
            loss: Loss::MeanSquaredError,
            metrics: &[],
            optimizer: Optimizer::Sgd {
                learning_rate: 1e38,
                momentum: 0.0,
                nesterov: false,
            },
            batch: 1,
            train: true,
            n_in: 2,
            x: &x,
            t: &t,
            order: Some(&[1, 0]),
        };
        let mut failed = 9;
        let mut ws = vec![0.0f32; workspace_len(&mut layers[..], 2, 1, &mut failed).unwrap()];
        let (mut sums, mut it) = ([0.0f32], 0u32);
        // row 1 first: loss 1, but lr * gradient overflows float32
        assert_eq!(
            epoch(
                &mut layers[..],
                &run,
                &mut ws,
                &mut sums,
                &mut it,
                &mut failed
            ),
            Err(Status::StepNotFinite)
        );
        assert_eq!((failed, it, sums[0]), (0, 0, 1.0));
        assert_eq!(layers[0].kernel, &kept[..], "the step was undone");
        let huge = Run {
            t: &[1e30, 0.0],
            optimizer: Optimizer::Sgd {
                learning_rate: 0.01,
                momentum: 0.0,
                nesterov: false,
            },
            ..run
        };
        assert_eq!(
            epoch(
                &mut layers[..],
                &huge,
                &mut ws,
                &mut sums,
                &mut it,
                &mut failed
            ),
            Err(Status::LossNotFinite)
        );
        assert_eq!((failed, it), (1, 1), "row 1 steps, row 0's loss overflows");
        let labels = Run {
            loss: Loss::SparseCategoricalCrossentropy,
            t: &[0.0, 1.0],
            ..run
        };
        assert_eq!(
            epoch(
                &mut layers[..],
                &labels,
                &mut ws,
                &mut sums,
                &mut it,
                &mut failed
            ),
            Err(Status::Label),
            "1 output: class 1 is out of range"
        );
    }

    #[test]
    fn a_refused_step_leaves_the_optimizer_slots() {
        // Adam: g * g overflows v (w would stay finite); momentum SGD: m
        // overflows. Either step is refused with the weights and slots as
        // they were, and the iteration count not advanced.
        let (x, t) = ([1e10f32, 0.0], [0.0f32]);
        let cases = [
            Optimizer::Adam {
                learning_rate: 0.001,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            Optimizer::Sgd {
                learning_rate: 1e20,
                momentum: 0.9,
                nesterov: false,
            },
        ];
        for optimizer in cases {
            let (mut k, mut b) = (vec![1.0f32, 0.5], vec![0.25f32]);
            let (mut mk, mut vk) = (vec![0.5f32, -0.5], vec![0.125f32, 0.25]);
            let (mut mb, mut vb) = (vec![0.0625f32], vec![0.5f32]);
            let adam = matches!(optimizer, Optimizer::Adam { .. });
            let mut layers = [Layer {
                op: Op::Dense,
                kernel: &mut k,
                bias: Some(&mut b),
                act: Activation::Linear,
                trainable: true,
                slots: [
                    Some(&mut mk),
                    if adam { Some(&mut vk) } else { None },
                    Some(&mut mb),
                    if adam { Some(&mut vb) } else { None },
                ],
            }];
            let run = Run {
                loss: Loss::MeanSquaredError,
                metrics: &[],
                optimizer,
                batch: 1,
                train: true,
                n_in: 2,
                x: &x,
                t: &t,
                order: None,
            };
            let mut failed = 9;
            let mut ws = vec![0.0f32; workspace_len(&mut layers[..], 2, 1, &mut failed).unwrap()];
            let (mut sums, mut it) = ([0.0f32], 3u32);
            let got = epoch(
                &mut layers[..],
                &run,
                &mut ws,
                &mut sums,
                &mut it,
                &mut failed,
            );
            assert_eq!(got, Err(Status::StepNotFinite), "{optimizer:?}");
            assert_eq!(it, 3, "the refused step is not counted");
            drop(layers);
            assert_eq!((k, b), (vec![1.0, 0.5], vec![0.25]));
            assert_eq!((mk, mb), (vec![0.5, -0.5], vec![0.0625]), "{optimizer:?}");
            assert_eq!((vk, vb), (vec![0.125, 0.25], vec![0.5]), "{optimizer:?}");
        }
    }
}
