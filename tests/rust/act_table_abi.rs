//! `anne_act_table_s8` through the C ABI (the board's quantizer builds an
//! int8 activation's table with it, issue 29): the table
//! `activation_table` builds (which tests/rust/int8_activations.rs checks
//! against LiteRT's recorded outputs) for each kind it takes, and its
//! refusals (another kind, NULL, a length other than 256, bad scales and
//! zero points, sigmoid's output scale other than 1/256) with nothing
//! written.

use anne::abi::{
    ANNE_ACT_ELU, ANNE_ACT_EXPONENTIAL, ANNE_ACT_GELU, ANNE_ACT_RELU, ANNE_ACT_SIGMOID, ANNE_ACT_SOFTMAX, ANNE_ACT_TANH,
    ANNE_ERR_ACTIVATION, ANNE_ERR_NULL, ANNE_ERR_PARAM, ANNE_ERR_SIZE, ANNE_OK,
};
use anne::activation::s8::{activation_table, TableFn};
use anne::ffi::anne_act_table_s8;

fn call(kind: u32, approximate: u32, q: (f32, i32, f32, i32), table: &mut [i8]) -> i32 {
    // SAFETY: table is a live slice of table.len() values.
    unsafe { anne_act_table_s8(kind, approximate, q.0, q.1, q.2, q.3, table.as_mut_ptr(), table.len()) }
}

#[test]
fn the_tables_are_activation_tables() {
    let kinds = [
        (ANNE_ACT_SIGMOID, 0, TableFn::Logistic),
        (ANNE_ACT_TANH, 0, TableFn::Tanh),
        (ANNE_ACT_ELU, 0, TableFn::Elu),
        (ANNE_ACT_GELU, 0, TableFn::Gelu { approximate: false }),
        (ANNE_ACT_GELU, 1, TableFn::Gelu { approximate: true }),
        (ANNE_ACT_EXPONENTIAL, 0, TableFn::Exp),
    ];
    let mut seed = 12345u32;
    let mut next = || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed >> 8
    };
    for (kind, approximate, f) in kinds {
        for _ in 0..200 {
            let si = (next() % 10_000 + 1) as f32 * 1e-5;
            let zi = (next() % 256) as i32 - 128;
            let (so, zo) = if kind == ANNE_ACT_SIGMOID {
                (1.0 / 256.0, -128)
            } else {
                ((next() % 10_000 + 1) as f32 * 1e-5, (next() % 256) as i32 - 128)
            };
            let mut want = [0i8; 256];
            activation_table(f, si, zi, so, zo, &mut want).unwrap();
            let mut got = [0i8; 256];
            assert_eq!(call(kind, approximate, (si, zi, so, zo), &mut got), ANNE_OK);
            assert_eq!(got, want, "{f:?} {si} {zi} {so} {zo}");
        }
    }
}

#[test]
fn refusals_write_nothing() {
    let q = (0.05f32, 3, 0.02f32, -7);
    let mut t = [55i8; 256];
    for kind in [ANNE_ACT_RELU, ANNE_ACT_SOFTMAX, 9999] {
        assert_eq!(call(kind, 0, q, &mut t), ANNE_ERR_ACTIVATION);
    }
    // SAFETY: a NULL table is refused before it is used.
    let null = unsafe { anne_act_table_s8(ANNE_ACT_TANH, 0, q.0, q.1, q.2, q.3, core::ptr::null_mut(), 256) };
    assert_eq!(null, ANNE_ERR_NULL);
    let mut short = [55i8; 255];
    assert_eq!(call(ANNE_ACT_TANH, 0, q, &mut short), ANNE_ERR_SIZE);
    for bad in [
        (0.0, 3, 0.02, -7),
        (0.05, 3, f32::NAN, -7),
        (0.05, 128, 0.02, -7),
        (0.05, 3, 0.02, -129),
        (-0.05, 3, 0.02, -7),
    ] {
        assert_eq!(call(ANNE_ACT_TANH, 0, bad, &mut t), ANNE_ERR_PARAM, "{bad:?}");
    }
    assert_eq!(call(ANNE_ACT_SIGMOID, 0, (0.05, 0, 1.0 / 128.0, -128), &mut t), ANNE_ERR_PARAM);
    assert!(t.iter().all(|&v| v == 55) && short.iter().all(|&v| v == 55));
}
