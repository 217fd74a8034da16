//! A layer record's kind and `params` as a [`Op`].

use crate::abi::*;
use crate::layers::affine::Affine;
use crate::layers::conv1d::Conv1d;
use crate::layers::conv2d::Conv2d;
use crate::layers::depthwise2d::Depthwise2d;
use crate::layers::pad2d::Pad2d;
use crate::layers::pool1d::{Pool, Pool1d};
use crate::layers::pool2d::Pool2d;
use crate::layers::upsample1d::Upsample1d;
use crate::layers::window::{Padding, Window2d};
use crate::layers::Op;
use crate::Status;

/// What a layer of kind `kind` computes: [`spec2d_of`]'s 2-D layers,
/// [`spec_of`]'s, or dense (whose params are not read).
pub(crate) fn op_of(kind: u32, params: &[u32]) -> Result<Op, Status> {
    if kind == ANNE_LAYER_DENSE as u32 {
        return Ok(Op::Dense);
    }
    match spec2d_of(kind, params) {
        Some(spec) => Ok(match spec? {
            Spec2d::Conv(c) => Op::Conv2d(c),
            Spec2d::Depthwise(d) => Op::Depthwise2d(d),
            Spec2d::Pool(p) => Op::Pool2d(p),
            Spec2d::Pad(p) => Op::Pad2d(p),
        }),
        None => spec_of(kind, params),
    }
}

/// A record's first six `params` (all that the 1-D kinds have).
fn first_six(params: &[u32]) -> [usize; 6] {
    let mut p = [0; 6];
    for (d, &s) in p.iter_mut().zip(params) {
        *d = s as usize;
    }
    p
}

/// A Conv1D's `params` (in_channels, kernel_size, strides, dilation,
/// padding), a pooling's (channels, pool_size, strides, padding; global
/// ones, 1-D and 2-D: channels), an UpSampling1D's (channels, size) or an
/// affine layer's (channels). The 2-D
/// windowed kinds are [`spec2d_of`]'s (`Kind` here; [`op_of`] takes both).
pub(crate) fn spec_of(kind: u32, params: &[u32]) -> Result<Op, Status> {
    let p = first_six(params);
    let kind = kind as i32;
    let pool = match kind {
        ANNE_LAYER_AFFINE => {
            if p[0] == 0 || p[1..].iter().any(|&v| v != 0) {
                return Err(Status::LayerParam);
            }
            return Ok(Op::Affine(Affine { channels: p[0] }));
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
        ANNE_LAYER_UP_SAMPLING1D => {
            if p[2..].iter().any(|&v| v != 0) {
                return Err(Status::LayerParam);
            }
            return Ok(Op::Upsample1d(Upsample1d {
                channels: p[0],
                size: p[1 + ANNE_UP_SAMPLING1D_SIZE as usize],
            }));
        }
        ANNE_LAYER_MAX_POOLING1D | ANNE_LAYER_GLOBAL_MAX_POOLING1D | ANNE_LAYER_GLOBAL_MAX_POOLING2D => {
            Pool::Max
        }
        ANNE_LAYER_AVERAGE_POOLING1D
        | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D
        | ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D => Pool::Average,
        _ => return Err(Status::Kind),
    };
    let global = matches!(
        kind,
        ANNE_LAYER_GLOBAL_MAX_POOLING1D
            | ANNE_LAYER_GLOBAL_AVERAGE_POOLING1D
            | ANNE_LAYER_GLOBAL_MAX_POOLING2D
            | ANNE_LAYER_GLOBAL_AVERAGE_POOLING2D
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


/// A 2-D windowed layer (forward, and trained by fit through [`op_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spec2d {
    Conv(Conv2d),
    Depthwise(Depthwise2d),
    Pool(Pool2d),
    Pad(Pad2d),
}

/// Where a DepthwiseConv2D's and a ZeroPadding2D's registry slots
/// (ANNE_<KIND>_*) start in their ABI params: past the input's (height,
/// width, channels).
const SLOTS_AT: usize = 3;

/// A Conv2D's `params` (height, width, in_channels, kernel_h, kernel_w,
/// strides_h, strides_w, dilation_h, dilation_w, padding) or a 2-D
/// pooling's (height, width, channels, pool_h, pool_w, strides_h,
/// strides_w, padding); a DepthwiseConv2D's and a ZeroPadding2D's
/// (height, width, channels, then the registry's slots in their order:
/// kernel_h, kernel_w, strides_h, strides_w, padding, depth_multiplier,
/// dilation_h, dilation_w; top, bottom, left, right); `None` for the
/// other kinds.
pub(crate) fn spec2d_of(kind: u32, params: &[u32]) -> Option<Result<Spec2d, Status>> {
    let p = |i: usize| params.get(i).map_or(0, |&v| v as usize);
    let kind = kind as i32;
    let pool = match kind {
        ANNE_LAYER_CONV2D => {
            let spec = Padding::from_code(p(9) as u32).map(|padding| {
                Spec2d::Conv(Conv2d {
                    window: Window2d {
                        height: p(0),
                        width: p(1),
                        kernel_size: (p(3), p(4)),
                        strides: (p(5), p(6)),
                        dilation: (p(7), p(8)),
                        padding,
                    },
                    in_channels: p(2),
                })
            });
            return Some(spec);
        }
        ANNE_LAYER_DEPTHWISE_CONV2D => {
            let slot = |k: i32| p(SLOTS_AT + k as usize);
            let spec = Padding::from_code(slot(ANNE_DEPTHWISE_CONV2D_PADDING) as u32).map(|padding| {
                Spec2d::Depthwise(Depthwise2d {
                    window: Window2d {
                        height: p(0),
                        width: p(1),
                        kernel_size: (slot(ANNE_DEPTHWISE_CONV2D_KERNEL_SIZE_H), slot(ANNE_DEPTHWISE_CONV2D_KERNEL_SIZE_W)),
                        strides: (slot(ANNE_DEPTHWISE_CONV2D_STRIDES_H), slot(ANNE_DEPTHWISE_CONV2D_STRIDES_W)),
                        dilation: (slot(ANNE_DEPTHWISE_CONV2D_DILATION_RATE_H), slot(ANNE_DEPTHWISE_CONV2D_DILATION_RATE_W)),
                        padding,
                    },
                    in_channels: p(2),
                    depth_multiplier: slot(ANNE_DEPTHWISE_CONV2D_DEPTH_MULTIPLIER),
                })
            });
            return Some(spec);
        }
        ANNE_LAYER_ZERO_PADDING2D => {
            let slot = |k: i32| p(SLOTS_AT + k as usize);
            return Some(Ok(Spec2d::Pad(Pad2d {
                height: p(0),
                width: p(1),
                channels: p(2),
                rows: (slot(ANNE_ZERO_PADDING2D_PADDING_TOP), slot(ANNE_ZERO_PADDING2D_PADDING_BOTTOM)),
                columns: (slot(ANNE_ZERO_PADDING2D_PADDING_LEFT), slot(ANNE_ZERO_PADDING2D_PADDING_RIGHT)),
            })));
        }
        ANNE_LAYER_MAX_POOLING2D => Pool::Max,
        ANNE_LAYER_AVERAGE_POOLING2D => Pool::Average,
        _ => return None,
    };
    let spec = Padding::from_code(p(7) as u32).map(|padding| {
        Spec2d::Pool(Pool2d {
            pool,
            window: Window2d::undilated((p(0), p(1)), (p(3), p(4)), (p(5), p(6)), padding),
            channels: p(2),
        })
    });
    Some(spec)
}
