//! The training loop: one epoch (or one evaluation) over a chain of
//! layers, batch by batch (see src/train/mod.rs).

use super::loss::{loss_and_grad, pow};
use super::metric::{class_index, metric};
use super::net::{Inputs, Layer, Layers, Run};
use super::loss::Loss;
use super::metric::Metric;
use super::optim::{all_finite, plain_sgd, step_in_place, step_is_finite, AdamBound, Optimizer};
use super::workspace::*;
use crate::activation::backward::activation_backward;
use crate::activation::{apply, Activation};
use crate::layers::conv1d::activate_rows;
use crate::layers::dense::{dense_backward_f32, run_linear};
use crate::layers::merge::{merge_f32, merge_input_backward_f32, Merge};
use crate::layers::Weights;
use crate::math;
use crate::Status;

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
    let mut n_out = 0;
    for l in 0..n_layers {
        *failed = l;
        let (_, s) = locate(layers, &spans, n_in, batch, l)?;
        let layer = layers.layer(l)?;
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
                backward(layers, run, &spans, ws, ones, dy, &rows, first_trained)?;
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
pub(crate) struct Rows<'a> {
    pub(crate) order: Option<&'a [u32]>,
    pub(crate) start: usize,
    pub(crate) nb: usize,
}

impl Rows<'_> {
    pub(crate) fn row(&self, b: usize) -> usize {
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
pub(crate) fn linear(
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
pub(crate) fn outer_or_linear(
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

/// `dst += src` (slices of the same length; a shorter one ends the sum).
pub(crate) fn add(dst: &mut [f32], src: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d += v;
    }
}

/// [`activation_backward`] over rows of `width` values for the vector
/// activations (a Conv1D's per step), at once for the others.
pub(crate) fn backward_rows(
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
pub(crate) fn copy(dst: &mut [f32], src: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v;
    }
}

/// `row`th row of `width` values of `data` (checked: empty if out of range).
pub(crate) fn row_of(data: &[f32], row: usize, width: usize) -> &[f32] {
    data.get(row * width..(row + 1) * width).unwrap_or(&[])
}

pub(crate) fn row_of_mut(data: &mut [f32], row: usize, width: usize) -> &mut [f32] {
    data.get_mut(row * width..(row + 1) * width)
        .unwrap_or(&mut [])
}

/// Every sample of the batch through every layer: `z`, `a` and the inputs
/// transposed into `xt`.
pub(crate) fn forward<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    rows: &Rows,
) -> Result<(), Status> {
    let batch = spans.rows;
    for l in 0..layers.count() {
        if let Some(m) = merge_at(spans, l) {
            merge_pass(layers, run, spans, ws, rows, l, m, None)?;
            continue;
        }
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
                // (Op's dispatch is out of line: the dense path's loops
                // stay as they were without it)
                layer.op.forward_f32(x, kernel, bias, z, &Activation::Linear)?;
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
pub(crate) fn loss_batch<L: Layers + ?Sized>(
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
    let (w, s) = work(layers, spans, ws, run.n_in, last)?;
    let act = layers.act(last)?;
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
pub(crate) fn backward<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    ones: &[f32],
    dy: &mut [f32],
    rows: &Rows,
    first_trained: usize,
) -> Result<(), Status> {
    let (batch, nb) = (spans.rows, rows.nb);
    let count = layers.count();
    if spans.graph {
        // each sample's sums of the gradients at the layers' outputs
        for l in first_trained..count {
            work(layers, spans, ws, run.n_in, l)?.0.da.fill(0.0);
        }
    }
    for l in (first_trained..count).rev() {
        // the layer it hands dL/dx (a chain's: the one before), if trained
        // or after one that is
        let to = match spans.at.get(l).filter(|_| l < spans.n) {
            Some(&(_, s)) => (s.src as usize).checked_sub(1),
            None => l.checked_sub(1),
        };
        let prev_act = match to.filter(|&j| j >= first_trained) {
            Some(j) => Some(layers.act(j)?),
            None => None,
        };
        if spans.graph {
            // dL/dz from the sum of its readers' dL/da (the last layer's:
            // the loss's)
            let (w, s) = work(layers, spans, ws, run.n_in, l)?;
            let act = layers.act(l)?;
            if s.da {
                let y = w.a.get(..s.n_out).unwrap_or(&[]);
                backward_rows(&act, s.width, w.z, y, w.da, w.dz)?;
            }
            if let Some(m) = s.merge {
                merge_pass(layers, run, spans, ws, rows, l, m, Some((dy, first_trained)))?;
                continue;
            }
        }
        let ((w, s), prev) = works(layers, spans, ws, run.n_in, l)?;
        let layer = layers.layer(l)?;
        if s.units == 0 {
            return Err(Status::KernelSize); // (shape_of refused it already)
        }
        let dz = w.dz.get(..nb * s.units).ok_or(Status::Size)?;
        // A trained convolution's gradients (Conv1D, Conv2D,
        // DepthwiseConv2D): added to the sums over the batch (begin_batch
        // cleared them), with the gradient for the layer before (if it
        // needs one) in one call per sample.
        let conv_grads = s.trainable && !layer.op.is_dense() && layer.op.weights() == Weights::Trained;
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
                    layer.op.backward_f32(x, layer.kernel, dzb, 1.0, gk, gb, Some(&mut *dy))?;
                }
                if spans.graph {
                    add(p.da, dy); // (one sample)
                    continue;
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
                layer.op.backward_f32(x, layer.kernel, dzb, 1.0, gk, gb, None)?;
            }
        }
        if !s.trainable || conv_grads {
            continue;
        }
        if spans.per_sample {
            // one sample's x and dz: added to the sums over the batch
            let (x, dz) = (row_of(w.xt, 0, s.n_in), row_of(dz, 0, s.units));
            let gb = s.bias.then_some(&mut *w.gb);
            dense_backward_f32(x, layer.kernel, dz, 1.0, w.gk, gb, None)?;
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

/// A graph's layer `l`'s merge, if it is one.
fn merge_at(spans: &Spans, l: usize) -> Option<Merge> {
    spans.at.get(l).filter(|_| spans.graph && l < spans.n)?.1.merge
}

/// A graph's merge `l` on one sample: forward (`back` None), `z` from its
/// sources' outputs (x's row, or layers' `a`), then `a` its activation;
/// or backward (`back`: the shared `dy`, the first trained layer): each
/// input's gradient from `dz` (TensorFlow's,
/// [`merge_input_backward_f32`]) into `dy`, then added to its source's
/// `da` (a layer at or after the first trained one).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn merge_pass<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    rows: &Rows,
    l: usize,
    m: Merge,
    back: Option<(&mut [f32], usize)>,
) -> Result<(), Status> {
    let inputs = layers.inputs(l).of(l);
    let m_rows = inputs.rows;
    let sources = inputs.sources();
    let act = layers.act(l)?;
    let (offset, s) = locate(layers, spans, run.n_in, 1, l)?;
    let (before, here) = ws.split_at_mut_checked(offset).ok_or(Status::Size)?;
    let w = s.carve(here, 1)?;
    let n = sources.len();
    let Some((dy, first_trained)) = back else {
        let xs = gather(before, spans, run, rows, sources)?;
        merge_f32(m, xs.get(..n).ok_or(Status::Size)?, w.z, m_rows)?;
        copy(w.a, w.z);
        return apply(w.a, &act).map(|_| ());
    };
    for (k, &j) in sources.iter().enumerate() {
        let Some(p) = (j as usize).checked_sub(1).filter(|&p| p >= first_trained) else {
            continue;
        };
        let xs = gather(before, spans, run, rows, sources)?;
        let xs = xs.get(..n).ok_or(Status::Size)?;
        let dx = dy.get_mut(..xs.get(k).map_or(0, |x| x.len())).ok_or(Status::Size)?;
        merge_input_backward_f32(m, xs, w.dz, k, dx, m_rows)?;
        let &(po, ps) = spans.at.get(p).ok_or(Status::Size)?;
        add(ps.carve(before.get_mut(po..).ok_or(Status::Size)?, 1)?.da, dx);
    }
    Ok(())
}

/// A merge's inputs (`sources`, as [`Inputs`]): x's row, or the outputs
/// of layers in `before` (the workspace before the merge's part).
fn gather<'b>(
    before: &'b [f32],
    spans: &Spans,
    run: &'b Run,
    rows: &Rows,
    sources: &[u32],
) -> Result<[&'b [f32]; Inputs::MAX], Status> {
    let mut xs: [&[f32]; Inputs::MAX] = [&[]; Inputs::MAX];
    for (x, &j) in xs.iter_mut().zip(sources) {
        *x = match (j as usize).checked_sub(1) {
            None => row_of(run.x, rows.row(0), run.n_in),
            Some(p) => {
                let &(po, ps) = spans.at.get(p).ok_or(Status::Size)?;
                let at = ps.a_at(po, 1);
                before.get(at..at + ps.n_out).ok_or(Status::Size)?
            }
        };
    }
    Ok(xs)
}

/// `kt = kernel^T` (a dense kernel of `n_in x units`).
pub(crate) fn transpose(kernel: &[f32], units: usize, n_in: usize, kt: &mut [f32]) {
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
pub(crate) fn begin_batch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
    first_trained: usize,
) -> Result<(), Status> {
    for l in first_trained..layers.count() {
        let (w, s) = work(layers, spans, ws, run.n_in, l)?;
        if s.trainable {
            w.gk.fill(0.0);
            w.gb.fill(0.0);
        }
        if s.dense && s.src as usize > first_trained {
            transpose(layers.layer(l)?.kernel, s.units, s.n_in, w.kt);
        }
    }
    Ok(())
}

/// After a per_sample batch's backward passes, for plain SGD (its `dz`
/// holds -lr / nb times the gradient): the sums of the gradients become
/// the new weights, the old ones plus those sums. (A batch of dense layers
/// has its new weights from [`backward`] already.)
pub(crate) fn end_batch<L: Layers + ?Sized>(
    layers: &mut L,
    run: &Run,
    spans: &Spans,
    ws: &mut [f32],
) -> Result<(), Status> {
    if plain_sgd(&run.optimizer).is_none() {
        return Ok(());
    }
    for l in 0..layers.count() {
        let (w, s) = work(layers, spans, ws, run.n_in, l)?;
        if !s.trainable {
            continue;
        }
        let layer = layers.layer(l)?;
        add(w.gk, layer.kernel);
        add(w.gb, layer.bias.as_deref().unwrap_or(&[]));
    }
    Ok(())
}

/// The optimizer's step on every trained layer, committed only if every new
/// weight and every new optimizer slot is finite ([`Status::StepNotFinite`],
/// nothing written, if not: the weights and the momentum or Adam slots stay
/// those of the last finite step). For plain SGD the backward pass put the
/// new weights in `gk` and `gb` already: they are checked, then copied. The
/// other optimizers' steps are computed twice: once to check them (writing
/// nothing), then in place (weights and slots), with the same arithmetic.
pub(crate) fn update<L: Layers + ?Sized>(
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
    // Adam: most steps are seen finite from their exponents alone.
    let bound = AdamBound::new(&run.optimizer, alpha);
    let mut finite = true;
    for l in 0..layers.count() {
        let (w, s) = work(layers, spans, ws, run.n_in, l)?;
        if !s.trainable {
            continue;
        }
        if plain {
            finite &= all_finite(w.gk) && all_finite(w.gb);
            continue;
        }
        let layer = layers.layer(l)?;
        let [s0, s1, s2, s3] = &layer.slots;
        let sure = |w: &[f32], g: &[f32], m: &Option<&mut [f32]>, v: &Option<&mut [f32]>| {
            bound.is_some_and(|b| b.holds(w, g, m.as_deref(), v.as_deref()))
        };
        if !sure(layer.kernel, w.gk, s0, s1) {
            finite &= step_is_finite(&run.optimizer, alpha, layer.kernel, w.gk, s0, s1)?;
        }
        if let Some(bias) = layer.bias.as_deref() {
            if !sure(bias, w.gb, s2, s3) {
                finite &= step_is_finite(&run.optimizer, alpha, bias, w.gb, s2, s3)?;
            }
        }
    }
    if !finite {
        return Err(Status::StepNotFinite);
    }
    for l in 0..layers.count() {
        let (w, s) = work(layers, spans, ws, run.n_in, l)?;
        if !s.trainable {
            continue;
        }
        let layer = layers.layer(l)?;
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

/// The slots the optimizer needs for this layer are there, of its sizes.
pub(crate) fn check_slots(layer: &Layer, opt: &Optimizer) -> Result<(), Status> {
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

