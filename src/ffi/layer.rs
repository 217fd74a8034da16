//! A layer record's kind and `params` as a [`Op`]: each kind reads its
//! own (`LayerKind::from_params` in its file in src/layers/).

use crate::layers::conv2d::Conv2d;
use crate::layers::depthwise2d::Depthwise2d;
use crate::layers::pad2d::Pad2d;
use crate::layers::pool2d::Pool2d;
use crate::layers::Op;
use crate::ops_table::layer;
use crate::Status;

/// What a layer of kind `kind` computes ([`Op::from_params`]).
#[inline]
pub(crate) fn op_of(kind: u32, params: &[u32]) -> Result<Op, Status> {
    Op::from_params(kind, params)
}

/// A 2-D windowed layer, as the int8 2-D layers take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spec2d {
    Conv(Conv2d),
    Depthwise(Depthwise2d),
    Pool(Pool2d),
    Pad(Pad2d),
}

/// [`op_of`] for the 2-D windowed kinds (Conv2D, DepthwiseConv2D,
/// Max/AveragePooling2D, ZeroPadding2D); `None` for the other kinds.
pub(crate) fn spec2d_of(kind: u32, params: &[u32]) -> Option<Result<Spec2d, Status>> {
    if !matches!(
        kind,
        layer::CONV2D | layer::DEPTHWISE_CONV2D | layer::MAX_POOLING2D | layer::AVERAGE_POOLING2D | layer::ZERO_PADDING2D
    ) {
        return None;
    }
    Some(op_of(kind, params).and_then(|op| match op {
        Op::Conv2d(c) => Ok(Spec2d::Conv(c)),
        Op::Depthwise2d(d) => Ok(Spec2d::Depthwise(d)),
        Op::Pool2d(p) => Ok(Spec2d::Pool(p)),
        Op::Pad2d(p) => Ok(Spec2d::Pad(p)),
        _ => Err(Status::Kind),
    }))
}
