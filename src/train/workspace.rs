//! The training loop's workspace: each layer's shape and the spans of the
//! one buffer the caller allocates ([`workspace_len`] floats).

use super::net::{Inputs, Layer, Layers};
use crate::activation::Activation;
use crate::layers::merge::Merge;
use crate::layers::{Op, Weights};
use crate::Status;

/// One layer's shape: inputs, units (pre-activations) and outputs (units,
/// or units / 2 for glu), the rows its activation works over (`width`:
/// units, or a Conv1D's filters), its kernel's length, and whether it is dense.
#[derive(Clone, Copy, Default)]
pub(crate) struct Shape {
    pub(crate) dense: bool,
    pub(crate) n_in: usize,
    pub(crate) units: usize,
    pub(crate) n_out: usize,
    pub(crate) width: usize,
    pub(crate) kernel_len: usize,
    pub(crate) bias: bool,
    pub(crate) trainable: bool,
    /// What it reads (one input): 0 for x, `j + 1` for layer `j`'s outputs
    /// (a chain's layer `l`: `l`); it has no kernel transposed if x. (16
    /// bits, and the merge's kind alone: a shape small enough to be copied
    /// without a `memcpy` call, which the training loop does many times a
    /// batch; [`workspace`] refuses more layers.)
    pub(crate) src: u16,
    /// A graph's merge: no inputs of its own (it reads its sources'
    /// outputs), no kernel (its `rows`: its [`Inputs`]').
    pub(crate) merge: Option<Merge>,
    /// A graph's layer whose outputs other layers read: its `da`, the sum
    /// of their gradients.
    pub(crate) da: bool,
}

/// A layer's part of the workspace (in this order): its inputs transposed
/// (dense) or as rows, `z`, `a`, `dz` (one row of `units` per sample), the
/// kernel transposed (dense, not for the first layer), and (trained layers only) the gradients,
/// which the step turns into the new weights: they are copied over the
/// old ones only if every one of them is finite.
pub(crate) struct Work<'w> {
    pub(crate) xt: &'w mut [f32],
    pub(crate) z: &'w mut [f32],
    pub(crate) a: &'w mut [f32],
    pub(crate) dz: &'w mut [f32],
    pub(crate) kt: &'w mut [f32],
    pub(crate) gk: &'w mut [f32],
    pub(crate) gb: &'w mut [f32],
    pub(crate) da: &'w mut [f32],
}

impl Shape {
    pub(crate) fn lens(&self, batch: usize) -> [usize; 8] {
        let weights = self.kernel_len;
        let bias = if self.bias { self.width } else { 0 };
        let rows = batch * self.units;
        let trained = if self.trainable { 1 } else { 0 };
        let dense = self.dense;
        [
            if self.merge.is_some() { 0 } else { self.n_in * batch },
            rows,
            rows,
            rows,
            if self.src == 0 || !dense { 0 } else { weights },
            trained * weights,
            trained * bias,
            if self.da { batch * self.n_out } else { 0 },
        ]
    }

    pub(crate) fn len(&self, batch: usize) -> usize {
        self.lens(batch).iter().sum()
    }

    pub(crate) fn carve<'w>(&self, ws: &'w mut [f32], batch: usize) -> Result<Work<'w>, Status> {
        let [n0, n1, n2, n3, n4, n5, n6, n7] = self.lens(batch);
        let (xt, ws) = ws.split_at_mut_checked(n0).ok_or(Status::Size)?;
        let (z, ws) = ws.split_at_mut_checked(n1).ok_or(Status::Size)?;
        let (a, ws) = ws.split_at_mut_checked(n2).ok_or(Status::Size)?;
        let (dz, ws) = ws.split_at_mut_checked(n3).ok_or(Status::Size)?;
        let (kt, ws) = ws.split_at_mut_checked(n4).ok_or(Status::Size)?;
        let (gk, ws) = ws.split_at_mut_checked(n5).ok_or(Status::Size)?;
        let (gb, ws) = ws.split_at_mut_checked(n6).ok_or(Status::Size)?;
        let da = ws.get_mut(..n7).ok_or(Status::Size)?;
        Ok(Work {
            xt,
            z,
            a,
            dz,
            kt,
            gk,
            gb,
            da,
        })
    }

    /// Where its outputs `a` (one sample's `n_out`) are, from its offset.
    pub(crate) fn a_at(&self, offset: usize, batch: usize) -> usize {
        let [n0, n1, ..] = self.lens(batch);
        offset + n0 + n1
    }
}

