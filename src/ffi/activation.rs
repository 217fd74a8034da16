//! The activations' entry points (`anne_activation_default`,
//! `anne_activation_outputs`, `anne_activate_f32`,
//! `anne_activation_backward_f32`, `anne_act_table_s8`: an int8 table) and the activation record of the C ABI
//! (`anne_activation_t`): the safe conversions between it and
//! [`Activation`], and Keras's defaults from the generated
//! [`crate::ops_table`].

use crate::abi::*;
use crate::activation::Common;
use crate::ops_table::KERAS_DEFAULTS;
use crate::activation::backward::activation_backward;
use crate::{activate_f32, Activation, Status};
use super::check::{checked, float_buffer_ok};
use core::slice;

/// `anne_activation_default`: fills `*act` with `kind` and Keras's defaults.
///
/// # Safety
/// `act` is NULL or points to writable memory for one `anne_activation_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_activation_default(kind: u32, act: *mut anne_activation_t) -> i32 {
    if act.is_null() {
        return ANNE_ERR_NULL;
    }
    match Activation::keras_default(kind) {
        Ok(default) => {
            // SAFETY: act is non-null and, by the contract, valid for writes.
            unsafe { act.write_unaligned(default.to_abi()) };
            ANNE_OK
        }
        Err(status) => status.code(),
    }
}

/// `anne_activation_outputs`: number of outputs of `kind` for `n` inputs.
///
/// # Safety
/// `n_out` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn anne_activation_outputs(kind: u32, n: usize, n_out: *mut usize) -> i32 {
    if n_out.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = Activation::keras_default(kind).and_then(|act| act.outputs(n));
    match result {
        Ok(outputs) => {
            // SAFETY: n_out is non-null and, by the contract, writable.
            unsafe { n_out.write_unaligned(outputs) };
            ANNE_OK
        }
        Err(status) => {
            if status == Status::Size {
                // SAFETY: as above.
                unsafe { n_out.write_unaligned(0) };
            }
            status.code()
        }
    }
}

/// Reads `*act` (the kernels validate its parameters).
///
/// # Safety
/// `act` is non-null and points to a readable `anne_activation_t`, aligned
/// as every C pointer to one is.
pub(crate) unsafe fn read_activation(act: *const anne_activation_t) -> Result<Activation, Status> {
    // SAFETY: the caller guarantees a readable, aligned struct; every bit
    // pattern of its fields (integers and floats) is valid. (An aligned
    // read is a few loads; read_unaligned pulled in a 374-byte memcpy.)
    let raw = unsafe { act.read() };
    Activation::from_abi(&raw)
}

/// `anne_activate_f32`: applies `*act` in place to `buf[0..n)`.
///
/// # Safety
/// `buf` points to `n` floats, readable and writable; `act` to one
/// `anne_activation_t`. Either may be NULL (reported, not dereferenced).
#[no_mangle]
pub unsafe extern "C" fn anne_activate_f32(
    buf: *mut f32,
    n: usize,
    act: *const anne_activation_t,
) -> i32 {
    if buf.is_null() || act.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = float_buffer_ok(buf, n, Status::Size)
        // SAFETY: act is non-null and readable by the contract.
        .and_then(|()| unsafe { read_activation(act) })
        .and_then(|act| {
            // SAFETY: buf is non-null, aligned, n floats long (contract) and
            // its byte size fits an isize; no other reference to it exists
            // during this call.
            let buf = unsafe { slice::from_raw_parts_mut(buf, n) };
            activate_f32(buf, &act)
        });
    Status::code_of(result)
}

/// `anne_activation_backward_f32`: see `anne.h`.
///
/// # Safety
/// `act` points to one aligned `anne_activation_t`; `z` and `dz` to `n_z`
/// floats, `y` and `dy` to `n_y` (dz writable).
#[no_mangle]
pub unsafe extern "C" fn anne_activation_backward_f32(
    act: *const anne_activation_t,
    z: *const f32,
    n_z: usize,
    y: *const f32,
    n_y: usize,
    dy: *const f32,
    dz: *mut f32,
) -> i32 {
    if act.is_null() {
        return ANNE_ERR_NULL;
    }
    let result = (|| {
        for (p, n) in [(z, n_z), (y, n_y), (dy, n_y)] {
            checked(p, n, &[])?;
        }
        checked(dz, n_z, &[(z, n_z), (y, n_y), (dy, n_y)])?;
        // SAFETY: act is non-null, readable and aligned (contract).
        let act = unsafe { read_activation(act) }?;
        // SAFETY: each pointer is non-null, aligned and as long as the
        // contract says; dz overlaps none of the others (checked).
        let (z, y, dy, dz) = unsafe {
            (
                slice::from_raw_parts(z, n_z),
                slice::from_raw_parts(y, n_y),
                slice::from_raw_parts(dy, n_y),
                slice::from_raw_parts_mut(dz, n_z),
            )
        };
        activation_backward(&act, z, y, dy, dz)
    })();
    Status::code_of(result)
}

