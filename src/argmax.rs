//! argmax over a float32 vector.

use crate::Status;

/// Index of the largest value: the first one on ties; NaN never wins unless
/// every value is NaN (then 0). An empty slice is [`Status::Size`].
pub fn argmax_f32(values: &[f32]) -> Result<usize, Status> {
    if values.is_empty() {
        return Err(Status::Size);
    }
    let mut best: Option<(usize, f32)> = None;
    for (index, &value) in values.iter().enumerate() {
        if value.is_nan() {
            continue;
        }
        match best {
            Some((_, best_value)) if value <= best_value => {}
            _ => best = Some((index, value)),
        }
    }
    Ok(best.map_or(0, |(index, _)| index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_size_error() {
        assert_eq!(argmax_f32(&[]), Err(Status::Size));
    }

    #[test]
    fn first_max_wins_ties() {
        assert_eq!(argmax_f32(&[1.0, 3.0, 3.0, 2.0]), Ok(1));
        assert_eq!(argmax_f32(&[0.0, -0.0]), Ok(0));
        assert_eq!(argmax_f32(&[-0.0, 0.0]), Ok(0));
    }

    #[test]
    fn nan_never_wins_unless_all_nan() {
        let nan = f32::NAN;
        assert_eq!(argmax_f32(&[nan, 1.0, nan, 2.0, nan]), Ok(3));
        assert_eq!(argmax_f32(&[nan, f32::NEG_INFINITY]), Ok(1));
        assert_eq!(argmax_f32(&[nan, nan, nan]), Ok(0));
    }

    #[test]
    fn infinities() {
        assert_eq!(argmax_f32(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), Ok(0));
        assert_eq!(argmax_f32(&[1.0, f32::INFINITY, f32::INFINITY]), Ok(1));
        assert_eq!(argmax_f32(&[7.0]), Ok(0));
    }
}
