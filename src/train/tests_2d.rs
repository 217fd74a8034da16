//! The training loop through the 2-D layers: a small CNN's SGD steps
//! against the numerical gradients of its definition in f64.

use super::loss::Loss;
use super::net::{Layer, Run};
use super::optim::Optimizer;
use super::tests::run_epoch;
use super::workspace::workspace_len;
use crate::activation::Activation;
use crate::layers::conv2d::Conv2d;
use crate::layers::depthwise2d::Depthwise2d;
use crate::layers::pad2d::Pad2d;
use crate::layers::pool1d::Pool;
use crate::layers::pool2d::Pool2d;
use crate::layers::tests_2d::{central, conv_ref, pool_ref, wide, Geo};
use crate::layers::window::{Padding, Window2d};
use crate::layers::Op;
use crate::Status;

/// Conv2D (5x4x2 -> 5x4x3: 3x3, same, dilation (1, 2), tanh, or with
/// `softmax` a softmax over each position's 3 filters),
/// MaxPooling2D (2x2 moved by 2, same: 3x2x3), ZeroPadding2D (a row on
/// top, a column on the right: 4x3x3), DepthwiseConv2D (2x2 moved by (2,
/// 1), valid, depth_multiplier 2, tanh: 2x2x6), AveragePooling2D (2x1,
/// valid: 1x2x6), Dense (12 -> 2, sigmoid).
struct Cnn {
    conv: Conv2d,
    pool: Pool2d,
    pad: Pad2d,
    depthwise: Depthwise2d,
    average: Pool2d,
    softmax: bool,
}

/// The trained weights' lengths, in order: the Conv2D's kernel and bias,
/// the DepthwiseConv2D's, the Dense's.
const PARAMS: [usize; 6] = [54, 3, 24, 6, 24, 2];

impl Cnn {
    fn new(softmax: bool) -> Cnn {
        let win = |h, w, k, s, d, padding| Window2d {
            height: h,
            width: w,
            kernel_size: k,
            strides: s,
            dilation: d,
            padding,
        };
        Cnn {
            conv: Conv2d {
                window: win(5, 4, (3, 3), (1, 1), (1, 2), Padding::Same),
                in_channels: 2,
            },
            pool: Pool2d {
                pool: Pool::Max,
                window: win(5, 4, (2, 2), (2, 2), (1, 1), Padding::Same),
                channels: 3,
            },
            pad: Pad2d {
                height: 3,
                width: 2,
                channels: 3,
                rows: (1, 0),
                columns: (0, 1),
            },
            depthwise: Depthwise2d {
                window: win(4, 3, (2, 2), (2, 1), (1, 1), Padding::Valid),
                in_channels: 3,
                depth_multiplier: 2,
            },
            average: Pool2d {
                pool: Pool::Average,
                window: win(2, 2, (2, 1), (1, 1), (1, 1), Padding::Valid),
                channels: 6,
            },
            softmax,
        }
    }

    /// One sample's loss (Keras's mean squared error over the 2 outputs)
    /// in f64, the weights `w` one after the other as [`PARAMS`] lists them.
    fn loss(&self, w: &[f64], x: &[f64], t: &[f64]) -> f64 {
        let mut parts = vec![];
        let mut at = 0;
        for n in PARAMS {
            parts.push(&w[at..at + n]);
            at += n;
        }
        let tanh = |v: Vec<f64>| v.into_iter().map(f64::tanh).collect::<Vec<_>>();
        let g = Geo::of(&self.conv.window);
        let z1 = conv_ref(&g, 2, 3, None, x, parts[0], parts[1]);
        let a1 = if self.softmax {
            z1.chunks(3)
                .flat_map(|z| {
                    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    e.into_iter().map(move |v| v / sum)
                })
                .collect()
        } else {
            tanh(z1)
        };
        let a2 = pool_ref(&Geo::of(&self.pool.window), 3, true, &a1);
        // the padding: 3x2 into 4x3, one row before, one column after
        let mut a3 = vec![0.0; 4 * 3 * 3];
        for y in 0..3 {
            for xx in 0..2 {
                for c in 0..3 {
                    a3[((y + 1) * 3 + xx) * 3 + c] = a2[(y * 2 + xx) * 3 + c];
                }
            }
        }
        let g = Geo::of(&self.depthwise.window);
        let a4 = tanh(conv_ref(&g, 3, 6, Some(2), &a3, parts[2], parts[3]));
        let a5 = pool_ref(&Geo::of(&self.average.window), 6, false, &a4);
        let (k, b) = (parts[4], parts[5]);
        let mut loss = 0.0;
        for j in 0..2 {
            let z = b[j] + (0..12).map(|i| a5[i] * k[i * 2 + j]).sum::<f64>();
            let y = 1.0 / (1.0 + (-z).exp());
            loss += (y - t[j]) * (y - t[j]) / 2.0;
        }
        loss
    }
}

