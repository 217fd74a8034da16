//! The training loop's workspace: each layer's shape and the spans of the
//! one buffer the caller allocates ([`workspace_len`] floats).

use super::net::{Layer, Layers};
use crate::activation::Activation;
use crate::layers::window::Plane;
use crate::layers::Op;
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
}

impl Shape {
    pub(crate) fn lens(&self, batch: usize, first: bool) -> [usize; 7] {
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

    pub(crate) fn len(&self, batch: usize, first: bool) -> usize {
        self.lens(batch, first).iter().sum()
    }

    pub(crate) fn carve<'w>(&self, ws: &'w mut [f32], batch: usize, first: bool) -> Result<Work<'w>, Status> {
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
        Op::Conv(c) => {
            let (_, steps, _, filters) = c.shape(n_in, k)?;
            let units = steps.checked_mul(filters).ok_or(Status::Size)?;
            c.check(n_in, k, bias, units, &layer.act)?;
            (units, units, filters)
        }
        Op::Conv2d(c) => {
            let (plane, filters) = c.shape(n_in, k)?;
            let units = plane_units(plane, filters)?;
            c.check(n_in, k, bias, units, &layer.act)?;
            (units, units, filters)
        }
        Op::Depthwise2d(d) => {
            let (plane, cout) = d.shape(n_in, k)?;
            let units = plane_units(plane, cout)?;
            d.check(n_in, k, bias, units, &layer.act)?;
            (units, units, cout)
        }
        Op::Pool(_) | Op::Affine(_) | Op::Pool2d(_) | Op::Pad2d(_) | Op::Upsample1d(_)
            if layer.trainable || !matches!(layer.act, Activation::Linear) =>
        {
            return Err(Status::Kind);
        }
        Op::Pool2d(_) | Op::Pad2d(_) | Op::Upsample1d(_) if k != 0 || bias.is_some() => {
            return Err(Status::KernelSize);
        }
        Op::Pool2d(p) => {
            let units = plane_units(p.shape(n_in)?, p.channels)?;
            (units, units, units)
        }
        Op::Pad2d(p) => {
            let (_, _, units) = p.shape(n_in)?;
            (units, units, units)
        }
        Op::Upsample1d(u) => {
            let units = u.shape(n_in)?;
            (units, units, units)
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

/// The values of a 2-D layer's output plane of `channels` channels.
fn plane_units(plane: Plane, channels: usize) -> Result<usize, Status> {
    plane
        .out
        .0
        .checked_mul(plane.out.1)
        .and_then(|n| n.checked_mul(channels))
        .ok_or(Status::Size)
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
pub(crate) fn workspace<L: Layers + ?Sized>(
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

