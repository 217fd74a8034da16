//! Tests of Conv1D and 1-D pooling (src/layers/conv1d.rs, pool1d.rs,
//! window.rs).

use super::conv1d::*;
use super::pool1d::*;
use super::window::*;
use crate::activation::Activation;
use crate::Status;

/// The definition, straight: every tap, zeros outside the input.
fn conv_reference(spec: &Conv1d, x: &[f32], kernel: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let cin = spec.in_channels;
    let steps = x.len() / cin;
    let window = (spec.kernel_size - 1) * spec.dilation + 1;
    let (n_out, pad) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
    let filters = kernel.len() / (spec.kernel_size * cin);
    let mut out = vec![0.0f64; n_out * filters];
    for t in 0..n_out {
        for f in 0..filters {
            let mut acc = 0.0f64;
            for k in 0..spec.kernel_size {
                let s = (t * spec.strides + k * spec.dilation) as isize - pad as isize;
                if s < 0 || s >= steps as isize {
                    continue;
                }
                for c in 0..cin {
                    acc += x[s as usize * cin + c] as f64
                        * kernel[(k * cin + c) * filters + f] as f64;
                }
            }
            out[t * filters + f] = acc + bias.map_or(0.0, |b| b[f] as f64);
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

pub(super) fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((s >> 8) as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn out_steps_follow_keras() {
    // (steps, window, strides, padding) -> Keras's output length.
    assert_eq!(out_steps(10, 3, 1, Padding::Valid), Ok((8, 0)));
    assert_eq!(out_steps(10, 3, 2, Padding::Valid), Ok((4, 0)));
    assert_eq!(out_steps(10, 3, 1, Padding::Same), Ok((10, 1)));
    assert_eq!(out_steps(10, 4, 1, Padding::Same), Ok((10, 1)));
    assert_eq!(out_steps(10, 3, 3, Padding::Same), Ok((4, 1)));
    assert_eq!(out_steps(10, 3, 2, Padding::Causal), Ok((5, 2)));
    assert_eq!(out_steps(2, 3, 1, Padding::Valid), Err(Status::XSize));
    assert_eq!(out_steps(2, 3, 0, Padding::Valid), Err(Status::LayerParam));
}

/// Every padding with each (kernel_size, strides, dilation) and each
/// (steps, in_channels, filters) whose window fits the input: (spec,
/// steps, filters).
fn conv_cases(shapes: [(usize, usize, usize); 3]) -> Vec<(Conv1d, usize, usize)> {
    let taps = [
        (1, 1, 1),
        (3, 1, 1),
        (3, 2, 1),
        (2, 1, 2),
        (3, 3, 2),
        (5, 1, 1),
        (4, 2, 1),
    ];
    let mut cases = Vec::new();
    for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
        for (k, s, d) in taps {
            for (steps, cin, filters) in shapes {
                let spec = Conv1d {
                    in_channels: cin,
                    kernel_size: k,
                    strides: s,
                    dilation: d,
                    padding,
                };
                if out_steps(steps, (k - 1) * d + 1, s, padding).is_ok() {
                    cases.push((spec, steps, filters));
                }
            }
        }
    }
    cases
}

#[test]
fn conv_matches_the_definition_for_every_option() {
    let cases = conv_cases([(9, 2, 3), (4, 1, 1), (12, 3, 5)]);
    assert!(cases.len() > 40);
    for (i, &(spec, steps, filters)) in cases.iter().enumerate() {
        let (cin, i) = (spec.in_channels, i as u32);
        let x = values(steps * cin, 7 + i);
        let kernel = values(spec.kernel_size * cin * filters, 99 + i);
        let bias = values(filters, 5);
        for bias in [None, Some(&bias[..])] {
            let want = conv_reference(&spec, &x, &kernel, bias);
            let mut out = vec![0.0; want.len()];
            conv1d_f32(&spec, &x, &kernel, bias, &mut out, &Activation::Linear).unwrap();
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-5, "{spec:?} {a} {b}");
            }
        }
    }
}

/// `sum(w * conv(x, kernel) + bias)` in f64, the definition (every tap).
fn weighted_conv(spec: &Conv1d, x: &[f64], kernel: &[f64], bias: &[f64], w: &[f64]) -> f64 {
    let cin = spec.in_channels;
    let steps = x.len() / cin;
    let window = (spec.kernel_size - 1) * spec.dilation + 1;
    let (n_out, pad) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
    let filters = bias.len();
    let mut total = 0.0;
    for t in 0..n_out {
        for f in 0..filters {
            let mut acc = bias[f];
            for k in 0..spec.kernel_size {
                let s = (t * spec.strides + k * spec.dilation) as isize - pad as isize;
                if s < 0 || s >= steps as isize {
                    continue;
                }
                for c in 0..cin {
                    acc += x[s as usize * cin + c] * kernel[(k * cin + c) * filters + f];
                }
            }
            total += w[t * filters + f] * acc;
        }
    }
    total
}

/// d/dv of a function linear in v, one unit step per value (exact).
pub(super) fn unit_steps(v: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let base = f(v);
    (0..v.len())
        .map(|i| {
            let mut e = v.to_vec();
            e[i] += 1.0;
            f(&e) - base
        })
        .collect()
}

#[test]
fn conv_backward_matches_the_definition_for_every_option() {
    let cases = conv_cases([(9, 2, 3), (4, 1, 1), (7, 3, 2)]);
    assert!(cases.len() > 40);
    for (i, &(spec, steps, filters)) in cases.iter().enumerate() {
        let (cin, seed) = (spec.in_channels, 3 * i as u32);
        let window = (spec.kernel_size - 1) * spec.dilation + 1;
        let (n_out, _) = out_steps(steps, window, spec.strides, spec.padding).unwrap();
        let x = values(steps * cin, seed + 1);
        let kernel = values(spec.kernel_size * cin * filters, seed + 2);
        let (bias, dz) = (values(filters, seed + 3), values(n_out * filters, seed + 4));
        let wide = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<_>>();
        let (x64, k64, b64, w64) = (wide(&x), wide(&kernel), wide(&bias), wide(&dz));
        let want_dx = unit_steps(&x64, |x| weighted_conv(&spec, x, &k64, &b64, &w64));
        let want_gk = unit_steps(&k64, |k| weighted_conv(&spec, &x64, k, &b64, &w64));
        let want_gb = unit_steps(&b64, |b| weighted_conv(&spec, &x64, &k64, b, &w64));
        // gk and gb accumulate scale times the gradient
        let (mut gk, mut gb, mut dx) = (
            vec![1.0; kernel.len()],
            vec![-1.0; filters],
            vec![9.0; x.len()],
        );
        let (gk_, gb_, dx_) = (Some(&mut gk[..]), Some(&mut gb[..]), Some(&mut dx[..]));
        conv1d_backward_f32(&spec, &x, &kernel, &dz, 0.5, gk_, gb_, dx_).unwrap();
        let close = |got: &[f32], want: &[f64], base: f64, scale: f64| {
            got.len() == want.len()
                && got
                    .iter()
                    .zip(want)
                    .all(|(&g, &w)| (g as f64 - (base + scale * w)).abs() <= 1e-5)
        };
        assert!(
            close(&dx, &want_dx, 0.0, 1.0),
            "dx {spec:?} {dx:?} {want_dx:?}"
        );
        assert!(close(&gk, &want_gk, 1.0, 0.5), "gk {spec:?}");
        assert!(close(&gb, &want_gb, -1.0, 0.5), "gb {spec:?}");
    }
}

#[test]
fn conv_backward_refusals_write_nothing() {
    let spec = Conv1d {
        in_channels: 2,
        kernel_size: 3,
        strides: 1,
        dilation: 1,
        padding: Padding::Valid,
    };
    let (x, k, dz) = ([1.0; 8], [0.5; 12], [1.0; 4]); // 4 steps, 2 filters
    let (mut gk, mut gb, mut dx) = ([7.0; 12], [7.0; 2], [7.0; 8]);
    let run =
        |dz: &[f32], gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>| {
            conv1d_backward_f32(&spec, &x, &k, dz, 1.0, gk, gb, dx)
        };
    assert_eq!(
        run(&dz[..3], Some(&mut gk), None, None),
        Err(Status::OutSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk[..11]), None, None),
        Err(Status::KernelSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk), Some(&mut gb[..1]), None),
        Err(Status::BiasSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk), Some(&mut gb), Some(&mut dx[..7])),
        Err(Status::XSize)
    );
    assert_eq!((gk, gb, dx), ([7.0; 12], [7.0; 2], [7.0; 8]));
    assert_eq!(run(&dz, None, None, Some(&mut dx)), Ok(()));
    assert_eq!(&dx[..2], &[1.0, 1.0]); // step 0: tap 0 of output 0 only
}

