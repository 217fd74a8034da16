//! The 1-D windows of Conv1D and pooling: Keras's `padding` and the
//! output steps it gives.
//!
//! Padding follows Keras (TensorFlow's rules):
//! - `valid`: no padding, `out = (steps - window) / strides + 1`, the window
//!   must fit (`steps >= window`);
//! - `same`: `out = ceil(steps / strides)`, padded by
//!   `max((out - 1) * strides + window - steps, 0)` in all, half of it
//!   (rounded down) before the first step;
//! - `causal` (Conv1D only): `window - 1` before the first step,
//!   `out = (steps - 1) / strides + 1`;
//!
//! where `window = (kernel_size - 1) * dilation + 1`. Padded positions are
//! zeros for a convolution, and left out for pooling (a max over the
//! positions in range; an average over those positions only, as
//! TensorFlow's `avg_pool` with `SAME` does).

use crate::Status;

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    Causal,
}

impl Padding {
    /// From the ABI's code: 0 valid, 1 same, 2 causal.
    pub fn from_code(code: u32) -> Result<Padding, Status> {
        match code {
            0 => Ok(Padding::Valid),
            1 => Ok(Padding::Same),
            2 => Ok(Padding::Causal),
            _ => Err(Status::LayerParam),
        }
    }
}

/// Output steps and the padding before the first step for a window of
/// `window` steps moved by `strides` over `steps` steps;
/// [`Status::XSize`] when a `valid` window does not fit.
pub fn out_steps(
    steps: usize,
    window: usize,
    strides: usize,
    padding: Padding,
) -> Result<(usize, usize), Status> {
    if steps == 0 || window == 0 || strides == 0 {
        return Err(if steps == 0 {
            Status::XSize
        } else {
            Status::LayerParam
        });
    }
    Ok(match padding {
        Padding::Valid => {
            if steps < window {
                return Err(Status::XSize);
            }
            ((steps - window) / strides + 1, 0)
        }
        Padding::Same => {
            let out = steps.div_ceil(strides);
            let total = ((out - 1) * strides + window).saturating_sub(steps);
            (out, total / 2)
        }
        Padding::Causal => ((steps - 1) / strides + 1, window - 1),
    })
}

