//! Tests of the training loop (src/train/).

use super::epoch::*;
use super::loss::*;
use super::metric::*;
use super::net::*;
use super::optim::*;
use super::workspace::*;
use crate::activation::backward::activation_backward;
use crate::activation::{apply, Activation};
use crate::layers::affine::{affine_backward_f32, affine_f32};
use crate::layers::conv1d::{conv1d_backward_f32, conv1d_f32, Conv1d};
use crate::layers::pool1d::{pool1d_backward_f32, pool1d_f32, Pool1d};
use crate::dense_f32;
use crate::layers::dense::dense_backward_f32 as dense_backward;
use crate::layers::Op;
use crate::Status;

/// The per-sample reference: forward, loss gradient, dense_backward
/// accumulating 1/nb of each sample, then SGD; as anne_train's Python
/// loop computes it.
fn reference(
    k: &mut [Vec<f32>],
    b: &mut [Vec<f32>],
    acts: &[Activation],
    x: &[f32],
    t: &[f32],
    batch: usize,
    lr: f32,
) -> f32 {
    let n_in = 3;
    let rows = x.len() / n_in;
    let mut total = 0.0;
    let mut start = 0;
    while start < rows {
        let nb = batch.min(rows - start);
        let mut gk: Vec<Vec<f32>> = k.iter().map(|k| vec![0.0; k.len()]).collect();
        let mut gb: Vec<Vec<f32>> = b.iter().map(|b| vec![0.0; b.len()]).collect();
        for r in start..start + nb {
            let mut ins = vec![x[r * n_in..(r + 1) * n_in].to_vec()];
            let mut zs = vec![];
            for l in 0..k.len() {
                let units = b[l].len();
                let mut z = vec![0.0; units];
                dense_f32(&ins[l], &k[l], Some(&b[l]), &mut z, &Activation::Linear).unwrap();
                let mut a = z.clone();
                apply(&mut a, &acts[l]).unwrap();
                zs.push(z);
                ins.push(a);
            }
            let last = k.len() - 1;
            let y = &ins[last + 1];
            let tr = &t[r * y.len()..(r + 1) * y.len()];
            let mut dy = vec![0.0; y.len()];
            let mut dz = vec![0.0; y.len()];
            total += loss_and_grad(
                Loss::MeanSquaredError,
                &acts[last],
                &zs[last],
                y,
                tr,
                Some((&mut dy, &mut dz, 1.0)),
            )
            .unwrap();
            for l in (0..k.len()).rev() {
                let mut dx = vec![0.0; ins[l].len()];
                dense_backward(
                    &ins[l],
                    &k[l],
                    &dz,
                    1.0 / nb as f32,
                    &mut gk[l],
                    Some(&mut gb[l]),
                    Some(&mut dx),
                )
                .unwrap();
                if l > 0 {
                    let mut pdz = vec![0.0; zs[l - 1].len()];
                    activation_backward(&acts[l - 1], &zs[l - 1], &ins[l], &dx, &mut pdz)
                        .unwrap();
                    dz = pdz;
                }
            }
        }
        for l in 0..k.len() {
            sgd(&mut k[l], &gk[l], None, lr, 0.0, false).unwrap();
            sgd(&mut b[l], &gb[l], None, lr, 0.0, false).unwrap();
        }
        start += nb;
    }
    total
}

/// Training with MSE and plain SGD on rows of 3 inputs, 2 per batch:
/// what `reference` computes.
fn sgd_mse<'a>(
    learning_rate: f32,
    metrics: &'a [Metric],
    x: &'a [f32],
    t: &'a [f32],
) -> Run<'a> {
    Run {
        loss: Loss::MeanSquaredError,
        metrics,
        optimizer: Optimizer::Sgd {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
        },
        batch: 2,
        train: true,
        n_in: 3,
        x,
        t,
        order: None,
    }
}

