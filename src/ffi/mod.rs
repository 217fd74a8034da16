//! The C ABI of `c_glue/anne.h`: the only module with `unsafe`.
//!
//! Each function checks its pointers (NULL is [`ANNE_ERR_NULL`]) and lengths,
//! builds each slice once, calls the safe API and returns a status code
//! that says exactly what was refused (see the header's list):
//! - every `float *` must be aligned for `float` (4 bytes): a misaligned
//!   buffer is `ANNE_ERR_ALIGN`; a length whose byte size exceeds
//!   `isize::MAX` is the size error of that argument;
//! - an `out` that overlaps `x`, `kernel` or `bias` is `ANNE_ERR_OVERLAP`;
//! - a NULL `buf` is `ANNE_ERR_NULL` even when `n == 0`; `n == 0` with a
//!   valid pointer is `ANNE_OK` and does nothing (glu included).
//!
//! Nothing is written through any pointer unless the call returns `ANNE_OK`
//! (except `*n_out`, which `anne_activation_outputs` sets to 0 on odd glu).

//!
//! Files: [`check`] (pointer checks), [`activation`], [`forward`]
//! ([`forward_s8`]: its int8 layers, `forward_s8_2d` the 2-D ones), [`backward`], [`fit`], [`merge`] (the
//! entry points by concept), [`layer`] (a layer
//! record's kind and params as [`crate::layers::Op`]).

pub mod activation;
pub mod backward;
mod check;
pub mod fit;
pub mod forward;
pub mod forward_s8;
mod forward_s8_2d;
pub mod merge;

pub use activation::{
    anne_act_table_s8, anne_activate_f32, anne_activation_backward_f32, anne_activation_default,
    anne_activation_outputs,
};
pub use backward::{anne_adam_f32, anne_dense_backward_f32, anne_layer_backward_f32, anne_sgd_f32};
pub use fit::{anne_fit_epoch_f32, anne_fit_workspace};
pub use forward::{anne_argmax_f32, anne_dense_f32, anne_forward};
pub use merge::{anne_merge_f32, anne_merge_s8};

/// Compile-time check that each definition above has exactly the signature
/// that bindgen derived from the header's declaration.
#[allow(dead_code, unused_assignments)]
fn signatures_match_header() {
    use crate::abi as h;
    let mut f: unsafe extern "C" fn(_, _) -> _ = h::anne_activation_default;
    f = anne_activation_default;
    let mut f2: unsafe extern "C" fn(_, _, _) -> _ = h::anne_activation_outputs;
    f2 = anne_activation_outputs;
    let mut f3: unsafe extern "C" fn(_, _, _) -> _ = h::anne_activate_f32;
    f3 = anne_activate_f32;
    let mut f4: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _) -> _ = h::anne_dense_f32;
    f4 = anne_dense_f32;
    let mut f5: unsafe extern "C" fn(_, _, _) -> _ = h::anne_argmax_f32;
    f5 = anne_argmax_f32;
    let mut f6: unsafe extern "C" fn(_, _, _, _, _) -> _ = h::anne_forward;
    f6 = anne_forward;
    let mut f7: unsafe extern "C" fn(_, _, _, _, _, _, _) -> _ = h::anne_activation_backward_f32;
    f7 = anne_activation_backward_f32;
    let mut f8: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _) -> _ = h::anne_dense_backward_f32;
    f8 = anne_dense_backward_f32;
    let mut f9: unsafe extern "C" fn(_, _, _, _, _, _, _, _) -> _ = h::anne_sgd_f32;
    f9 = anne_sgd_f32;
    let mut f10: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _, _) -> _ = h::anne_adam_f32;
    f10 = anne_adam_f32;
    let mut f11: unsafe extern "C" fn(_, _, _, _, _, _) -> _ = h::anne_fit_workspace;
    f11 = anne_fit_workspace;
    let mut f12: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _) -> _ =
        h::anne_fit_epoch_f32;
    f12 = anne_fit_epoch_f32;
    let mut f13: unsafe extern "C" fn(_, _, _, _, _, _, _) -> _ = h::anne_merge_f32;
    f13 = anne_merge_f32;
    let mut f14: unsafe extern "C" fn(_, _, _, _, _, _, _, _, _) -> _ = h::anne_merge_s8;
    f14 = anne_merge_s8;
    let mut f15: unsafe extern "C" fn(_, _, _, _, _, _, _, _) -> _ = h::anne_act_table_s8;
    f15 = anne_act_table_s8;
    let _ = (f, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15);
}
