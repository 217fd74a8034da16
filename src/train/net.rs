//! The network one epoch runs on: its layers, given one at a time, and
//! what to run (loss, metrics, optimizer, batch, data).

use super::loss::Loss;
use super::metric::Metric;
use super::optim::Optimizer;
use crate::activation::Activation;
use crate::layers::merge::Merge;
use crate::layers::Op;
use crate::Status;

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
    /// Layer `l`'s activation alone (the loop's backward pass and loss
    /// read it for the layers they do not run).
    fn act(&mut self, l: usize) -> Result<Activation, Status> {
        self.layer(l).map(|layer| layer.act)
    }
    /// Layer `l`'s inputs: a chain's ([`Inputs::CHAIN`]) unless the
    /// layers are a graph's.
    fn inputs(&self, _l: usize) -> Inputs {
        Inputs::CHAIN
    }
}

/// A graph layer's inputs (issue 30): `n == 0` reads the layer before's
/// outputs (the first layer: x), as in a chain; else `from[..n]`, each 0
/// for x or `j + 1` for layer `j`'s outputs (`j` below the layer's index).
/// `merge`: the layer merges them (its op, kernel and bias then unused:
/// none), with `rows` positions for Concatenate, then its activation
/// (element-wise). A graph trains sample by sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inputs {
    pub n: usize,
    pub from: [u32; Inputs::MAX],
    pub merge: Option<Merge>,
    pub rows: usize,
}

impl Inputs {
    /// The most inputs a layer takes (the format's merges: seven).
    pub const MAX: usize = 7;
    pub const CHAIN: Inputs = Inputs {
        n: 0,
        from: [0; Inputs::MAX],
        merge: None,
        rows: 1,
    };

    /// The inputs of layer `l` with the chain's made explicit (`n >= 1`).
    pub(crate) fn of(&self, l: usize) -> Inputs {
        let mut i = *self;
        if i.n == 0 {
            i.n = 1;
            i.from[0] = l as u32;
        }
        i
    }

    pub(crate) fn sources(&self) -> &[u32] {
        self.from.get(..self.n).unwrap_or(&[])
    }
}

/// A graph of layers for the tests: the layers and each one's inputs.
pub struct Graph<'g, 'a> {
    pub layers: &'g mut [Layer<'a>],
    pub inputs: &'g [Inputs],
}

impl Layers for Graph<'_, '_> {
    fn count(&self) -> usize {
        self.layers.len()
    }

    fn layer(&mut self, l: usize) -> Result<Layer<'_>, Status> {
        self.layers.layer(l)
    }

    fn inputs(&self, l: usize) -> Inputs {
        self.inputs.get(l).copied().unwrap_or(Inputs::CHAIN)
    }
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

