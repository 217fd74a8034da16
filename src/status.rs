//! Error codes shared with the C ABI (`ANNE_ERR_*` in `anne.h`).

use crate::abi;

/// Why a kernel refused its arguments. `Ok(())` stands for `ANNE_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// `ANNE_ERR_NULL`: a required pointer was NULL.
    Null = abi::ANNE_ERR_NULL,
    /// `ANNE_ERR_SIZE`: lengths do not fit together.
    Size = abi::ANNE_ERR_SIZE,
    /// `ANNE_ERR_ACTIVATION`: unknown activation kind.
    Activation = abi::ANNE_ERR_ACTIVATION,
    /// `ANNE_ERR_PARAM`: an activation parameter is out of range.
    Param = abi::ANNE_ERR_PARAM,
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