/// One epoch of `run` in a workspace sized for it: the loss and metric
/// sums, and the iterations.
pub(super) fn run_epoch<L: Layers + ?Sized, const M: usize>(layers: &mut L, run: &Run) -> ([f32; M], u32) {
    let mut failed = 0;
    let mut ws = vec![0.0f32; workspace_len(layers, run.n_in, run.batch, &mut failed).unwrap()];
    let (mut sums, mut iterations) = ([0.0f32; M], 0u32);
    epoch(
        layers,
        run,
        &mut ws,
        &mut sums,
        &mut iterations,
        &mut failed,
    )
    .unwrap();
    (sums, iterations)
}

#[test]
fn epoch_matches_the_per_sample_loop() {
    let acts = [Activation::Tanh, Activation::Sigmoid];
    let k0: Vec<f32> = (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) / 8.0).collect();
    let k1: Vec<f32> = (0..8).map(|i| ((i * 5 % 7) as f32 - 3.0) / 5.0).collect();
    let (b0, b1) = (vec![0.1f32, -0.2, 0.05, 0.0], vec![0.3f32, -0.1]);
    let x: Vec<f32> = (0..15).map(|i| ((i * 3 % 13) as f32 - 6.0) / 6.0).collect();
    let t: Vec<f32> = (0..10).map(|i| (i % 3) as f32 / 2.0).collect();
    let (mut rk, mut rb) = (vec![k0.clone(), k1.clone()], vec![b0.clone(), b1.clone()]);
    let want = reference(&mut rk, &mut rb, &acts, &x, &t, 2, 0.5);
    let (mut k0, mut k1, mut b0, mut b1) = (k0, k1, b0, b1);
    let mut layers = [
        Layer {
            op: Op::Dense,
            kernel: &mut k0,
            bias: Some(&mut b0),
            act: acts[0],
            trainable: true,
            slots: [None, None, None, None],
        },
        Layer {
            op: Op::Dense,
            kernel: &mut k1,
            bias: Some(&mut b1),
            act: acts[1],
            trainable: true,
            slots: [None, None, None, None],
        },
    ];
    let run = sgd_mse(0.5, &[Metric::MeanAbsoluteError], &x, &t);
    let mut failed = 0;
    let n = workspace_len(&mut layers[..], 3, 2, &mut failed).unwrap();
    let mut ws = vec![0.0f32; n];
    let (mut sums, mut iterations) = ([0.0f32; 2], 0u32);
    assert_eq!(
        epoch(
            &mut layers[..],
            &run,
            &mut ws[..n - 1],
            &mut sums,
            &mut iterations,
            &mut failed
        ),
        Err(Status::Size)
    );
    epoch(
        &mut layers[..],
        &run,
        &mut ws,
        &mut sums,
        &mut iterations,
        &mut failed,
    )
    .unwrap();
    assert_eq!(iterations, 3, "5 rows, 2 per batch");
    assert!((sums[0] - want).abs() < 1e-5, "{} vs {want}", sums[0]);
    for (got, want) in [
        (&*layers[0].kernel, &rk[0]),
        (&*layers[1].kernel, &rk[1]),
        (layers[1].bias.as_deref().unwrap(), &rb[1]),
    ] {
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    }
}