/// A layer without optimizer slots (plain SGD).
fn layer<'a>(
    op: Op,
    kernel: &'a mut [f32],
    bias: Option<&'a mut [f32]>,
    act: Activation,
    trainable: bool,
) -> Layer<'a> {
    Layer {
        op,
        kernel,
        bias,
        act,
        trainable,
        slots: [None, None, None, None],
    }
}

#[test]
fn epoch_through_2d_layers_takes_the_numerical_sgd_steps() {
    for softmax in [false, true] {
        sgd_steps(Cnn::new(softmax));
    }
}

/// Two SGD steps of `cnn` (4 samples, batches of 2) by [`super::epoch`],
/// against the f64 definition's.
fn sgd_steps(cnn: Cnn) {
    // pseudo-random values (no two inputs of a max pooling's window tie:
    // its gradient is then the first's, where a numerical one is not defined)
    let wave = |n: usize, a: usize, d: f32| -> Vec<f32> {
        let mut s = a as u32;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((s >> 8) % 4096) as f32 / 256.0 - 8.0
            })
            .map(|v| v / d)
            .collect()
    };
    let w0: Vec<Vec<f32>> = PARAMS
        .iter()
        .enumerate()
        .map(|(i, &n)| wave(n, 5 + 2 * i, 12.0 + i as f32))
        .collect();
    let (rows, n_in, lr, batch) = (4, 40, 0.5f32, 2);
    let x = wave(rows * n_in, 7, 6.0);
    let t: Vec<f32> = (0..rows * 2).map(|i| (i % 3) as f32 / 2.0).collect();

    // the reference: each batch's mean gradient by central differences of
    // the f64 definition, then w -= lr * gradient
    let mut w64: Vec<f64> = w0.iter().flat_map(|w| wide(w)).collect();
    let (x64, t64) = (wide(&x), wide(&t));
    let mut want_loss = 0.0;
    for start in (0..rows).step_by(batch) {
        let samples = start..start + batch;
        let batch_loss = |w: &[f64]| {
            samples
                .clone()
                .map(|r| cnn.loss(w, &x64[r * n_in..(r + 1) * n_in], &t64[r * 2..r * 2 + 2]))
                .sum::<f64>()
        };
        want_loss += batch_loss(&w64);
        let grad = central(&w64, |w| batch_loss(w) / batch as f64);
        for (w, g) in w64.iter_mut().zip(grad) {
            *w -= lr as f64 * g;
        }
    }

    // the epoch
    let mut w = w0.clone();
    let [k1, b1, k4, b4, k6, b6] = &mut w[..] else {
        unreachable!()
    };
    let (b1, b4, b6) = (&mut b1[..], &mut b4[..], &mut b6[..]);
    let (mut none1, mut none2, mut none3) = ([0.0f32; 0], [0.0f32; 0], [0.0f32; 0]);
    let (lin, tanh) = (Activation::Linear, Activation::Tanh);
    let act1 = if cnn.softmax {
        Activation::Softmax
    } else {
        tanh
    };
    let mut layers = [
        layer(Op::Conv2d(cnn.conv), k1, Some(b1), act1, true),
        layer(Op::Pool2d(cnn.pool), &mut none1, None, lin, false),
        layer(Op::Pad2d(cnn.pad), &mut none2, None, lin, false),
        layer(Op::Depthwise2d(cnn.depthwise), k4, Some(b4), tanh, true),
        layer(Op::Pool2d(cnn.average), &mut none3, None, lin, false),
        layer(Op::Dense, k6, Some(b6), Activation::Sigmoid, true),
    ];
    let run = Run {
        loss: Loss::MeanSquaredError,
        metrics: &[],
        optimizer: Optimizer::Sgd {
            learning_rate: lr,
            momentum: 0.0,
            nesterov: false,
        },
        batch,
        train: true,
        n_in,
        x: &x,
        t: &t,
        order: None,
    };
    let (sums, iterations) = run_epoch::<_, 1>(&mut layers[..], &run);
    assert_eq!(iterations, 2);
    assert!(
        (sums[0] as f64 - want_loss).abs() < 1e-5,
        "{} vs {want_loss}",
        sums[0]
    );
    let got: Vec<f32> = w.iter().flatten().copied().collect();
    let initial: Vec<f32> = w0.iter().flatten().copied().collect();
    let mut moved = 0.0f64;
    for (i, ((&g, &want), &w0)) in got.iter().zip(&w64).zip(&initial).enumerate() {
        assert!((g as f64 - want).abs() < 2e-6, "weight {i}: {g} vs {want}");
        moved = moved.max((want - w0 as f64).abs());
    }
    assert!(
        moved > 1e-3,
        "the steps moved the weights by {moved} at most"
    );
}

