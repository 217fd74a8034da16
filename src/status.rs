//! Error codes shared with the C ABI (`ANNE_ERR_*` in `anne.h`).
//!
//! The codes are written here, not taken from the header, so that the
//! kernels do not depend on bindgen's output; [`crate::abi`] asserts at
//! compile time that each equals the header's.

/// `ANNE_OK`: the call did its work.
pub const OK: i32 = 0;

/// Why a kernel refused its arguments. `Ok(())` stands for `ANNE_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// `ANNE_ERR_NULL`: a required pointer was NULL.
    Null = 1,
    /// `ANNE_ERR_SIZE`: a length is wrong (argmax of nothing, odd glu,
    /// no layers, a byte size past `isize::MAX`).
    Size = 2,
    /// `ANNE_ERR_ACTIVATION`: unknown activation kind.
    Activation = 3,
    /// `ANNE_ERR_PARAM`: an activation parameter is out of range.
    Param = 4,
    /// `ANNE_ERR_ALIGN`: a buffer is not aligned for `f32`.
    Align = 5,
    /// `ANNE_ERR_OVERLAP`: `out` shares memory with an input or the weights.
    Overlap = 6,
    /// `ANNE_ERR_X_SIZE`: the layer's input is empty.
    XSize = 7,
    /// `ANNE_ERR_KERNEL_SIZE`: the kernel is empty, not a whole number of
    /// rows of the input's length, or (glu) has an odd number of units.
    KernelSize = 8,
    /// `ANNE_ERR_OUT_SIZE`: `out` does not hold the layer's outputs.
    OutSize = 9,
    /// `ANNE_ERR_BIAS_SIZE`: the bias does not hold one value per unit.
    BiasSize = 10,
    /// `ANNE_ERR_KIND`: unknown layer kind or dtype.
    Kind = 11,
    /// `ANNE_ERR_LAYER_PARAM`: a layer kind's parameter is out of range
    /// (channels, kernel or pool size, strides, dilation, padding).
    LayerParam = 12,
    /// `ANNE_ERR_LABEL`: a class index is not a whole number below the
    /// network's outputs.
    Label = 13,
    /// `ANNE_ERR_LOSS_NOT_FINITE`: a batch's loss is NaN or ±inf.
    LossNotFinite = 14,
    /// `ANNE_ERR_STEP_NOT_FINITE`: a step would make a weight NaN or ±inf (none
    /// is changed).
    StepNotFinite = 15,
}

impl Status {
    /// The C status code (`ANNE_ERR_*`).
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The C status code for a result: `ANNE_OK` or `ANNE_ERR_*`.
    pub fn code_of<T>(result: Result<T, Status>) -> i32 {
        match result {
            Ok(_) => OK,
            Err(status) => status.code(),
        }
    }
}