impl Activation {
    /// The activation `kind` with Keras's default parameters
    /// ([`KERAS_DEFAULTS`], generated from `ops/ops.json`). `threshold`
    /// has no default in Keras; it gets `threshold = 0, default_value = 0`
    /// as placeholders. Unknown kinds are [`Status::Activation`].
    pub fn keras_default(kind: u32) -> Result<Activation, Status> {
        let raw = KERAS_DEFAULTS
            .get(kind as usize)
            .ok_or(Status::Activation)?;
        Activation::from_abi(raw)
    }

    /// The header's id of this activation (`ANNE_ACT_*`).
    pub fn kind(&self) -> u32 {
        match self {
            Activation::Linear => ANNE_ACT_LINEAR,
            Activation::Relu { .. } => ANNE_ACT_RELU,
            Activation::Sigmoid => ANNE_ACT_SIGMOID,
            Activation::Tanh => ANNE_ACT_TANH,
            Activation::Softmax => ANNE_ACT_SOFTMAX,
            Activation::LeakyRelu { .. } => ANNE_ACT_LEAKY_RELU,
            Activation::Elu { .. } => ANNE_ACT_ELU,
            Activation::Selu => ANNE_ACT_SELU,
            Activation::Celu { .. } => ANNE_ACT_CELU,
            Activation::Exponential => ANNE_ACT_EXPONENTIAL,
            Activation::Gelu { .. } => ANNE_ACT_GELU,
            Activation::Glu => ANNE_ACT_GLU,
            Activation::HardShrink { .. } => ANNE_ACT_HARD_SHRINK,
            Activation::HardSigmoid => ANNE_ACT_HARD_SIGMOID,
            Activation::HardSilu => ANNE_ACT_HARD_SILU,
            Activation::HardTanh => ANNE_ACT_HARD_TANH,
            Activation::LogSigmoid => ANNE_ACT_LOG_SIGMOID,
            Activation::LogSoftmax => ANNE_ACT_LOG_SOFTMAX,
            Activation::Mish => ANNE_ACT_MISH,
            Activation::Relu6 => ANNE_ACT_RELU6,
            Activation::Silu => ANNE_ACT_SILU,
            Activation::SoftShrink { .. } => ANNE_ACT_SOFT_SHRINK,
            Activation::Softplus => ANNE_ACT_SOFTPLUS,
            Activation::Softsign => ANNE_ACT_SOFTSIGN,
            Activation::SparsePlus => ANNE_ACT_SPARSE_PLUS,
            Activation::SparseSigmoid => ANNE_ACT_SPARSE_SIGMOID,
            Activation::Sparsemax => ANNE_ACT_SPARSEMAX,
            Activation::Squareplus { .. } => ANNE_ACT_SQUAREPLUS,
            Activation::TanhShrink => ANNE_ACT_TANH_SHRINK,
            Activation::Threshold { .. } => ANNE_ACT_THRESHOLD,
        }
    }