/// Past the first Spans::MAX layers the batches' phases locate each
/// layer by walking the ones before: the same epoch either way.
#[test]
fn deeper_nets_than_the_cached_spans_match_the_per_sample_loop() {
    let n_layers = Spans::MAX + 2;
    let acts: Vec<Activation> = (0..n_layers)
        .map(|l| {
            if l + 1 < n_layers {
                Activation::Tanh
            } else {
                Activation::Linear
            }
        })
        .collect();
    let k0: Vec<Vec<f32>> = (0..n_layers)
        .map(|l| {
            (0..9)
                .map(|i| (((i + l) * 7 % 11) as f32 - 5.0) / 6.0)
                .collect()
        })
        .collect();
    let b0: Vec<Vec<f32>> = (0..n_layers)
        .map(|l| vec![0.1 * (l % 3) as f32; 3])
        .collect();
    let x: Vec<f32> = (0..15).map(|i| ((i * 3 % 13) as f32 - 6.0) / 6.0).collect();
    let t: Vec<f32> = (0..15).map(|i| (i % 4) as f32 / 3.0).collect();
    let (mut rk, mut rb) = (k0.clone(), b0.clone());
    let want = reference(&mut rk, &mut rb, &acts, &x, &t, 2, 0.1);
    let (mut k, mut b) = (k0, b0);
    let mut layers: Vec<Layer> = k
        .iter_mut()
        .zip(b.iter_mut())
        .zip(&acts)
        .map(|((k, b), &act)| Layer {
            op: Op::Dense,
            kernel: k,
            bias: Some(b),
            act,
            trainable: true,
            slots: [None, None, None, None],
        })
        .collect();
    let run = sgd_mse(0.1, &[], &x, &t);
    let (sums, _) = run_epoch::<_, 1>(&mut layers[..], &run);
    assert!((sums[0] - want).abs() < 1e-4, "{} vs {want}", sums[0]);
    for (l, layer) in layers.iter().enumerate() {
        for (g, w) in layer.kernel.iter().zip(&rk[l]) {
            assert!((g - w).abs() < 1e-5, "layer {l}: {g} vs {w}");
        }
    }
}

