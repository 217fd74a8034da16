//! Keras's `fit()` inner loop in one call: an epoch (or an evaluation)
//! over a chain of layers (dense, and before the last one Conv1D, pooling,
//! the per-channel affine layer, Conv2D, DepthwiseConv2D, 2-D pooling and
//! ZeroPadding2D), batch by batch: the forward pass of every
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
//! TensorFlow computes them), the updates src/train/optim.rs's.
//!
//! A network with other kinds of layer (Conv1D, the 2-D ones, pooling,
//! affine) runs
//! sample by sample instead: each sample's forward and backward pass in
//! turn, every gradient summed over the batch (the dense ones by
//! [`crate::layers::dense::dense_backward_f32`]), then the step. Its buffers then hold one sample,
//! not a batch (a Conv1D's activations are large next to a board's RAM),
//! and those layers keep their inputs as rows (`xt` is `x`).
//!
//! A graph (issue 30: [`Layers::inputs`] names each layer's inputs, x or
//! layers before it; merges of two or more) runs sample by sample too,
//! with every layer's shape in `workspace::Spans` (at most
//! `Spans::MAX`, 16, layers). Each layer but the last has `da`, the
//! sum of the gradients at its outputs of the layers that read them: the
//! backward pass clears them, then from the last layer back turns a
//! layer's `da` into its `dz` through its activation and adds what it
//! hands back to its sources' `da` (a merge's by
//! [`crate::layers::merge::merge_input_backward_f32`], one input at a time).

//!
//! Files: [`net`] (the layers and what to run), [`workspace`] (shapes and
//! the buffer's spans), [`epoch`] (the loop), [`loss`], [`metric`],
//! [`optim`] (the optimizers' steps).

pub mod epoch;
pub mod loss;
pub mod metric;
pub mod net;
pub mod optim;
pub mod workspace;

pub use epoch::epoch;
pub use loss::Loss;
pub use metric::Metric;
pub use net::{Graph, Inputs, Layer, Layers, Run};
pub use optim::{adam, sgd, Optimizer};
pub use workspace::workspace_len;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_2d;
#[cfg(test)]
mod tests_graph;