    /// Reads a C `anne_activation_t`: its kind (else [`Status::Activation`])
    /// and the fields that kind uses. `has_max_value` and `approximate` count
    /// as true when nonzero. The parameters are not checked here: the
    /// kernels [`Activation::validate`] them.
    pub fn from_abi(raw: &anne_activation_t) -> Result<Activation, Status> {
        Ok(match raw.kind {
            ANNE_ACT_LINEAR => Activation::Linear,
            ANNE_ACT_RELU => Activation::Relu {
                negative_slope: raw.negative_slope,
                max_value: (raw.has_max_value != 0).then_some(raw.max_value),
                threshold: raw.threshold,
            },
            ANNE_ACT_SIGMOID => Activation::Sigmoid,
            ANNE_ACT_TANH => Activation::Tanh,
            ANNE_ACT_SOFTMAX => Activation::Softmax,
            ANNE_ACT_LEAKY_RELU => Activation::LeakyRelu {
                negative_slope: raw.negative_slope,
            },
            ANNE_ACT_ELU => Activation::Elu { alpha: raw.alpha },
            ANNE_ACT_SELU => Activation::Selu,
            ANNE_ACT_CELU => Activation::Celu { alpha: raw.alpha },
            ANNE_ACT_EXPONENTIAL => Activation::Exponential,
            ANNE_ACT_GELU => Activation::Gelu {
                approximate: raw.approximate != 0,
            },
            ANNE_ACT_GLU => Activation::Glu,
            ANNE_ACT_HARD_SHRINK => Activation::HardShrink {
                threshold: raw.threshold,
            },
            ANNE_ACT_HARD_SIGMOID => Activation::HardSigmoid,
            ANNE_ACT_HARD_SILU => Activation::HardSilu,
            ANNE_ACT_HARD_TANH => Activation::HardTanh,
            ANNE_ACT_LOG_SIGMOID => Activation::LogSigmoid,
            ANNE_ACT_LOG_SOFTMAX => Activation::LogSoftmax,
            ANNE_ACT_MISH => Activation::Mish,
            ANNE_ACT_RELU6 => Activation::Relu6,
            ANNE_ACT_SILU => Activation::Silu,
            ANNE_ACT_SOFT_SHRINK => Activation::SoftShrink {
                threshold: raw.threshold,
            },
            ANNE_ACT_SOFTPLUS => Activation::Softplus,
            ANNE_ACT_SOFTSIGN => Activation::Softsign,
            ANNE_ACT_SPARSE_PLUS => Activation::SparsePlus,
            ANNE_ACT_SPARSE_SIGMOID => Activation::SparseSigmoid,
            ANNE_ACT_SPARSEMAX => Activation::Sparsemax,
            ANNE_ACT_SQUAREPLUS => Activation::Squareplus { b: raw.b },
            ANNE_ACT_TANH_SHRINK => Activation::TanhShrink,
            ANNE_ACT_THRESHOLD => Activation::Threshold {
                threshold: raw.threshold,
                default_value: raw.default_value,
            },
            _ => return Err(Status::Activation),
        })
    }

    /// This activation as a C `anne_activation_t` (unused fields 0).
    pub fn to_abi(&self) -> anne_activation_t {
        let mut raw = anne_activation_t {
            kind: self.kind(),
            negative_slope: 0.0,
            alpha: 0.0,
            threshold: 0.0,
            max_value: 0.0,
            default_value: 0.0,
            b: 0.0,
            has_max_value: 0,
            approximate: 0,
            reserved: [0; 2],
        };
        match *self {
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                raw.negative_slope = negative_slope;
                raw.threshold = threshold;
                if let Some(max_value) = max_value {
                    raw.max_value = max_value;
                    raw.has_max_value = 1;
                }
            }
            Activation::LeakyRelu { negative_slope } => raw.negative_slope = negative_slope,
            Activation::Elu { alpha } | Activation::Celu { alpha } => raw.alpha = alpha,
            Activation::Gelu { approximate } => raw.approximate = approximate as u8,
            Activation::HardShrink { threshold } | Activation::SoftShrink { threshold } => {
                raw.threshold = threshold
            }
            Activation::Squareplus { b } => raw.b = b,
            Activation::Threshold {
                threshold,
                default_value,
            } => {
                raw.threshold = threshold;
                raw.default_value = default_value;
            }
            _ => {}
        }
        raw
    }
}

impl Common {
    /// The activation `raw` describes when it is linear, sigmoid or relu
    /// with Keras's defaults (then its parameters need no check), without
    /// building an [`Activation`]; `None` for any other.
    #[inline(always)]
    pub(crate) fn from_abi(raw: &anne_activation_t) -> Option<Common> {
        match raw.kind {
            ANNE_ACT_LINEAR => Some(Common::Linear),
            ANNE_ACT_SIGMOID => Some(Common::Sigmoid),
            ANNE_ACT_RELU
                if raw.has_max_value == 0
                    && (raw.negative_slope.to_bits() | raw.threshold.to_bits()) << 1 == 0 =>
            {
                Some(Common::Relu)
            }
            _ => None,
        }
    }
}