/// The shape of a layer reading `n_in` values, checked: a dense kernel
/// holds `n_in x units`, the bias `units`, the activation is valid for
/// them; the other kinds as their kernels check them (a pooling, affine or
/// ZeroPadding2D layer is linear and not trainable; a convolution's
/// vector activations work over each position's channels); and the
/// workspace sizes fit a `usize` in bytes.
pub(crate) fn shape_of(layer: &Layer, n_in: usize, batch: usize) -> Result<Shape, Status> {
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
        op => {
            if op.weights() != Weights::Trained
                && (layer.trainable || !matches!(layer.act, Activation::Linear))
            {
                return Err(Status::Kind);
            }
            let (units, width) = op.train_shape(n_in, k, bias, &layer.act)?;
            (units, units, width)
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
        src: 0,
        merge: None,
        da: false,
    })
}

/// The shape of a graph's merge of `inputs` (their lengths `lens`):
/// Keras's checks (two inputs or more, Subtract two; element-wise ones of
/// one length, Concatenate's whole rows), an element-wise activation, no
/// weights, not trained.
fn merge_shape(layer: &Layer, m: Merge, inputs: &Inputs, lens: &[usize]) -> Result<Shape, Status> {
    let n = lens.len();
    if n < 2 || (m == Merge::Subtract && n != 2) {
        return Err(Status::Size);
    }
    let rows = inputs.rows;
    let total = lens.iter().try_fold(0usize, |t, &v| t.checked_add(v)).ok_or(Status::Size)?;
    let units = if m == Merge::Concatenate {
        if rows == 0 || rows > u32::MAX as usize || lens.iter().any(|&v| v == 0 || !v.is_multiple_of(rows)) {
            return Err(Status::XSize);
        }
        total
    } else {
        let first = *lens.first().ok_or(Status::Size)?;
        if lens.iter().any(|&v| v != first) {
            return Err(Status::XSize);
        }
        first
    };
    layer.act.validate()?;
    if layer.trainable || !layer.kernel.is_empty() || layer.bias.is_some() || !layer.act.is_elementwise() {
        return Err(Status::Kind);
    }
    Ok(Shape {
        n_in: total,
        units,
        n_out: units,
        width: units,
        merge: Some(m),
        ..Shape::default()
    })
}

/// The first [`Spans::MAX`] layers' offsets in the layers' part of the
/// workspace and their shapes, found once per call by [`workspace`]: the
/// batches' phases then need not walk the layers before each one (deeper
/// layers are still located by that walk).
pub(crate) struct Spans {
    pub(crate) at: [(usize, Shape); Spans::MAX],
    pub(crate) n: usize,
    /// Every layer's kernel holds no NaN or ±inf (checked once per epoch;
    /// a step that would make one so is refused), nor then does its
    /// transpose: the dense kernel need not look at the rows of zero inputs.
    pub(crate) finite: bool,
    /// The rows of each layer's buffers: the batch, or (`per_sample`) one.
    pub(crate) rows: usize,
    /// A network with other layers than dense runs each sample's forward
    /// and backward pass in turn, its gradients summed over the batch: its
    /// buffers (a Conv1D's are large) hold one sample, not a batch.
    pub(crate) per_sample: bool,
    /// A graph (its layers name their inputs): per sample, every layer in
    /// `at` (at most [`Spans::MAX`]).
    pub(crate) graph: bool,
}

impl Spans {
    pub(crate) const MAX: usize = 16;
}

/// Layer `l`'s offset in the layers' part of the workspace, and its shape.
pub(crate) fn locate<L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    n_in: usize,
    batch: usize,
    l: usize,
) -> Result<(usize, Shape), Status> {
    if let Some(&found) = spans.at.get(l).filter(|_| l < spans.n) {
        return Ok(found);
    }
    if spans.graph {
        return Err(Status::Size);
    }
    let (mut offset, mut n) = (0, n_in);
    for i in 0..layers.count() {
        let mut s = shape_of(&layers.layer(i)?, n, batch)?;
        s.src = i as u16;
        if i == l {
            return Ok((offset, s));
        }
        offset += s.len(batch);
        n = s.n_out;
    }
    Err(Status::Size)
}

