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

/// The window of a 2-D layer (Conv2D, DepthwiseConv2D, 2-D pooling) over
/// an input of `height x width` positions, in Keras's terms: each axis
/// padded as [`out_steps`] pads a 1-D one (`valid` or `same`; `causal` is
/// refused), the extent of a dilated kernel `(kernel_size - 1) * dilation +
/// 1` per axis (pooling: `pool_size`, dilation 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
    /// `(rows, columns)` of the kernel or pool.
    pub kernel_size: (usize, usize),
    /// `(rows, columns)` moved between outputs.
    pub strides: (usize, usize),
    /// `(rows, columns)` between taps; `(1, 1)` for pooling.
    pub dilation: (usize, usize),
    pub padding: Padding,
}

/// A [`Window2d`]'s outputs: `out = (rows, columns)` and the padding
/// before the first row and column, `pad = (top, left)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plane {
    pub out: (usize, usize),
    pub pad: (usize, usize),
}

impl Plane {
    /// [`Status::OutSize`] unless `out_len` holds `channels` values per
    /// output position, then [`Status::BiasSize`] unless a bias (of
    /// `bias_len` values) holds one per channel.
    pub fn check_out(
        &self,
        channels: usize,
        out_len: usize,
        bias_len: Option<usize>,
    ) -> Result<(), Status> {
        let n = self.out.0.checked_mul(self.out.1);
        if n.and_then(|n| n.checked_mul(channels)) != Some(out_len) {
            return Err(Status::OutSize);
        }
        if bias_len.is_some_and(|b| b != channels) {
            return Err(Status::BiasSize);
        }
        Ok(())
    }
}

/// The furthest a 2-D window may reach along an axis, `(kernel_size - 1) *
/// dilation`, as [`crate::layers::conv1d::MAX_REACH`] for Conv1D.
const MAX_REACH_2D: usize = 0x7FFF_FFFF;

/// The extent `(kernel_size - 1) * dilation + 1`; [`Status::LayerParam`]
/// for a zero kernel size or dilation, or a reach over 2**31 - 1.
fn extent(kernel_size: usize, dilation: usize) -> Result<usize, Status> {
    kernel_size
        .checked_sub(1)
        .and_then(|k| k.checked_mul(dilation))
        .filter(|&k| k <= MAX_REACH_2D && dilation != 0)
        .and_then(|k| k.checked_add(1))
        .ok_or(Status::LayerParam)
}

impl Window2d {
    /// The output plane; [`Status::LayerParam`] for a zero kernel size,
    /// stride or dilation or `causal` padding, [`Status::XSize`] for an
    /// empty input or a `valid` window that does not fit.
    pub fn plane(&self) -> Result<Plane, Status> {
        if self.padding == Padding::Causal {
            return Err(Status::LayerParam);
        }
        let eh = extent(self.kernel_size.0, self.dilation.0)?;
        let ew = extent(self.kernel_size.1, self.dilation.1)?;
        if self.strides.0 == 0 || self.strides.1 == 0 {
            return Err(Status::LayerParam);
        }
        let (oh, top) = out_steps(self.height, eh, self.strides.0, self.padding)?;
        let (ow, left) = out_steps(self.width, ew, self.strides.1, self.padding)?;
        Ok(Plane {
            out: (oh, ow),
            pad: (top, left),
        })
    }

