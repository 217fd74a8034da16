//! Error codes shared with the C ABI (`ANNE_ERR_*` in `anne.h`).

use crate::abi;

/// Why a kernel refused its arguments. `Ok(())` stands for `ANNE_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// `ANNE_ERR_NULL`: a required pointer was NULL.
    Null = abi::ANNE_ERR_NULL,
    /// `ANNE_ERR_SIZE`: a length is wrong (argmax of nothing, odd glu,
    /// no layers, a byte size past `isize::MAX`).
    Size = abi::ANNE_ERR_SIZE,
    /// `ANNE_ERR_ACTIVATION`: unknown activation kind.
    Activation = abi::ANNE_ERR_ACTIVATION,
    /// `ANNE_ERR_PARAM`: an activation parameter is out of range.
    Param = abi::ANNE_ERR_PARAM,
    /// `ANNE_ERR_ALIGN`: a buffer is not aligned for `f32`.
    Align = abi::ANNE_ERR_ALIGN,
    /// `ANNE_ERR_OVERLAP`: `out` shares memory with an input or the weights.
    Overlap = abi::ANNE_ERR_OVERLAP,
    /// `ANNE_ERR_X_SIZE`: the layer's input is empty.
    XSize = abi::ANNE_ERR_X_SIZE,
    /// `ANNE_ERR_KERNEL_SIZE`: the kernel is empty, not a whole number of
    /// rows of the input's length, or (glu) has an odd number of units.
    KernelSize = abi::ANNE_ERR_KERNEL_SIZE,
    /// `ANNE_ERR_OUT_SIZE`: `out` does not hold the layer's outputs.
    OutSize = abi::ANNE_ERR_OUT_SIZE,
    /// `ANNE_ERR_BIAS_SIZE`: the bias does not hold one value per unit.
    BiasSize = abi::ANNE_ERR_BIAS_SIZE,
    /// `ANNE_ERR_KIND`: unknown layer kind or dtype.
    Kind = abi::ANNE_ERR_KIND,
    /// `ANNE_ERR_LAYER_PARAM`: a layer kind's parameter is out of range
    /// (channels, kernel or pool size, strides, dilation, padding).
    LayerParam = abi::ANNE_ERR_LAYER_PARAM,
    /// `ANNE_ERR_LABEL`: a class index is not a whole number below the
    /// network's outputs.
    Label = abi::ANNE_ERR_LABEL,
    /// `ANNE_ERR_LOSS_NOT_FINITE`: a batch's loss is NaN or ±inf.
    LossNotFinite = abi::ANNE_ERR_LOSS_NOT_FINITE,
    /// `ANNE_ERR_STEP_NOT_FINITE`: a step would make a weight NaN or ±inf (none
    /// is changed).
    StepNotFinite = abi::ANNE_ERR_STEP_NOT_FINITE,
}

impl Status {
    /// The C status code (`ANNE_ERR_*`).
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The C status code for a result: `ANNE_OK` or `ANNE_ERR_*`.
    pub fn code_of<T>(result: Result<T, Status>) -> i32 {
        match result {
            Ok(_) => abi::ANNE_OK,
            Err(status) => status.code(),
        }
    }
}
