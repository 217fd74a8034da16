//! `anne_merge_s8` through the C ABI (an int8 graph's merges, issue 29)
//! against LiteRT's reference kernels: every ADD, SUB, MUL and
//! CONCATENATION operator of every fixture in `tests/fixtures/int8`
//! (`tools/make_int8_graph_fixtures.py`'s graphs among them), on every row,
//! its inputs LiteRT's int8 tensors for that row (or the model's constant,
//! read cyclically), its output LiteRT's exactly. The quant words are
//! computed here as LiteRT's Prepare computes them (add.cc, sub.cc's
//! `PrepareGeneralSubOp`, mul.cc), not by anne. Then the refusals: bad
//! counts, zero points, shifts and left shifts, sizes, NULL, overlap.

use anne::abi::{
    ANNE_ERR_KIND, ANNE_ERR_NULL, ANNE_ERR_OUT_SIZE, ANNE_ERR_OVERLAP, ANNE_ERR_PARAM, ANNE_ERR_SIZE, ANNE_ERR_X_SIZE,
    ANNE_LAYER_ADD, ANNE_LAYER_CONCATENATE, ANNE_LAYER_DENSE, ANNE_LAYER_MULTIPLY, ANNE_LAYER_SUBTRACT,
    ANNE_OK,
};
use anne::ffi::anne_merge_s8;
use anne::math::requant::{quantize_multiplier_for, Rounding};
use serde_json::Value;

mod int8_common;
use int8_common::{activation_range, compare_kinds, fixtures_in, ints, Tensors};

const KINDS: [&str; 4] = ["ADD", "SUB", "MUL", "CONCATENATION"];

fn q(real: f64) -> [i32; 2] {
    let (m, s) = quantize_multiplier_for(real, Rounding::Double).unwrap();
    [m, s]
}

fn fused(op: &Value) -> &str {
    op.get("options")
        .and_then(|o| o.get("fused_activation"))
        .and_then(Value::as_str)
        .unwrap_or("NONE")
}

fn call(kind: u32, xs: &[Vec<i8>], out: &mut [i8], rows: usize, quant: &[i32]) -> i32 {
    let ptrs: Vec<*const i8> = xs.iter().map(|x| x.as_ptr()).collect();
    let lens: Vec<usize> = xs.iter().map(|x| x.len()).collect();
    // SAFETY: every pointer and length from live vectors; out is separate.
    unsafe {
        anne_merge_s8(
            kind,
            ptrs.as_ptr(),
            lens.as_ptr(),
            xs.len(),
            out.as_mut_ptr(),
            out.len(),
            rows,
            quant.as_ptr(),
            quant.len(),
        )
    }
}

fn run_op(t: &Tensors, op: &Value, row: &Value) -> (Vec<i8>, Vec<i8>) {
    let kind = op["opcode"].as_str().unwrap();
    let ins = ints(&op["inputs"]);
    let out_t = ints(&op["outputs"])[0];
    let want = t.values(out_t, row);
    let mut got = vec![0i8; want.len()];
    let (s_out, z_out) = (t.scale(out_t), t.zero_point(out_t));
    let act = activation_range(fused(op), s_out, z_out);
    let xs: Vec<Vec<i8>> = ins.iter().map(|&i| t.values(i, row)).collect();
    let mut quant = vec![z_out, act.0, act.1];
    quant.extend(ins.iter().map(|&i| t.zero_point(i)));
    let code = match kind {
        "CONCATENATION" => {
            let shape = t.shape(out_t);
            let rows = want.len() / shape[shape.len() - 1];
            call(ANNE_LAYER_CONCATENATE as u32, &xs, &mut got, rows, &quant)
        }
        "MUL" => {
            let (s1, s2) = (t.scale(ins[0]), t.scale(ins[1]));
            quant.extend(q((s1 * s2 / s_out) as f64));
            call(ANNE_LAYER_MULTIPLY as u32, &xs, &mut got, 1, &quant)
        }
        _ => {
            let (s1, s2) = (t.scale(ins[0]), t.scale(ins[1]));
            let twice_max = (2.0 * s1.max(s2)) as f64;
            quant.push(20);
            quant.extend(q(s1 as f64 / twice_max));
            quant.extend(q(s2 as f64 / twice_max));
            quant.extend(q(twice_max / (((1i32 << 20) as f32 * s_out) as f64)));
            let k = if kind == "ADD" { ANNE_LAYER_ADD } else { ANNE_LAYER_SUBTRACT };
            call(k as u32, &xs, &mut got, 1, &quant)
        }
    };
    assert_eq!(code, ANNE_OK, "{kind}");
    (got, want)
}

