//! `anne_merge_f32`: a merge layer (Add, Subtract, Multiply, Average,
//! Maximum, Minimum, Concatenate) of a graph, on float32 buffers;
//! `anne_merge_s8`: an int8 graph's (Add, Subtract, Multiply,
//! Concatenate: `layers::elementwise_s8`, LiteRT's reference kernels).

use super::check::{buffer_ok, checked, overlaps};
use crate::abi::*;
use crate::layers::elementwise_s8::{add_s8, mul_s8, AddS8Params, MulS8Params, ADD_LEFT_SHIFT};
use crate::layers::merge::{concatenate_s8, merge_f32, Merge};
use crate::math::requant::Rounding;
use crate::Status;
use core::slice;

/// The most inputs a merge takes (the format's seven).
const MAX_INPUTS: usize = 7;

/// The merge of an `ANNE_LAYER_*` kind, if it is one.
pub(crate) fn merge_of(kind: u32) -> Option<Merge> {
    Some(match i32::try_from(kind).unwrap_or(-1) {
        ANNE_LAYER_ADD => Merge::Add,
        ANNE_LAYER_SUBTRACT => Merge::Subtract,
        ANNE_LAYER_MULTIPLY => Merge::Multiply,
        ANNE_LAYER_AVERAGE => Merge::Average,
        ANNE_LAYER_MAXIMUM => Merge::Maximum,
        ANNE_LAYER_MINIMUM => Merge::Minimum,
        ANNE_LAYER_CONCATENATE => Merge::Concatenate,
        _ => return None,
    })
}

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
    let Some(op) = merge_of(kind) else {
        return ANNE_ERR_KIND;
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

/// `anne_merge_s8`: `out = merge(xs[0], ..., xs[n_xs - 1])` in int8, with
/// `quant`'s zero points, clamp and multipliers (c_glue/anne.h).
///
/// # Safety
/// `xs` and `lens` point to `n_xs` pointers and lengths (unless NULL),
/// each `xs[i]` to `lens[i]` readable int8 values; `out` to `n_out`
/// writable values overlapping none of them; `quant` to `n_quant` int32.
#[no_mangle]
pub unsafe extern "C" fn anne_merge_s8(
    kind: u32,
    xs: *const *const i8,
    lens: *const usize,
    n_xs: usize,
    out: *mut i8,
    n_out: usize,
    rows: usize,
    quant: *const i32,
    n_quant: usize,
) -> i32 {
    let kind = i32::try_from(kind).unwrap_or(-1);
    if ![
        ANNE_LAYER_ADD,
        ANNE_LAYER_SUBTRACT,
        ANNE_LAYER_MULTIPLY,
        ANNE_LAYER_CONCATENATE,
    ]
    .contains(&kind)
    {
        return ANNE_ERR_KIND;
    }
    if xs.is_null() || lens.is_null() || out.is_null() || quant.is_null() {
        return ANNE_ERR_NULL;
    }
    if n_xs > MAX_INPUTS || n_xs < 2 || (kind != ANNE_LAYER_CONCATENATE && n_xs != 2) {
        return ANNE_ERR_SIZE;
    }
    if let Err(status) = buffer_ok(quant, n_quant, Status::Size) {
        return status.code();
    }
    let mut spans = [(core::ptr::null::<i8>(), 0usize); MAX_INPUTS];
    for (i, span) in spans.iter_mut().enumerate().take(n_xs) {
        // SAFETY: xs and lens hold n_xs items (contract), n_xs <= 7.
        let (p, n) = unsafe { (*xs.add(i), *lens.add(i)) };
        if p.is_null() {
            return ANNE_ERR_NULL;
        }
        if let Err(status) = buffer_ok(p, n, Status::Size) {
            return status.code();
        }
        if overlaps(out, n_out, p, n) {
            return ANNE_ERR_OVERLAP;
        }
        *span = (p, n);
    }
    if let Err(status) = buffer_ok(out as *const i8, n_out, Status::Size) {
        return status.code();
    }
    if overlaps(out, n_out, quant, n_quant) {
        return ANNE_ERR_OVERLAP;
    }
    // SAFETY: quant is non-null, aligned and n_quant int32 long (checked, contract).
    let q = unsafe { slice::from_raw_parts(quant, n_quant) };
    let mut ins: [&[i8]; MAX_INPUTS] = [&[]; MAX_INPUTS];
    for (slot, &(p, n)) in ins.iter_mut().zip(spans.iter().take(n_xs)) {
        // SAFETY: p is non-null and n int8 values long (checked, contract).
        *slot = unsafe { slice::from_raw_parts(p, n) };
    }
    // SAFETY: out is non-null, n_out values and overlaps no input (checked).
    let out = unsafe { slice::from_raw_parts_mut(out, n_out) };
    let ins = ins.get(..n_xs).unwrap_or(&[]);
    Status::code_of(merge_s8(kind, ins, out, rows, q))
}

/// The int8 merge on slices: `q` as `anne_merge_s8`'s `quant` (no
/// indexing that could panic: every count checked by slice patterns).
fn merge_s8(kind: i32, ins: &[&[i8]], out: &mut [i8], rows: usize, q: &[i32]) -> Result<(), Status> {
    let [out_zp, act_min, act_max, rest @ ..] = q else {
        return Err(Status::Param);
    };
    let (Some(zps), Some(words)) = (rest.get(..ins.len()), rest.get(ins.len()..)) else {
        return Err(Status::Param);
    };
    let zp_ok = |z: &i32| (-128..=127).contains(z);
    if !zp_ok(out_zp) || !zps.iter().all(zp_ok) {
        return Err(Status::Param);
    }
    if kind == ANNE_LAYER_CONCATENATE {
        if !words.is_empty() {
            return Err(Status::Param);
        }
        return concatenate_s8(ins, out, rows);
    }
    let (&[a, b], &[z1, z2]) = (ins, zps) else {
        return Err(Status::Size);
    };
    match (kind, words) {
        (ANNE_LAYER_MULTIPLY, &[multiplier, shift]) if multiplier >= 0 => {
            let p = MulS8Params {
                input1_offset: -z1,
                input2_offset: -z2,
                output_offset: *out_zp,
                multiplier,
                shift,
                act_min: *act_min,
                act_max: *act_max,
                rounding: Rounding::Double,
            };
            mul_s8(a, b, out, &p)
        }
        (ANNE_LAYER_ADD | ANNE_LAYER_SUBTRACT, &[left, m1, s1, m2, s2, mo, so])
            if left == ADD_LEFT_SHIFT as i32 && m1 >= 0 && m2 >= 0 && mo >= 0 =>
        {
            let p = AddS8Params {
                input1_offset: -z1,
                input2_offset: -z2,
                output_offset: *out_zp,
                input1_multiplier: m1,
                input1_shift: s1,
                // LiteRT's int8 SUB: its ADD with input 2's multiplier negated
                input2_multiplier: if kind == ANNE_LAYER_SUBTRACT { -m2 } else { m2 },
                input2_shift: s2,
                output_multiplier: mo,
                output_shift: so,
                act_min: *act_min,
                act_max: *act_max,
                rounding: Rounding::Double,
            };
            add_s8(a, b, out, &p)
        }
        _ => Err(Status::Param),
    }
}
