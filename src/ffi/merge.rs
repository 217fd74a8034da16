//! `anne_merge_f32`: a merge layer (Add, Subtract, Multiply, Average,
//! Maximum, Minimum, Concatenate) of a graph, on float32 buffers.

use super::check::checked;
use crate::abi::*;
use crate::layers::merge::{merge_f32, Merge};
use crate::Status;
use core::slice;

/// The most inputs a merge takes (the format's seven).
const MAX_INPUTS: usize = 7;

/// `anne_merge_f32`: `out = merge(xs[0], ..., xs[n_xs - 1])`.
///
/// # Safety
/// `xs` and `lens` point to `n_xs` pointers and lengths (unless NULL),
/// each `xs[i]` to `lens[i]` readable floats; `out` to `n_out` writable
/// floats overlapping none of them.
#[no_mangle]
pub unsafe extern "C" fn anne_merge_f32(
    kind: u32,
    xs: *const *const f32,
    lens: *const usize,
    n_xs: usize,
    out: *mut f32,
    n_out: usize,
    rows: usize,
) -> i32 {
    let op = match i32::try_from(kind).unwrap_or(-1) {
        ANNE_LAYER_ADD => Merge::Add,
        ANNE_LAYER_SUBTRACT => Merge::Subtract,
        ANNE_LAYER_MULTIPLY => Merge::Multiply,
        ANNE_LAYER_AVERAGE => Merge::Average,
        ANNE_LAYER_MAXIMUM => Merge::Maximum,
        ANNE_LAYER_MINIMUM => Merge::Minimum,
        ANNE_LAYER_CONCATENATE => Merge::Concatenate,
        _ => return ANNE_ERR_KIND,
    };
    if xs.is_null() || lens.is_null() {
        return ANNE_ERR_NULL;
    }
    if n_xs > MAX_INPUTS {
        return ANNE_ERR_SIZE;
    }
    let mut ins: [&[f32]; MAX_INPUTS] = [&[]; MAX_INPUTS];
    let mut spans = [(core::ptr::null::<f32>(), 0usize); MAX_INPUTS];
    for (i, span) in spans.iter_mut().enumerate().take(n_xs) {
        // SAFETY: xs and lens hold n_xs items (contract), n_xs <= 7.
        let (p, n) = unsafe { (*xs.add(i), *lens.add(i)) };
        if let Err(status) = checked(p, n, &[]) {
            return status.code();
        }
        *span = (p, n);
    }
    let spans = spans.get(..n_xs).unwrap_or(&[]);
    if let Err(status) = checked(out, n_out, spans) {
        return status.code();
    }
    for (slot, &(p, n)) in ins.iter_mut().zip(spans.iter()) {
        // SAFETY: p is non-null, aligned and n floats long (checked, contract).
        *slot = unsafe { slice::from_raw_parts(p, n) };
    }
    // SAFETY: out is non-null, aligned, n_out floats and overlaps no input.
    let out = unsafe { slice::from_raw_parts_mut(out, n_out) };
    let ins = ins.get(..n_xs).unwrap_or(&[]);
    Status::code_of(merge_f32(op, ins, out, rows))
}