/// `anne_act_table_s8`: the 256-entry int8 table LiteRT's `Prepare` builds
/// for an element-wise activation (sigmoid, tanh, elu, gelu, exponential:
/// [`crate::activation::s8::activation_table`]), so that a board makes
/// the same int8 file as the PC's quantizer (`net.quantize`).
///
/// # Safety
/// `table` is NULL or points to `n` writable int8 values.
#[no_mangle]
pub unsafe extern "C" fn anne_act_table_s8(
    kind: u32,
    approximate: u32,
    in_scale: f32,
    in_zp: i32,
    out_scale: f32,
    out_zp: i32,
    table: *mut i8,
    n: usize,
) -> i32 {
    use crate::activation::s8::{activation_table, TableFn};
    let f = match kind {
        ANNE_ACT_SIGMOID => TableFn::Logistic,
        ANNE_ACT_TANH => TableFn::Tanh,
        ANNE_ACT_ELU => TableFn::Elu,
        ANNE_ACT_GELU => TableFn::Gelu { approximate: approximate != 0 },
        ANNE_ACT_EXPONENTIAL => TableFn::Exp,
        _ => return ANNE_ERR_ACTIVATION,
    };
    if table.is_null() {
        return ANNE_ERR_NULL;
    }
    if n != 256 {
        return ANNE_ERR_SIZE;
    }
    let mut t = [0i8; 256];
    if let Err(status) = activation_table(f, in_scale, in_zp, out_scale, out_zp, &mut t) {
        return status.code();
    }
    // SAFETY: table is non-null and n == 256 writable values (contract).
    unsafe { slice::from_raw_parts_mut(table, n) }.copy_from_slice(&t);
    ANNE_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for kind in 0..ACTIVATION_COUNT {
            let act = Activation::keras_default(kind).unwrap();
            assert_eq!(act.kind(), kind);
            assert_eq!(Activation::from_abi(&act.to_abi()), Ok(act));
        }
        assert_eq!(
            Activation::keras_default(ACTIVATION_COUNT),
            Err(Status::Activation)
        );
        assert_eq!(Activation::keras_default(u32::MAX), Err(Status::Activation));
    }

    #[test]
    fn common_from_abi_agrees_with_from_abi() {
        // Every kind with its defaults, and relu with each parameter moved
        // (including to -0.0, which behaves as 0.0).
        let mut raws: Vec<anne_activation_t> = (0..ACTIVATION_COUNT)
            .map(|kind| Activation::keras_default(kind).unwrap().to_abi())
            .collect();
        let relu = raws[ANNE_ACT_RELU as usize];
        for (field, value) in [(0, 0.1), (0, -0.0), (1, 0.5), (1, -0.0), (2, 6.0)] {
            let mut raw = relu;
            match field {
                0 => raw.negative_slope = value,
                1 => raw.threshold = value,
                _ => {
                    raw.max_value = value;
                    raw.has_max_value = 1;
                }
            }
            raws.push(raw);
        }
        for raw in &raws {
            let act = Activation::from_abi(raw).unwrap();
            assert_eq!(Common::from_abi(raw), Common::of(&act), "{act:?}");
        }
        assert_eq!(raws.iter().filter_map(Common::from_abi).count(), 5);
    }

    #[test]
    fn validate_follows_the_tables_rules() {
        use crate::ops_table::{Rule, RULES};
        // Each rule of ops/ops.json: a value that breaks it is refused, one
        // that keeps it accepted; kinds without rules take any finite value.
        fn set(raw: &mut anne_activation_t, bit: i32, value: f32) {
            match bit {
                ANNE_P_NEGATIVE_SLOPE => raw.negative_slope = value,
                ANNE_P_ALPHA => raw.alpha = value,
                ANNE_P_THRESHOLD => raw.threshold = value,
                ANNE_P_MAX_VALUE => {
                    raw.has_max_value = 1;
                    raw.max_value = value
                }
                ANNE_P_DEFAULT_VALUE => raw.default_value = value,
                _ => raw.b = value,
            }
        }
        let floats = [
            ANNE_P_NEGATIVE_SLOPE,
            ANNE_P_ALPHA,
            ANNE_P_THRESHOLD,
            ANNE_P_MAX_VALUE,
            ANNE_P_DEFAULT_VALUE,
            ANNE_P_B,
        ];
        let mut checked = 0;
        for &(kind, bit, rule) in RULES {
            let (bad, good) = match rule {
                Rule::NonNegative => (-0.5, 0.0),
                Rule::Nonzero => (0.0, -0.5),
                Rule::Required => continue, // the glue's check: any value is in range
            };
            for (value, ok) in [(bad, false), (good, true)] {
                let mut raw = KERAS_DEFAULTS[kind as usize];
                set(&mut raw, bit, value);
                let act = Activation::from_abi(&raw).unwrap();
                assert_eq!(act.validate().is_ok(), ok, "{act:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 6);
        for kind in 0..ACTIVATION_COUNT {
            for bit in floats {
                if RULES
                    .iter()
                    .any(|&(k, b, r)| k == kind && b == bit && r != Rule::Required)
                {
                    continue;
                }
                let mut raw = KERAS_DEFAULTS[kind as usize];
                set(&mut raw, bit, -0.5);
                let act = Activation::from_abi(&raw).unwrap();
                assert_eq!(act.validate(), Ok(()), "{act:?} bit {bit}");
            }
        }
    }

    #[test]
    fn header_layout() {
        assert_eq!(core::mem::size_of::<anne_activation_t>(), 32);
        assert_eq!(ACTIVATION_COUNT, 30);
        assert_eq!(ANNE_ACT_THRESHOLD, 29);
    }
}