/// A network of every kind fit() trains through: Conv1D (same, tanh),
/// max pooling, the affine layer, Conv1D (valid, softmax per step, no
/// bias), global average pooling, dense (sigmoid): the epoch (SGD,
/// plain and with momentum) against the per-sample loop over each
/// layer's own kernels, as anne_train's Python loop runs them.
#[test]
fn epoch_through_conv_and_pooling_matches_the_per_sample_loop() {
    use crate::layers::{pool1d::Pool, window::Padding};
    let conv1 = Conv1d {
        in_channels: 2,
        kernel_size: 3,
        strides: 1,
        dilation: 1,
        padding: Padding::Same,
    };
    let pool = Pool1d {
        pool: Pool::Max,
        global: false,
        channels: 4,
        pool_size: 2,
        strides: 2,
        padding: Padding::Valid,
    };
    let conv2 = Conv1d {
        in_channels: 4,
        kernel_size: 2,
        strides: 1,
        dilation: 1,
        padding: Padding::Valid,
    };
    let gap = Pool1d {
        pool: Pool::Average,
        global: true,
        channels: 3,
        pool_size: 0,
        strides: 0,
        padding: Padding::Valid,
    };
    let ops = [
        Op::Conv(conv1),
        Op::Pool(pool),
        Op::Affine(crate::layers::affine::Affine { channels: 4 }),
        Op::Conv(conv2),
        Op::Pool(gap),
        Op::Dense,
    ];
    let acts = [
        Activation::Tanh,
        Activation::Linear,
        Activation::Linear,
        Activation::Softmax,
        Activation::Linear,
        Activation::Sigmoid,
    ];
    let wave = |n: usize, a: usize, d: f32| -> Vec<f32> {
        (0..n).map(|i| ((i * a % 13) as f32 - 6.0) / d).collect()
    };
    let kernels0 = [
        wave(24, 7, 9.0),
        vec![],
        vec![1.5, 0.5, -1.0, 2.0],
        wave(24, 5, 8.0),
        vec![],
        wave(6, 3, 5.0),
    ];
    let biases0 = [
        Some(wave(4, 3, 20.0)),
        None,
        Some(vec![0.1, -0.2, 0.0, 0.3]),
        None,
        None,
        Some(vec![0.1, -0.1]),
    ];
    let trained = [true, false, false, true, false, true];
    let x = wave(5 * 12, 3, 6.0);
    let t: Vec<f32> = (0..10).map(|i| (i % 3) as f32 / 2.0).collect();
    for momentum in [0.0f32, 0.9] {
        let lr = 0.5;
        // the reference
        let (mut rk, mut rb) = (kernels0.clone(), biases0.clone());
        let mut mk: Vec<Vec<f32>> = rk.iter().map(|k| vec![0.0; k.len()]).collect();
        let mut mb: Vec<Vec<f32>> = rb
            .iter()
            .map(|b| vec![0.0; b.as_ref().map_or(0, |b| b.len())])
            .collect();
        let mut want = 0.0;
        for start in (0..5).step_by(2) {
            let nb = 2.min(5 - start);
            let mut gk: Vec<Vec<f32>> = rk.iter().map(|k| vec![0.0; k.len()]).collect();
            let mut gb: Vec<Vec<f32>> = mb.iter().map(|b| vec![0.0; b.len()]).collect();
            for r in start..start + nb {
                let mut ins = vec![x[r * 12..(r + 1) * 12].to_vec()];
                let mut zs = vec![];
                for l in 0..6 {
                    let n = [24, 12, 12, 6, 3, 2][l];
                    let mut z = vec![0.0; n];
                    let (k, b) = (&rk[l][..], rb[l].as_deref());
                    match ops[l] {
                        Op::Dense => {
                            dense_f32(&ins[l], k, b, &mut z, &Activation::Linear).unwrap()
                        }
                        Op::Conv(c) => {
                            conv1d_f32(&c, &ins[l], k, b, &mut z, &Activation::Linear).unwrap()
                        }
                        Op::Pool(p) => pool1d_f32(&p, &ins[l], &mut z).unwrap(),
                        Op::Affine(_) => affine_f32(&ins[l], k, b.unwrap(), &mut z).unwrap(),
                        _ => unreachable!("no 2-D layer here"),
                    }
                    let mut a = z.clone();
                    let width = if l == 3 { 3 } else { n };
                    for row in a.chunks_exact_mut(width) {
                        apply(row, &acts[l]).unwrap();
                    }
                    zs.push(z);
                    ins.push(a);
                }
                let (mut dy, mut dz) = (vec![0.0; 2], vec![0.0; 2]);
                let tr = &t[r * 2..r * 2 + 2];
                want += loss_and_grad(
                    Loss::MeanSquaredError,
                    &acts[5],
                    &zs[5],
                    &ins[6],
                    tr,
                    Some((&mut dy, &mut dz, 1.0)),
                )
                .unwrap();
                for l in (0..6).rev() {
                    let mut dx = vec![0.0; ins[l].len()];
                    let scale = 1.0 / nb as f32;
                    let gbl = if gb[l].is_empty() {
                        None
                    } else {
                        Some(&mut gb[l][..])
                    };
                    match ops[l] {
                        Op::Dense => dense_backward(
                            &ins[l],
                            &rk[l],
                            &dz,
                            scale,
                            &mut gk[l],
                            gbl,
                            Some(&mut dx),
                        )
                        .unwrap(),
                        Op::Conv(c) => conv1d_backward_f32(
                            &c,
                            &ins[l],
                            &rk[l],
                            &dz,
                            scale,
                            Some(&mut gk[l]),
                            gbl,
                            Some(&mut dx),
                        )
                        .unwrap(),
                        Op::Pool(p) => pool1d_backward_f32(&p, &ins[l], &dz, &mut dx).unwrap(),
                        Op::Affine(_) => affine_backward_f32(&dz, &rk[l], &mut dx).unwrap(),
                        _ => unreachable!("no 2-D layer here"),
                    }
                    if l > 0 {
                        let mut pdz = vec![0.0; zs[l - 1].len()];
                        let width = if l - 1 == 3 { 3 } else { pdz.len() };
                        for (((z, y), d), o) in zs[l - 1]
                            .chunks_exact(width)
                            .zip(ins[l].chunks_exact(width))
                            .zip(dx.chunks_exact(width))
                            .zip(pdz.chunks_exact_mut(width))
                        {
                            activation_backward(&acts[l - 1], z, y, d, o).unwrap();
                        }
                        dz = pdz;
                    }
                }
            }
            for l in 0..6 {
                if trained[l] {
                    let m = (momentum != 0.0).then_some(&mut mk[l][..]);
                    sgd(&mut rk[l], &gk[l], m, lr, momentum, false).unwrap();
                    if let Some(b) = rb[l].as_mut() {
                        let m = (momentum != 0.0).then_some(&mut mb[l][..]);
                        sgd(b, &gb[l], m, lr, momentum, false).unwrap();
                    }
                }
            }
        }
        // the epoch
        let (mut k, mut b) = (kernels0.clone(), biases0.clone());
        let (mut sk, mut sb) = (mk.clone(), mb.clone());
        for v in sk.iter_mut().chain(sb.iter_mut()) {
            v.fill(0.0);
        }
        let mut layers: Vec<Layer> = k
            .iter_mut()
            .zip(b.iter_mut())
            .zip(sk.iter_mut().zip(sb.iter_mut()))
            .enumerate()
            .map(|(l, ((k, b), (sk, sb)))| Layer {
                op: ops[l],
                kernel: k,
                bias: b.as_deref_mut(),
                act: acts[l],
                trainable: trained[l],
                slots: [Some(sk), None, (!sb.is_empty()).then_some(sb), None],
            })
            .collect();
        let mut run = sgd_mse(lr, &[], &x, &t);
        run.n_in = 12;
        run.optimizer = Optimizer::Sgd {
            learning_rate: lr,
            momentum,
            nesterov: false,
        };
        let (sums, iterations) = run_epoch::<_, 1>(&mut layers[..], &run);
        assert_eq!(iterations, 3);
        assert!((sums[0] - want).abs() < 1e-5, "{} vs {want}", sums[0]);
        let mut moved = 0.0f32;
        for l in 0..6 {
            for (i, (g, w)) in layers[l].kernel.iter().zip(&rk[l]).enumerate() {
                assert!(
                    (g - w).abs() < 1e-5,
                    "momentum {momentum}, layer {l}, kernel[{i}]: {g} vs {w}"
                );
                moved = moved.max((w - kernels0[l][i]).abs());
            }
            if let (Some(g), Some(w)) = (layers[l].bias.as_deref(), rb[l].as_ref()) {
                for (g, w) in g.iter().zip(w) {
                    assert!(
                        (g - w).abs() < 1e-5,
                        "momentum {momentum}, layer {l} bias: {g} vs {w}"
                    );
                }
            }
        }
        assert!(moved > 1e-3, "the weights moved: {moved}");
    }
}