#[test]
fn pooling_backward_follows_tensorflow() {
    // 5 steps, 2 channels; dy of 1, 2, 3 per output step.
    let x = [1.0, -1.0, 3.0, -2.0, 2.0, -3.0, 5.0, -4.0, 4.0, -5.0];
    let back = |pool, global, size, strides, padding, dy: &[f32]| {
        let spec = Pool1d {
            pool,
            global,
            channels: 2,
            pool_size: size,
            strides,
            padding,
        };
        let mut dx = vec![9.0; x.len()];
        pool1d_backward_f32(&spec, &x, dy, &mut dx).unwrap();
        dx
    };
    let dy = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
    assert_eq!(
        back(Pool::Max, false, 2, 2, Padding::Valid, &dy[..4]),
        [0.0, 10.0, 1.0, 0.0, 0.0, 20.0, 2.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        back(Pool::Max, false, 2, 2, Padding::Same, &dy),
        [0.0, 10.0, 1.0, 0.0, 0.0, 20.0, 2.0, 0.0, 3.0, 30.0]
    );
    assert_eq!(
        back(Pool::Average, false, 2, 2, Padding::Same, &dy),
        [0.5, 5.0, 0.5, 5.0, 1.0, 10.0, 1.0, 10.0, 3.0, 30.0]
    );
    // overlapping windows add up
    assert_eq!(
        back(Pool::Max, false, 3, 1, Padding::Valid, &dy),
        [0.0, 10.0, 1.0, 20.0, 0.0, 30.0, 5.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        back(Pool::Average, true, 0, 0, Padding::Valid, &dy[..2]),
        [0.2, 2.0, 0.2, 2.0, 0.2, 2.0, 0.2, 2.0, 0.2, 2.0]
    );
    assert_eq!(
        back(Pool::Max, true, 0, 0, Padding::Valid, &dy[..2]),
        [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    );
    // ties: the first in a window; shared by a global max
    let spec = |global| Pool1d {
        pool: Pool::Max,
        global,
        channels: 1,
        pool_size: 3,
        strides: 3,
        padding: Padding::Valid,
    };
    let mut dx = [0.0; 3];
    pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0], &mut dx).unwrap();
    assert_eq!(dx, [3.0, 0.0, 0.0]);
    pool1d_backward_f32(&spec(true), &[2.0, 2.0, 1.0], &[3.0], &mut dx).unwrap();
    assert_eq!(dx, [1.5, 1.5, 0.0]);
    assert_eq!(
        pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0], &mut dx[..2]),
        Err(Status::XSize)
    );
    assert_eq!(
        pool1d_backward_f32(&spec(false), &[2.0, 2.0, 1.0], &[3.0, 1.0], &mut dx),
        Err(Status::OutSize)
    );
}