#[test]
fn every_merge_op_matches_litert_through_the_c_abi() {
    let docs = fixtures_in("int8", 5);
    let counts = compare_kinds(docs.iter().map(|(n, d)| (n.clone(), d)), &KINDS, true, run_op);
    for (kind, (values, rows, _)) in &counts {
        println!("int8 {kind} (anne_merge_s8): {values} values in {rows} operator rows bit-exact");
        assert!(*rows >= 16, "{kind}: only {rows} operator rows compared");
    }
}

#[test]
fn bad_merges_refused_and_nothing_written() {
    let xs = vec![vec![1i8, 2, 3, 4], vec![5i8, 6, 7, 8]];
    let mut out = [9i8; 4];
    let add = [0, -128, 127, 0, 0, 20, 1 << 30, -1, 1 << 30, -1, 1 << 30, -10];
    assert_eq!(call(ANNE_LAYER_ADD as u32, &xs, &mut out, 1, &add), ANNE_OK);
    let mut out = [9i8; 4];
    let mut bad = add;
    bad[5] = 19; // left shift
    assert_eq!(call(ANNE_LAYER_ADD as u32, &xs, &mut out, 1, &bad), ANNE_ERR_PARAM);
    bad = add;
    bad[7] = 1; // a positive shift
    assert_eq!(call(ANNE_LAYER_SUBTRACT as u32, &xs, &mut out, 1, &bad), ANNE_ERR_PARAM);
    bad = add;
    bad[3] = 200; // a zero point
    assert_eq!(call(ANNE_LAYER_ADD as u32, &xs, &mut out, 1, &bad), ANNE_ERR_PARAM);
    bad = add;
    bad[6] = -5; // a negative multiplier
    assert_eq!(call(ANNE_LAYER_ADD as u32, &xs, &mut out, 1, &bad), ANNE_ERR_PARAM);
    assert_eq!(call(ANNE_LAYER_ADD as u32, &xs, &mut out, 1, &add[..11]), ANNE_ERR_PARAM);
    assert_eq!(call(ANNE_LAYER_MULTIPLY as u32, &xs, &mut out, 1, &add), ANNE_ERR_PARAM);
    assert_eq!(call(ANNE_LAYER_MULTIPLY as u32, &xs, &mut out, 1, &[0, -128, 127, 0, 0, -1, 0]), ANNE_ERR_PARAM);
    assert_eq!(call(ANNE_LAYER_DENSE as u32, &xs, &mut out, 1, &add), ANNE_ERR_KIND);
    let three = vec![xs[0].clone(), xs[1].clone(), xs[0].clone()];
    assert_eq!(call(ANNE_LAYER_ADD as u32, &three, &mut out, 1, &add), ANNE_ERR_SIZE);
    let odd = vec![xs[0].clone(), vec![1i8, 2, 3]];
    assert_eq!(call(ANNE_LAYER_ADD as u32, &odd, &mut out, 1, &add), ANNE_ERR_X_SIZE);
    assert_eq!(out, [9i8; 4]);
    let cat = [0, -128, 127, 0, 0];
    let mut out6 = [0i8; 6];
    assert_eq!(call(ANNE_LAYER_CONCATENATE as u32, &xs, &mut out6, 1, &cat), ANNE_ERR_OUT_SIZE);
    let mut out8 = [0i8; 8];
    assert_eq!(call(ANNE_LAYER_CONCATENATE as u32, &xs, &mut out8, 2, &cat), ANNE_OK);
    assert_eq!(out8, [1, 2, 5, 6, 3, 4, 7, 8]);
    // NULL and overlap
    let lens = [4usize, 4];
    let ptrs = [xs[0].as_ptr(), xs[1].as_ptr()];
    let mut buf = [0i8; 8];
    // SAFETY: the pointers are live; the call must refuse before reading through NULL.
    unsafe {
        assert_eq!(
            anne_merge_s8(ANNE_LAYER_ADD as u32, core::ptr::null(), lens.as_ptr(), 2, buf.as_mut_ptr(), 4, 1,
                          add.as_ptr(), add.len()),
            ANNE_ERR_NULL
        );
        assert_eq!(
            anne_merge_s8(ANNE_LAYER_ADD as u32, ptrs.as_ptr(), lens.as_ptr(), 2, buf.as_mut_ptr(), 4, 1,
                          core::ptr::null(), 0),
            ANNE_ERR_NULL
        );
        let aliased = [buf.as_ptr(), xs[1].as_ptr()];
        assert_eq!(
            anne_merge_s8(ANNE_LAYER_ADD as u32, aliased.as_ptr(), lens.as_ptr(), 2, buf.as_mut_ptr().add(2), 4, 1,
                          add.as_ptr(), add.len()),
            ANNE_ERR_OVERLAP
        );
    }
}