#[test]
fn class_indices_are_whole_numbers_below_n() {
    for (v, n, want) in [
        (0.0f32, 3, Some(0)),
        (-0.0, 3, Some(0)),
        (0.0, 0, None),
        (1.0, 3, Some(1)),
        (2.0, 3, Some(2)),
        (3.0, 3, None),
        (0.5, 3, None),
        (1.5, 3, None),
        (2.000_000_2, 3, None),
        (-1.0, 3, None),
        (f32::NAN, 3, None),
        (f32::INFINITY, 3, None),
        (f32::from_bits(1), 3, None),
        (16_777_215.0, 1 << 24, Some((1 << 24) - 1)),
        (16_777_216.0, usize::MAX, None),
    ] {
        assert_eq!(class_index(v, n), want, "{v:e} below {n}");
    }
    for k in 0..1000usize {
        assert_eq!(class_index(k as f32, 1000), Some(k));
    }
}

#[test]
fn a_step_that_overflows_is_undone() {
    let (mut k, mut b) = (vec![1.0f32, -1.0], vec![0.0f32]);
    let kept = k.clone();
    let mut layers = [Layer {
        op: Op::Dense,
        kernel: &mut k,
        bias: Some(&mut b),
        act: Activation::Linear,
        trainable: true,
        slots: [None, None, None, None],
    }];
    let (x, t) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32, 0.0]);
    let run = Run {
        loss: Loss::MeanSquaredError,
        metrics: &[],
        optimizer: Optimizer::Sgd {
            learning_rate: 1e38,
            momentum: 0.0,
            nesterov: false,
        },
        batch: 1,
        train: true,
        n_in: 2,
        x: &x,
        t: &t,
        order: Some(&[1, 0]),
    };
    let mut failed = 9;
    let mut ws = vec![0.0f32; workspace_len(&mut layers[..], 2, 1, &mut failed).unwrap()];
    let (mut sums, mut it) = ([0.0f32], 0u32);
    // row 1 first: loss 1, but lr * gradient overflows float32
    assert_eq!(
        epoch(
            &mut layers[..],
            &run,
            &mut ws,
            &mut sums,
            &mut it,
            &mut failed
        ),
        Err(Status::StepNotFinite)
    );
    assert_eq!((failed, it, sums[0]), (0, 0, 1.0));
    assert_eq!(layers[0].kernel, &kept[..], "the step was undone");
    let huge = Run {
        t: &[1e30, 0.0],
        optimizer: Optimizer::Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        },
        ..run
    };
    assert_eq!(
        epoch(
            &mut layers[..],
            &huge,
            &mut ws,
            &mut sums,
            &mut it,
            &mut failed
        ),
        Err(Status::LossNotFinite)
    );
    assert_eq!((failed, it), (1, 1), "row 1 steps, row 0's loss overflows");
    let labels = Run {
        loss: Loss::SparseCategoricalCrossentropy,
        t: &[0.0, 1.0],
        ..run
    };
    assert_eq!(
        epoch(
            &mut layers[..],
            &labels,
            &mut ws,
            &mut sums,
            &mut it,
            &mut failed
        ),
        Err(Status::Label),
        "1 output: class 1 is out of range"
    );
}