#[test]
fn conv_softmax_works_per_step() {
    let spec = Conv1d {
        in_channels: 1,
        kernel_size: 1,
        strides: 1,
        dilation: 1,
        padding: Padding::Valid,
    };
    let mut out = [0.0; 4];
    conv1d_f32(
        &spec,
        &[1.0, 2.0],
        &[1.0, 0.0],
        None,
        &mut out,
        &Activation::Softmax,
    )
    .unwrap();
    let e = 1.0f32.exp();
    let e2 = 2.0f32.exp();
    for (a, b) in out.iter().zip([
        e / (e + 1.0),
        1.0 / (e + 1.0),
        e2 / (e2 + 1.0),
        1.0 / (e2 + 1.0),
    ]) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn conv_refusals_write_nothing() {
    let spec = Conv1d {
        in_channels: 2,
        kernel_size: 3,
        strides: 1,
        dilation: 1,
        padding: Padding::Valid,
    };
    let x = [1.0; 8]; // 4 steps
    let k = [0.5; 12]; // 3 x 2 x 2
    let mut out = [7.0; 4];
    let linear = Activation::Linear;
    let check = |x: &[f32], k: &[f32], b: Option<&[f32]>, out: &mut [f32], act: &Activation| {
        conv1d_f32(&spec, x, k, b, out, act)
    };
    assert_eq!(
        check(&x[..7], &k, None, &mut out, &linear),
        Err(Status::XSize)
    );
    assert_eq!(
        check(&x[..4], &k, None, &mut out, &linear),
        Err(Status::XSize)
    );
    assert_eq!(
        check(&x, &k[..10], None, &mut out, &linear),
        Err(Status::KernelSize)
    );
    assert_eq!(
        check(&x, &k, None, &mut out[..3], &linear),
        Err(Status::OutSize)
    );
    assert_eq!(
        check(&x, &k, Some(&[0.0]), &mut out, &linear),
        Err(Status::BiasSize)
    );
    assert_eq!(
        check(&x, &k, None, &mut out, &Activation::Glu),
        Err(Status::Activation)
    );
    assert_eq!(out, [7.0; 4]);
    let bad = Conv1d {
        dilation: 0,
        ..spec
    };
    assert_eq!(
        conv1d_f32(&bad, &x, &k, None, &mut out, &linear),
        Err(Status::LayerParam)
    );
    assert_eq!(check(&x, &k, None, &mut out, &linear), Ok(()));
    assert_eq!(out, [3.0; 4]);
}

/// A causal window reaching 2**31 steps back or more is refused (it
/// wrapped to zeros on 32-bit boards, issue 26); one step less is
/// computed: only the last tap reads inside the input.
#[test]
fn conv_reach_is_limited_to_31_bits() {
    let linear = Activation::Linear;
    let x = [1.0, 2.0, 3.0, 4.0];
    let k = [0.5, 2.0]; // 2 taps x 1 channel x 1 filter
    let mut out = [7.0; 4];
    for (kernel_size, dilation) in [(2, 1 << 31), (65535, 65535), (32770, 65535)] {
        let spec = Conv1d {
            in_channels: 1,
            kernel_size,
            strides: 1,
            dilation,
            padding: Padding::Causal,
        };
        let k = vec![1.0; kernel_size];
        assert_eq!(
            conv1d_f32(&spec, &x, &k, None, &mut out, &linear),
            Err(Status::LayerParam),
            "kernel_size {kernel_size}, dilation {dilation}"
        );
        assert_eq!(out, [7.0; 4]);
    }
    let spec = Conv1d {
        in_channels: 1,
        kernel_size: 2,
        strides: 1,
        dilation: MAX_REACH,
        padding: Padding::Causal,
    };
    assert_eq!(conv1d_f32(&spec, &x, &k, None, &mut out, &linear), Ok(()));
    assert_eq!(out, [2.0, 4.0, 6.0, 8.0]);
    let spec = Conv1d {
        kernel_size: 32769,
        dilation: 65535,
        ..spec
    };
    let k = vec![2.0; 32769];
    assert_eq!(conv1d_f32(&spec, &x, &k, None, &mut out, &linear), Ok(()));
    assert_eq!(out, [2.0, 4.0, 6.0, 8.0]);
}

#[test]
fn pooling_follows_tensorflow() {
    // 5 steps, 2 channels.
    let x = [1.0, -1.0, 3.0, -2.0, 2.0, -3.0, 5.0, -4.0, 4.0, -5.0];
    let pool = |pool, global, size, strides, padding, n_out| {
        let spec = Pool1d {
            pool,
            global,
            channels: 2,
            pool_size: size,
            strides,
            padding,
        };
        let mut out = vec![0.0; n_out];
        pool1d_f32(&spec, &x, &mut out).unwrap();
        out
    };
    assert_eq!(
        pool(Pool::Max, false, 2, 2, Padding::Valid, 4),
        [3.0, -1.0, 5.0, -3.0]
    );
    assert_eq!(
        pool(Pool::Max, false, 2, 2, Padding::Same, 6),
        [3.0, -1.0, 5.0, -3.0, 4.0, -5.0]
    );
    assert_eq!(
        pool(Pool::Average, false, 2, 2, Padding::Same, 6),
        [2.0, -1.5, 3.5, -3.5, 4.0, -5.0]
    );
    assert_eq!(
        pool(Pool::Average, false, 3, 1, Padding::Valid, 6),
        [2.0, -2.0, 10.0 / 3.0, -3.0, 11.0 / 3.0, -4.0]
    );
    assert_eq!(
        pool(Pool::Average, true, 0, 0, Padding::Valid, 2),
        [3.0, -3.0]
    );
    assert_eq!(pool(Pool::Max, true, 0, 0, Padding::Valid, 2), [5.0, -1.0]);
    let spec = Pool1d {
        pool: Pool::Max,
        global: false,
        channels: 2,
        pool_size: 6,
        strides: 1,
        padding: Padding::Valid,
    };
    assert_eq!(pool1d_f32(&spec, &x, &mut [0.0; 2]), Err(Status::XSize));
    let nan = [1.0, f32::NAN, 2.0, 0.0];
    let spec = Pool1d {
        pool: Pool::Max,
        global: true,
        channels: 2,
        pool_size: 0,
        strides: 0,
        padding: Padding::Valid,
    };
    let mut out = [0.0; 2];
    pool1d_f32(&spec, &nan, &mut out).unwrap();
    assert_eq!(out[0], 2.0);
    assert!(out[1].is_nan());
}
