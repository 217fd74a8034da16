//! A layer record's kind and `params` as a [`Op`].

use crate::abi::*;
use crate::layers::conv1d::Conv1d;
use crate::layers::pool1d::{Pool, Pool1d};
use crate::layers::window::Padding;
use crate::layers::Op;
use crate::Status;

/// What a layer of kind `kind` computes: [`spec_of`], or dense (whose
/// params are not read).
pub(crate) fn op_of(kind: u32, params: [u32; 6]) -> Result<Op, Status> {
    if kind == ANNE_LAYER_DENSE as u32 {
        return Ok(Op::Dense);
    }
    spec_of(kind, params)
}

/// A Conv1D's `params` (in_channels, kernel_size, strides, dilation,
/// padding), a pooling's (channels, pool_size, strides, padding; global
/// ones: channels) or an affine layer's (channels).
pub(crate) fn spec_of(kind: u32, params: [u32; 6]) -> Result<Op, Status> {
    let p = params.map(|v| v as usize);
    let kind = kind as i32;
    let pool = match kind {
        ANNE_LAYER_AFFINE => {
            if p[0] == 0 || p[1..].iter().any(|&v| v != 0) {
                return Err(Status::LayerParam);
            }
            return Ok(Op::Affine(p[0]));
        }
        ANNE_LAYER_CONV1D => {
            return Ok(Op::Conv(Conv1d {
                in_channels: p[0],
                kernel_size: p[1],
                strides: p[2],
                dilation: p[3],
                padding: Padding::from_code(p[4] as u32)?,
            }))
        }
        ANNE_LAYER_MAX_POOLING1D | ANNE_LAYER_GLOBAL_MAX_POOLING1D => Pool::Max,
        ANNE_LAYER_AVERAGE_POOLING1D | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D => Pool::Average,
        _ => return Err(Status::Kind),
    };
    let global = matches!(
        kind,
        ANNE_LAYER_GLOBAL_MAX_POOLING1D | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D
    );
    Ok(Op::Pool(Pool1d {
        pool,
        global,
        channels: p[0],
        pool_size: p[1],
        strides: p[2],
        padding: Padding::from_code(p[3] as u32)?,
    }))
}

