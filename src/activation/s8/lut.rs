//! Lookup-table activations, int8: TFLite's `LUTPopulate<int8_t>` and
//! `LookupTable`, and the tables LiteRT builds for LOGISTIC, TANH, ELU,
//! GELU, EXP and LOG (see the parent module for the float functions).

use crate::Status;

/// A 256-entry int8 table, indexed by the input's bits (`x as u8`): the
/// entries for 0..=127 first, then -128..=-1 (TFLite's order).
pub type TableS8 = [i8; 256];

/// `Status::Param` unless a scale is finite and positive and a zero point
/// in -128..=127.
pub(crate) fn check_quant(scale: f32, zero_point: i32) -> Result<(), Status> {
    if scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point) {
        Ok(())
    } else {
        Err(Status::Param)
    }
}

/// C++'s `static_cast<int32_t>(float)` as LiteRT's x86-64 build executes it
/// (`cvttss2si`): truncation toward zero, and `INT32_MIN` for NaN and for
/// values outside the int32 range (undefined behaviour in C++; x86 gives
/// that "integer indefinite" value).
#[inline]
fn f32_to_i32_x86(v: f32) -> i32 {
    if v.is_nan() || !(-2147483648.0..2147483648.0).contains(&v) {
        i32::MIN
    } else {
        v as i32
    }
}

/// TFLite's `LUTPopulate<int8_t>` (`detail::LUTPopulateInt8`,
/// `tflite/kernels/internal/common.h`), in `f32` as the C++ computes it:
/// for every int8 `q`,
/// `table[q as u8] = clamp((int32)(roundf(f(input_scale * (q - input_zero_point)) * (1 / output_scale)) + output_zero_point), -128, 127)`,
/// with the float-to-int conversion of x86 (`cvttss2si`: NaN or an
/// out-of-range value gives -128).
///
/// Built once (at load); [`lut_s8`] then applies it. `Status::Param` for a
/// scale that is not finite and positive or a zero point outside
/// -128..=127 (nothing is written then).
pub fn lut_populate_s8<F: Fn(f32) -> f32>(
    f: F,
    input_scale: f32,
    input_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    table: &mut TableS8,
) -> Result<(), Status> {
    check_quant(input_scale, input_zero_point)?;
    check_quant(output_scale, output_zero_point)?;
    let inverse_scale = 1.0f32 / output_scale;
    for q in -128i32..=127 {
        let dequantized = input_scale * ((q - input_zero_point) as f32);
        let transformed = f(dequantized);
        let rescaled = libm::roundf(transformed * inverse_scale);
        let quantized = f32_to_i32_x86(rescaled + output_zero_point as f32);
        table[(q as i8) as u8 as usize] = quantized.clamp(-128, 127) as i8;
    }
    Ok(())
}

/// The generic int8 lookup-table activation: `out[i] = table[x[i] as u8]`
/// (LiteRT's `LookupTable`). `Status::Size` unless `out` has `x`'s length.
pub fn lut_s8(x: &[i8], table: &TableS8, out: &mut [i8]) -> Result<(), Status> {
    if x.len() != out.len() {
        return Err(Status::Size);
    }
    for (o, &v) in out.iter_mut().zip(x) {
        *o = table[v as u8 as usize];
    }
    Ok(())
}

/// [`lut_s8`] in place.
pub fn lut_s8_in_place(buf: &mut [i8], table: &TableS8) {
    for v in buf.iter_mut() {
        *v = table[*v as u8 as usize];
    }
}

// ---- the float functions of LiteRT's tables (see the module's notes) ----

/// `expf`, as glibc computes it (correctly rounded but for rare
/// midpoints): `exp` in `f64`, rounded to `f32`.
#[inline]
pub fn expf_glibc(x: f32) -> f32 {
    libm::exp(x as f64) as f32
}

/// `logf`, as glibc computes it: `log` in `f64`, rounded to `f32`.
#[inline]
pub fn logf_glibc(x: f32) -> f32 {
    libm::log(x as f64) as f32
}

/// `expm1f`: `libm`'s, Sun's algorithm as glibc's.
#[inline]
pub fn expm1f_glibc(x: f32) -> f32 {
    libm::expm1f(x)
}

