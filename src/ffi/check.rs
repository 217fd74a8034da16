//! The checks every entry point makes on its pointers: alignment, byte
//! sizes, overlap.

use crate::Status;
use core::mem::{align_of, size_of};

/// Checks that `ptr` may be the start of `len` floats: aligned (else
/// [`Status::Align`]), and the byte size fits an `isize` (else `too_long`).
/// NULL is checked separately.
#[inline(always)]
pub(crate) fn float_buffer_ok(ptr: *const f32, len: usize, too_long: Status) -> Result<(), Status> {
    if !(ptr as usize).is_multiple_of(align_of::<f32>()) {
        return Err(Status::Align);
    }
    if len > (isize::MAX as usize) / size_of::<f32>() {
        return Err(too_long);
    }
    Ok(())
}

/// True when the byte ranges of `a[..a_len]` and `b[..b_len]` intersect.
pub(crate) fn overlaps(a: *const f32, a_len: usize, b: *const f32, b_len: usize) -> bool {
    let (a0, b0) = (a as usize, b as usize);
    let a1 = a0 + a_len * size_of::<f32>();
    let b1 = b0 + b_len * size_of::<f32>();
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

