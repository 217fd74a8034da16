//! The checks every entry point makes on its pointers: alignment, byte
//! sizes, overlap.

use crate::Status;
use core::mem::{align_of, size_of};

/// Checks that `ptr` may be the start of `len` floats: aligned (else
/// [`Status::Align`]), and the byte size fits an `isize` (else `too_long`).
/// NULL is checked separately.
#[inline(always)]
pub(crate) fn float_buffer_ok(ptr: *const f32, len: usize, too_long: Status) -> Result<(), Status> {
    buffer_ok(ptr, len, too_long)
}

/// [`float_buffer_ok`] for `len` values of any type (int8: any address).
#[inline(always)]
pub(crate) fn buffer_ok<T>(ptr: *const T, len: usize, too_long: Status) -> Result<(), Status> {
    if !(ptr as usize).is_multiple_of(align_of::<T>()) {
        return Err(Status::Align);
    }
    if len > (isize::MAX as usize) / size_of::<T>() {
        return Err(too_long);
    }
    Ok(())
}

/// True when the byte ranges of `a[..a_len]` and `b[..b_len]` intersect
/// (lengths in values of each one's type).
pub(crate) fn overlaps<T, U>(a: *const T, a_len: usize, b: *const U, b_len: usize) -> bool {
    let (a0, b0) = (a as usize, b as usize);
    let a1 = a0 + a_len * size_of::<T>();
    let b1 = b0 + b_len * size_of::<U>();
    a_len != 0 && b_len != 0 && a0 < b1 && b0 < a1
}

/// Checks `n` floats at `p`: not NULL, aligned, a byte size that fits, and
/// no overlap with any of `others` (pointer, length).
pub(crate) fn checked(p: *const f32, n: usize, others: &[(*const f32, usize)]) -> Result<(), Status> {
    if p.is_null() {
        return Err(Status::Null);
    }
    float_buffer_ok(p, n, Status::Size)?;
    if others.iter().any(|&(q, m)| overlaps(p, n, q, m)) {
        return Err(Status::Overlap);
    }
    Ok(())
}