#[test]
fn a_refused_step_leaves_the_optimizer_slots() {
    // Adam: g * g overflows v (w would stay finite); momentum SGD: m
    // overflows. Either step is refused with the weights and slots as
    // they were, and the iteration count not advanced.
    let (x, t) = ([1e10f32, 0.0], [0.0f32]);
    let cases = [
        Optimizer::Adam {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        },
        Optimizer::Sgd {
            learning_rate: 1e20,
            momentum: 0.9,
            nesterov: false,
        },
    ];
    for optimizer in cases {
        let (mut k, mut b) = (vec![1.0f32, 0.5], vec![0.25f32]);
        let (mut mk, mut vk) = (vec![0.5f32, -0.5], vec![0.125f32, 0.25]);
        let (mut mb, mut vb) = (vec![0.0625f32], vec![0.5f32]);
        let adam = matches!(optimizer, Optimizer::Adam { .. });
        let mut layers = [Layer {
            op: Op::Dense,
            kernel: &mut k,
            bias: Some(&mut b),
            act: Activation::Linear,
            trainable: true,
            slots: [
                Some(&mut mk),
                if adam { Some(&mut vk) } else { None },
                Some(&mut mb),
                if adam { Some(&mut vb) } else { None },
            ],
        }];
        let run = Run {
            loss: Loss::MeanSquaredError,
            metrics: &[],
            optimizer,
            batch: 1,
            train: true,
            n_in: 2,
            x: &x,
            t: &t,
            order: None,
        };
        let mut failed = 9;
        let mut ws = vec![0.0f32; workspace_len(&mut layers[..], 2, 1, &mut failed).unwrap()];
        let (mut sums, mut it) = ([0.0f32], 3u32);
        let got = epoch(
            &mut layers[..],
            &run,
            &mut ws,
            &mut sums,
            &mut it,
            &mut failed,
        );
        assert_eq!(got, Err(Status::StepNotFinite), "{optimizer:?}");
        assert_eq!(it, 3, "the refused step is not counted");
        drop(layers);
        assert_eq!((k, b), (vec![1.0, 0.5], vec![0.25]));
        assert_eq!((mk, mb), (vec![0.5, -0.5], vec![0.0625]), "{optimizer:?}");
        assert_eq!((vk, vb), (vec![0.125, 0.25], vec![0.5]), "{optimizer:?}");
    }
}
