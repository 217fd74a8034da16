//! Dense (fully connected) layer, float32 reference kernel.

use crate::activation::{sigmoid, Activation};
use crate::{activate_f32, Status};

/// Keras `Dense`: `out = act(x . kernel + bias)`.
///
/// - `x`: `n_in` inputs (`n_in >= 1`).
/// - `kernel`: Keras layout, `n_in` rows by `units` columns, row-major
///   (`kernel[i * units + j]` connects input `i` to unit `j`); `units` is
///   `kernel.len() / n_in` and must be >= 1 and divide exactly.
/// - `bias`: `units` values, or `None` (`use_bias=False`).
/// - `out`: `units` values, or `units / 2` for glu (`units` even).
///
/// Each pre-activation is accumulated in f32 in input order `i = 0..n_in`,
/// then the bias is added (Keras: `matmul`, then `add`). glu pairs column
/// `j` with column `j + units / 2` so it needs no scratch memory; the vector
/// activations (softmax, log_softmax, sparsemax) run over `out` once it is
/// full. Nothing is written unless every check passes.
pub fn dense_f32(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    act: &Activation,
) -> Result<(), Status> {
    let n_in = x.len();
    if n_in == 0 || !kernel.len().is_multiple_of(n_in) {
        return Err(Status::Size);
    }
    let units = kernel.len() / n_in;
    if units == 0 || bias.is_some_and(|b| b.len() != units) {
        return Err(Status::Size);
    }
    act.validate()?;
    if out.len() != act.outputs(units)? {
        return Err(Status::Size);
    }
    let pre_activation = |j: usize| -> f32 {
        let mut acc = 0.0f32;
        for (i, &xi) in x.iter().enumerate() {
            acc += xi * kernel[i * units + j];
        }
        match bias {
            Some(b) => acc + b[j],
            None => acc,
        }
    };
    if let Activation::Glu = act {
        let half = units / 2;
        for (j, o) in out.iter_mut().enumerate() {
            *o = pre_activation(j) * sigmoid(pre_activation(j + half));
        }
        return Ok(());
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = pre_activation(j);
    }
    activate_f32(out, act).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINEAR: Activation = Activation::Linear;

    #[test]
    fn keras_layout_and_bias() {
        // x = [1, 2], kernel 2x3 row-major, bias [0.5, 0, -1].
        let x = [1.0f32, 2.0];
        let kernel = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bias = [0.5f32, 0.0, -1.0];
        let mut out = [0.0f32; 3];
        dense_f32(&x, &kernel, Some(&bias), &mut out, &LINEAR).unwrap();
        assert_eq!(out, [9.5, 12.0, 14.0]);
        dense_f32(&x, &kernel, None, &mut out, &LINEAR).unwrap();
        assert_eq!(out, [9.0, 12.0, 15.0]);
    }

    #[test]
    fn size_errors_leave_out_alone() {
        let x = [1.0f32, 2.0];
        let kernel = [1.0f32; 6];
        let mut out = [7.0f32; 3];
        let e = Err(Status::Size);
        assert_eq!(dense_f32(&[], &kernel, None, &mut out, &LINEAR), e);
        assert_eq!(dense_f32(&x, &kernel[..5], None, &mut out, &LINEAR), e);
        assert_eq!(dense_f32(&x, &[], None, &mut out, &LINEAR), e);
        assert_eq!(
            dense_f32(&x, &kernel, Some(&[0.0; 2]), &mut out, &LINEAR),
            e
        );
        assert_eq!(dense_f32(&x, &kernel, None, &mut out[..2], &LINEAR), e);
        // glu: 3 units is odd; 4 units need 2 outputs.
        assert_eq!(
            dense_f32(&x, &kernel, None, &mut out[..1], &Activation::Glu),
            e
        );
        assert_eq!(
            dense_f32(&x, &[1.0; 8], None, &mut out, &Activation::Glu),
            e
        );
        assert_eq!(
            dense_f32(
                &x,
                &kernel,
                None,
                &mut out,
                &Activation::Squareplus { b: -1.0 }
            ),
            Err(Status::Param)
        );
        assert_eq!(out, [7.0; 3]);
    }

    #[test]
    fn glu_pairs_column_j_with_j_plus_half() {
        // units = 4: pre-activations [1, 2, 0, 100] -> [1 * 0.5, 2 * ~1].
        let x = [1.0f32];
        let kernel = [1.0f32, 2.0, 0.0, 100.0];
        let mut out = [0.0f32; 2];
        dense_f32(&x, &kernel, None, &mut out, &Activation::Glu).unwrap();
        assert_eq!(out, [0.5, 2.0]);
    }

    #[test]
    fn softmax_after_fill() {
        let x = [1.0f32];
        let kernel = [0.0f32, 0.0];
        let mut out = [0.0f32; 2];
        dense_f32(&x, &kernel, None, &mut out, &Activation::Softmax).unwrap();
        assert_eq!(out, [0.5, 0.5]);
    }
}