    /// A window without dilation (pooling's): `kernel_size` moved by
    /// `strides` over `height x width` positions.
    pub fn undilated(
        (height, width): (usize, usize),
        kernel_size: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Window2d {
        Window2d {
            height,
            width,
            kernel_size,
            strides,
            dilation: (1, 1),
            padding,
        }
    }

    /// Input positions, `height * width` (checked: [`Status::XSize`] if it
    /// overflows).
    pub fn positions(&self) -> Result<usize, Status> {
        self.height.checked_mul(self.width).ok_or(Status::XSize)
    }

    /// The taps of output position `pos` (`oy * out_w + ox`) that read
    /// inside the input, row by row: `(ky * kernel_w + kx, iy * width +
    /// ix)`, the tap's index in the kernel's `kernel_h x kernel_w` and the
    /// input position it reads (`iy = oy * sh + ky * dh - top`, `ix = ox *
    /// sw + kx * dw - left`).
    pub fn taps_at(&self, plane: &Plane, pos: usize) -> impl Iterator<Item = (usize, usize)> {
        let out_w = plane.out.1.max(1); // (nonzero for a plane; for the compiler)
        let (oy, ox) = (pos / out_w, pos % out_w);
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilation;
        let (ky0, ky1, iy0) = axis_taps(oy, sh, dh, plane.pad.0, self.height, self.kernel_size.0);
        let (kx0, kx1, ix0) = axis_taps(ox, sw, dw, plane.pad.1, self.width, self.kernel_size.1);
        let (kw, width) = (self.kernel_size.1, self.width);
        (ky0..ky1).flat_map(move |ky| {
            let row = (iy0 + (ky - ky0) * dh) * width + ix0;
            (kx0..kx1).map(move |kx| (ky * kw + kx, row + (kx - kx0) * dw))
        })
    }
}

impl Window2d {
    /// [`Window2d::taps_at`] as runs: `(t, i, n)` for taps `t..t + n`
    /// reading inputs `i..i + n`, one run per kernel row in range when
    /// the width is not dilated (a row's taps are then contiguous in the
    /// input and the kernel), else one run per tap.
    pub fn runs_at(&self, plane: &Plane, pos: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let out_w = plane.out.1.max(1);
        let (oy, ox) = (pos / out_w, pos % out_w);
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilation;
        let (ky0, ky1, iy0) = axis_taps(oy, sh, dh, plane.pad.0, self.height, self.kernel_size.0);
        let (kx0, kx1, ix0) = axis_taps(ox, sw, dw, plane.pad.1, self.width, self.kernel_size.1);
        let (kw, width) = (self.kernel_size.1, self.width);
        // (dw == 1: one run of the whole row, from kx0; else each tap)
        let (run, taps) = if dw == 1 { (kx1.saturating_sub(kx0), usize::from(kx1 > kx0)) } else { (1, kx1.saturating_sub(kx0)) };
        (ky0..ky1).flat_map(move |ky| {
            let row = (iy0 + (ky - ky0) * dh) * width + ix0;
            (0..taps).map(move |k| (ky * kw + kx0 + k, row + k * dw, run))
        })
    }

    /// How many taps of output position `pos` read inside the input
    /// ([`Window2d::taps_at`]'s count, without walking them).
    pub fn taps_in_range(&self, plane: &Plane, pos: usize) -> usize {
        let out_w = plane.out.1.max(1);
        let (oy, ox) = (pos / out_w, pos % out_w);
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilation;
        let (ky0, ky1, _) = axis_taps(oy, sh, dh, plane.pad.0, self.height, self.kernel_size.0);
        let (kx0, kx1, _) = axis_taps(ox, sw, dw, plane.pad.1, self.width, self.kernel_size.1);
        ky1.saturating_sub(ky0).saturating_mul(kx1.saturating_sub(kx0))
    }
}

/// The taps of output `o` along one axis (`steps` inputs, `pad` before
/// the first) that read inside the input: `(k0, k1, first)`.
fn axis_taps(
    o: usize,
    strides: usize,
    dilation: usize,
    pad: usize,
    steps: usize,
    kernel_size: usize,
) -> (usize, usize, usize) {
    let d = dilation.max(1); // (at least 1: no division can panic)
    let at = o.saturating_mul(strides);
    // tap k reads at + k * d - pad: needs pad <= at + k * d < pad + steps
    let k0 = pad.saturating_sub(at).div_ceil(d);
    let k1 = pad
        .saturating_add(steps)
        .saturating_sub(at)
        .div_ceil(d)
        .min(kernel_size);
    if k0 >= k1 {
        return (0, 0, 0);
    }
    (
        k0,
        k1,
        at.saturating_add(k0.saturating_mul(d)).saturating_sub(pad),
    )
}