/// `erfcf`: `libm`'s, Sun's algorithm as glibc's.
#[inline]
pub fn erfcf_glibc(x: f32) -> f32 {
    libm::erfcf(x)
}

/// `tanhf` as glibc computes it (Sun's `s_tanhf.c`): `±0` and NaN
/// through, `x * (1 + x)` below 2^-55, `1 - 2 / (expm1f(2|x|) + 2)` from
/// 1, `-t / (t + 2)` with `t = expm1f(-2|x|)` below 1, ±1 from 22.
pub fn tanhf_glibc(x: f32) -> f32 {
    let jx = x.to_bits() as i32;
    let ix = jx & 0x7fff_ffff;
    if ix >= 0x7f80_0000 {
        // ±inf gives ±1, NaN stays NaN
        return if jx >= 0 {
            1.0 / x + 1.0
        } else {
            1.0 / x - 1.0
        };
    }
    let z = if ix < 0x41b0_0000 {
        if ix == 0 {
            return x;
        }
        if ix < 0x2400_0000 {
            return x * (1.0 + x);
        }
        if ix >= 0x3f80_0000 {
            let t = expm1f_glibc(2.0 * libm::fabsf(x));
            1.0 - 2.0 / (t + 2.0)
        } else {
            let t = expm1f_glibc(-2.0 * libm::fabsf(x));
            -t / (t + 2.0)
        }
    } else {
        1.0 - 1.0e-30
    };
    if jx >= 0 {
        z
    } else {
        -z
    }
}

/// The element-wise functions LiteRT builds an int8 table for in its
/// `Prepare` (its reference and optimized kernels alike), with the float
/// function each table is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFn {
    /// LOGISTIC (`SigmoidPrepare`): `1.0f / (1.0f + expf(-x))`. LiteRT
    /// requires the output scale to be exactly 1/256 (`output->params.scale
    /// == 1. / 256`); the output zero point it does not check (the converter
    /// gives -128).
    Logistic,
    /// TANH (`TanhPrepare`): `tanhf(x)` (the converter gives the output
    /// scale 1/128 and zero point 0; LiteRT does not check them).
    Tanh,
    /// ELU (`EluPrepare`; TFLite's ELU has alpha 1): `x < 0.0f ?
    /// expm1f(x) : x`.
    Elu,
    /// GELU (`GeluPrepare`): `reference_ops::GeluTransform`, `0.5f * x *
    /// erfcf(x * (float)-M_SQRT1_2)`; with `approximate`,
    /// `GeluTransformApproximate`, `0.5f * x * (1.f + tanhf(sqrt(2/pi) *
    /// (x + 0.044715f * x * x * x)))` (unfused here: an FMA build of LiteRT
    /// could differ in that one).
    Gelu {
        /// Keras's `approximate` (TFLite's `GeluOptions.approximate`).
        approximate: bool,
    },
    /// EXP (`exp.cc`): `expf(x)`.
    Exp,
    /// LOG (`elementwise.cc`, `LogLUTPrepare`): `logf(x)` for `x > 0`,
    /// else the output's smallest value `(float)(-128 - output_zero_point)
    /// * output_scale`.
    Log,
}