/// Layer `l`'s work area and shape (not the one it reads: [`works`]).
pub(crate) fn work<'w, L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    ws: &'w mut [f32],
    n_in: usize,
    l: usize,
) -> Result<(Work<'w>, Shape), Status> {
    let (offset, s) = locate(layers, spans, n_in, spans.rows, l)?;
    let here = ws.get_mut(offset..).ok_or(Status::Size)?;
    Ok((s.carve(here, spans.rows)?, s))
}

/// Layer `l`'s work area, and (unless it reads x) that of the layer it
/// reads (a chain's: the one before), with their shapes.
#[allow(clippy::type_complexity)]
pub(crate) fn works<'w, L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    ws: &'w mut [f32],
    n_in: usize,
    l: usize,
) -> Result<((Work<'w>, Shape), Option<(Work<'w>, Shape)>), Status> {
    let batch = spans.rows;
    let (offset, s) = locate(layers, spans, n_in, batch, l)?;
    let (before, here) = ws.split_at_mut_checked(offset).ok_or(Status::Size)?;
    let this = (s.carve(here, batch)?, s);
    let Some(p) = (s.src as usize).checked_sub(1).filter(|_| s.merge.is_none()) else {
        return Ok((this, None));
    };
    let (po, ps) = locate(layers, spans, n_in, batch, p)?;
    let prev = ps.carve(before.get_mut(po..).ok_or(Status::Size)?, batch)?;
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
pub(crate) fn workspace<L: Layers + ?Sized>(
    layers: &mut L,
    n_in: usize,
    batch: usize,
    failed: &mut usize,
) -> Result<(usize, usize, Spans), Status> {
    if batch == 0 || layers.count() == 0 {
        return Err(Status::Size);
    }
    let (mut per_sample, mut graph) = (false, false);
    let count = layers.count();
    for l in 0..count {
        per_sample |= !matches!(layers.layer(l)?.op, Op::Dense);
        graph |= layers.inputs(l).n != 0;
    }
    if (graph && count > Spans::MAX) || count > u16::MAX as usize {
        return Err(Status::Size);
    }
    per_sample |= graph;
    let rows = if per_sample { 1 } else { batch };
    let mut spans = Spans {
        at: [(0, Shape::default()); Spans::MAX],
        n: 0,
        finite: false,
        rows,
        per_sample,
        graph,
    };
    let (mut offset, mut widest, mut n) = (0usize, 0usize, n_in);
    for l in 0..count {
        *failed = l;
        let s = if graph {
            graph_shape(layers, &spans, n_in, batch, l)?
        } else {
            let mut s = shape_of(&layers.layer(l)?, n, batch)?;
            s.src = l as u16;
            s
        };
        if l + 1 == count && !s.dense {
            return Err(Status::Kind); // (the losses read a dense layer's outputs)
        }
        if let Some(slot) = spans.at.get_mut(l) {
            *slot = (offset, s);
            spans.n = l + 1;
        }
        offset = offset
            .checked_add(s.len(rows))
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


/// A graph's layer `l`: its shape from its sources' (layers before it,
/// in `spans`, or x), and whether others read its outputs (all but the
/// last: a layer no one reads gets a gradient of zeros).
fn graph_shape<L: Layers + ?Sized>(
    layers: &mut L,
    spans: &Spans,
    n_in: usize,
    batch: usize,
    l: usize,
) -> Result<Shape, Status> {
    let inputs = layers.inputs(l).of(l);
    let mut lens = [0usize; Inputs::MAX];
    for (len, &j) in lens.iter_mut().zip(inputs.sources()) {
        *len = match (j as usize).checked_sub(1) {
            None => n_in,
            Some(p) if p < l => spans.at.get(p).ok_or(Status::Size)?.1.n_out,
            Some(_) => return Err(Status::Size),
        };
    }
    let lens = lens.get(..inputs.n).ok_or(Status::Size)?;
    let layer = layers.layer(l)?;
    let mut s = match inputs.merge {
        Some(m) => merge_shape(&layer, m, &inputs, lens)?,
        None if inputs.n == 1 => shape_of(&layer, *lens.first().ok_or(Status::Size)?, batch)?,
        None => return Err(Status::Size),
    };
    s.src = u16::try_from(inputs.from[0]).map_err(|_| Status::Size)?;
    s.da = l + 1 < layers.count();
    Ok(s)
}