/// The 2-D layers' shapes as the workspace checks them: a pooling or
/// padding that is trainable, has an activation or a kernel is refused;
/// a convolution's kernel that does not fit is its kernel's status.
#[test]
fn workspace_checks_the_2d_layers() {
    let cnn = Cnn::new(false);
    let (mut k1, mut b1, mut k6, mut k18) =
        ([0.0f32; 54], [0.0f32; 3], [0.0f32; 120], [0.0f32; 36]);
    let mut empty = [0.0f32; 0];
    let check = |layers: &mut [Layer]| {
        let mut failed = 0;
        workspace_len(layers, 40, 2, &mut failed).map_err(|s| (s, failed))
    };
    let relu = Activation::Relu {
        negative_slope: 0.0,
        max_value: None,
        threshold: 0.0,
    };
    let mut layers = [
        layer(Op::Conv2d(cnn.conv), &mut k1, Some(&mut b1), relu, true),
        layer(
            Op::Pool2d(cnn.pool),
            &mut empty,
            None,
            Activation::Linear,
            false,
        ),
        layer(Op::Dense, &mut k6, None, Activation::Sigmoid, true),
    ];
    // 5x4x3 -> 3x2x3 = 18 values: 120 is no whole number of units
    assert_eq!(check(&mut layers), Err((Status::KernelSize, 2)));
    layers[2].kernel = &mut k18;
    assert!(check(&mut layers).is_ok());
    layers[1].trainable = true;
    assert_eq!(check(&mut layers), Err((Status::Kind, 1)));
    layers[1].trainable = false;
    layers[1].act = Activation::Tanh;
    assert_eq!(check(&mut layers), Err((Status::Kind, 1)));
    layers[1].act = Activation::Linear;
    layers[0].kernel = &mut [];
    assert_eq!(check(&mut layers), Err((Status::KernelSize, 0)));
}

/// An UpSampling1D as the workspace checks it: its output (steps x size x
/// channels) feeds the next layer; trainable, or with a kernel, refused.
#[test]
fn workspace_checks_upsample1d() {
    use crate::layers::upsample1d::Upsample1d;
    let up = Upsample1d {
        channels: 2,
        size: 3,
    };
    let (mut k, mut empty, mut stray) = ([0.0f32; 36], [0.0f32; 0], [0.0f32; 2]);
    let check = |layers: &mut [Layer]| {
        let mut failed = 0;
        workspace_len(layers, 6, 2, &mut failed).map_err(|s| (s, failed))
    };
    // 3 steps x 2 channels -> 9 x 2 = 18 values; a Dense of 2 units on them
    let mut layers = [
        layer(Op::Upsample1d(up), &mut empty, None, Activation::Linear, false),
        layer(Op::Dense, &mut k, None, Activation::Sigmoid, true),
    ];
    assert!(check(&mut layers).is_ok());
    layers[0].trainable = true;
    assert_eq!(check(&mut layers), Err((Status::Kind, 0)));
    layers[0].trainable = false;
    layers[0].kernel = &mut stray;
    assert_eq!(check(&mut layers), Err((Status::KernelSize, 0)));
}