/// Builds the int8 table of `f` as LiteRT's `Prepare` does, with
/// [`lut_populate_s8`] (once, at load); [`lut_s8`] applies it.
/// `Status::Param` as [`lut_populate_s8`], and for LOGISTIC an output
/// scale other than 1/256 (nothing is written then).
pub fn activation_table(
    f: TableFn,
    input_scale: f32,
    input_zero_point: i32,
    output_scale: f32,
    output_zero_point: i32,
    table: &mut TableS8,
) -> Result<(), Status> {
    // (float)-M_SQRT1_2 and (float)(M_2_SQRTPI * M_SQRT1_2), as the C++
    // converts them
    const NEG_SQRT1_2: f32 = -core::f64::consts::FRAC_1_SQRT_2 as f32;
    const SQRT_2_OVER_PI: f32 =
        (core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2) as f32;
    let build = |g: &dyn Fn(f32) -> f32, table: &mut TableS8| {
        lut_populate_s8(
            g,
            input_scale,
            input_zero_point,
            output_scale,
            output_zero_point,
            table,
        )
    };
    match f {
        TableFn::Logistic => {
            if output_scale as f64 != 1.0 / 256.0 {
                return Err(Status::Param);
            }
            build(&|v| 1.0f32 / (1.0f32 + expf_glibc(-v)), table)
        }
        TableFn::Tanh => build(&tanhf_glibc, table),
        TableFn::Elu => build(&|v| if v < 0.0 { expm1f_glibc(v) } else { v }, table),
        TableFn::Gelu { approximate: false } => {
            build(&|v| 0.5f32 * v * erfcf_glibc(v * NEG_SQRT1_2), table)
        }
        TableFn::Gelu { approximate: true } => build(
            &|v| {
                0.5f32 * v * (1.0f32 + tanhf_glibc(SQRT_2_OVER_PI * (v + 0.044715f32 * v * v * v)))
            },
            table,
        ),
        TableFn::Exp => build(&expf_glibc, table),
        TableFn::Log => {
            let output_min = ((-128 - output_zero_point) as f32) * output_scale;
            build(
                &|v| if v <= 0.0 { output_min } else { logf_glibc(v) },
                table,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lut_order_and_lookup() {
        // identity table with the same scales: q -> q
        let mut t = [0i8; 256];
        lut_populate_s8(|v| v, 0.5, 3, 0.5, 3, &mut t).unwrap();
        for q in -128i32..=127 {
            assert_eq!(t[(q as i8) as u8 as usize] as i32, q);
        }
        // TFLite's order: index 0..=127 then -128..=-1
        assert_eq!(t[0], 0);
        assert_eq!(t[127], 127);
        assert_eq!(t[128], -128);
        assert_eq!(t[255], -1);
        let x = [-128i8, -1, 0, 5, 127];
        let mut out = [0i8; 5];
        lut_s8(&x, &t, &mut out).unwrap();
        assert_eq!(out, x);
        let mut buf = x;
        lut_s8_in_place(&mut buf, &t);
        assert_eq!(buf, x);
        assert_eq!(lut_s8(&x, &t, &mut out[..4]), Err(Status::Size));
    }

    #[test]
    fn lut_rounding_and_clamping() {
        // f(x) = x / 2 with unit scales: roundf is half away from zero
        let mut t = [0i8; 256];
        lut_populate_s8(|v| v / 2.0, 1.0, 0, 1.0, 0, &mut t).unwrap();
        assert_eq!(t[1], 1); // 0.5 -> 1
        assert_eq!(t[3], 2); // 1.5 -> 2
        assert_eq!(t[255], -1); // -0.5 -> -1
        assert_eq!(t[253], -2); // -1.5 -> -2
                                // saturation, and x86's conversion of NaN / inf to INT32_MIN
        lut_populate_s8(|v| v * 1000.0, 1.0, 0, 1.0, 0, &mut t).unwrap();
        assert_eq!((t[1], t[255]), (127, -128));
        lut_populate_s8(|_| f32::NAN, 1.0, 0, 1.0, 0, &mut t).unwrap();
        assert!(t.iter().all(|&v| v == -128));
        lut_populate_s8(|_| f32::INFINITY, 1.0, 0, 1.0, 0, &mut t).unwrap();
        assert!(t.iter().all(|&v| v == -128));
        lut_populate_s8(|_| 3.0e9, 1.0, 0, 1.0, 0, &mut t).unwrap();
        assert!(t.iter().all(|&v| v == -128));
    }

    #[test]
    fn lut_refuses_bad_quantization_without_writing() {
        let mut t = [7i8; 256];
        for (s_in, z_in, s_out, z_out) in [
            (0.0, 0, 1.0, 0),
            (-1.0, 0, 1.0, 0),
            (f32::NAN, 0, 1.0, 0),
            (1.0, 128, 1.0, 0),
            (1.0, 0, f32::INFINITY, 0),
            (1.0, 0, 1.0, -129),
        ] {
            assert_eq!(
                lut_populate_s8(|v| v, s_in, z_in, s_out, z_out, &mut t),
                Err(Status::Param)
            );
        }
        assert!(t.iter().all(|&v| v == 7));
        assert_eq!(
            activation_table(TableFn::Logistic, 0.1, 0, 1.0 / 128.0, -128, &mut t),
            Err(Status::Param)
        );
        assert!(t.iter().all(|&v| v == 7));
    }

    #[test]
    fn sigmoid_and_tanh_tables_by_hand() {
        let mut t = [0i8; 256];
        // input scale 1/16, zero point 0; sigmoid(0) = 0.5 -> 128 - 128 = 0
        activation_table(TableFn::Logistic, 1.0 / 16.0, 0, 1.0 / 256.0, -128, &mut t).unwrap();
        assert_eq!(t[0], 0);
        // sigmoid(127/16 = 7.9375) = 0.99964 -> 255.9 -> 256 - 128 = 128 -> 127
        assert_eq!(t[127], 127);
        // sigmoid(-8) = 0.000335 -> 0.086 -> 0 - 128
        assert_eq!(t[128], -128);
        // sigmoid(1) = 0.731059 -> 187.15 -> 187 - 128 = 59
        assert_eq!(t[16], 59);
        activation_table(TableFn::Tanh, 1.0 / 16.0, 0, 1.0 / 128.0, 0, &mut t).unwrap();
        // tanh(0.5) = 0.462117 -> 59.15 -> 59; tanh(-0.5) -> -59
        assert_eq!(t[8], 59);
        assert_eq!(t[(-8i8) as u8 as usize], -59);
        assert_eq!(t[0], 0);
    }

    #[test]
    fn glibc_style_functions() {
        assert_eq!(tanhf_glibc(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanhf_glibc(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanhf_glibc(f32::INFINITY), 1.0);
        assert_eq!(tanhf_glibc(f32::NEG_INFINITY), -1.0);
        assert!(tanhf_glibc(f32::NAN).is_nan());
        assert_eq!(tanhf_glibc(30.0), 1.0);
        assert_eq!(tanhf_glibc(-30.0), -1.0);
        for x in [-5.0f32, -1.0, -0.3, 1e-20, 0.01, 0.5, 0.9, 1.0, 2.0, 8.0] {
            let want = libm::tanh(x as f64);
            assert!(
                (tanhf_glibc(x) as f64 - want).abs() <= want.abs() * 3e-7,
                "{x}"
            );
        }
        assert_eq!(expf_glibc(0.0), 1.0);
        assert_eq!(logf_glibc(1.0), 0.0);
        assert_eq!(expf_glibc(-200.0), 0.0);
        assert_eq!(expf_glibc(100.0), f32::INFINITY);
    }

    #[test]
    fn elu_gelu_exp_log_tables_by_hand() {
        let mut t = [0i8; 256];
        activation_table(TableFn::Elu, 0.1, 0, 0.1, 0, &mut t).unwrap();
        assert_eq!(t[5], 5); // identity above 0
                             // expm1(-1) = -0.63212 -> -6.32 -> -6
        assert_eq!(t[(-10i8) as u8 as usize], -6);
        activation_table(TableFn::Gelu { approximate: false }, 0.1, 0, 0.1, 0, &mut t).unwrap();
        // gelu(1) = 0.841345 -> 8.41 -> 8; gelu(-1) = -0.158655 -> -2
        assert_eq!(t[10], 8);
        assert_eq!(t[(-10i8) as u8 as usize], -2);
        activation_table(TableFn::Gelu { approximate: true }, 0.1, 0, 0.1, 0, &mut t).unwrap();
        assert_eq!(t[10], 8); // approximate gelu(1) = 0.841192
        activation_table(TableFn::Exp, 0.1, 0, 0.1, -128, &mut t).unwrap();
        // exp(1) = 2.71828 -> 27.18 -> 27 - 128 = -101
        assert_eq!(t[10], -101);
        activation_table(TableFn::Log, 0.1, 0, 0.1, 0, &mut t).unwrap();
        // log(2) = 0.693 -> 6.93 -> 7; log(0) and below -> the output minimum
        assert_eq!(t[20], 7);
        assert_eq!(t[0], -128);
        assert_eq!(t[(-5i8) as u8 as usize], -128);
    }
}
