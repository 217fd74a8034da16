//! The training loop on graphs (issue 30): layers that name their inputs,
//! merges, a tensor read by several layers. Each merge's SGD step against
//! the numerical gradients of the network's definition in f64 (written
//! here), and a graph whose layers name the one before trains bit for bit
//! as the chain.

use super::loss::Loss;
use super::net::{Graph, Inputs, Layer, Run};
use super::optim::Optimizer;
use super::tests::run_epoch;
use super::workspace::workspace_len;
use crate::activation::Activation;
use crate::layers::merge::Merge;
use crate::layers::Op;
use crate::Status;

const ROWS: usize = 5;

/// Pseudo-random values in (-scale, scale).
fn wave(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1103515245).wrapping_add(12345);
            ((s >> 8) % 20001) as f32 / 10000.0 * scale - scale
        })
        .collect()
}

fn inputs(from: &[u32], merge: Option<Merge>, rows: usize) -> Inputs {
    let mut i = Inputs {
        n: from.len(),
        merge,
        rows,
        ..Inputs::CHAIN
    };
    for (d, &j) in i.from.iter_mut().zip(from) {
        *d = j;
    }
    i
}

/// The network: x (3 values); d0 = Dense(4, tanh)(x); d1 = Dense(4,
/// sigmoid)(d0); d2 = Dense(4)(x); m = merge(d0, d1, d2) (Subtract: d1,
/// d2) then tanh; out = Dense(2)(m). d0 is read by d1 and by the merge (its
/// gradient summed); d2 reads x, not the layer before it.
struct Net {
    merge: Merge,
    rows: usize,
}

impl Net {
    fn sources(&self) -> &'static [u32] {
        match self.merge {
            Merge::Subtract => &[2, 3],
            _ => &[1, 2, 3],
        }
    }

    /// The merge's output length.
    fn m_len(&self) -> usize {
        if self.merge == Merge::Concatenate {
            4 * self.sources().len()
        } else {
            4
        }
    }

    /// The weights' lengths: d0's kernel and bias, d1's, d2's, out's.
    fn params(&self) -> [usize; 8] {
        [12, 4, 16, 4, 12, 4, self.m_len() * 2, 2]
    }

    /// The mean squared error over the rows, in f64.
    fn loss(&self, w: &[Vec<f64>], x: &[f32], t: &[f32]) -> f64 {
        let dense = |x: &[f64], k: &[f64], b: &[f64]| -> Vec<f64> {
            let units = b.len();
            (0..units)
                .map(|j| b[j] + (0..x.len()).map(|i| x[i] * k[i * units + j]).sum::<f64>())
                .collect()
        };
        let mut total = 0.0;
        for r in 0..ROWS {
            let x: Vec<f64> = x[r * 3..r * 3 + 3].iter().map(|&v| v as f64).collect();
            let d0: Vec<f64> = dense(&x, &w[0], &w[1]).iter().map(|v| v.tanh()).collect();
            let d1: Vec<f64> = dense(&d0, &w[2], &w[3]).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
            let d2 = dense(&x, &w[4], &w[5]);
            let all = [&d0, &d1, &d2];
            let ins: Vec<&Vec<f64>> = self.sources().iter().map(|&j| all[j as usize - 1]).collect();
            let m: Vec<f64> = if self.merge == Merge::Concatenate {
                // rows positions, each input's channels side by side
                let c = 4 / self.rows;
                (0..self.rows)
                    .flat_map(|p| ins.iter().flat_map(move |v| v[p * c..(p + 1) * c].to_vec()))
                    .collect()
            } else {
                (0..4)
                    .map(|e| {
                        let v: Vec<f64> = ins.iter().map(|v| v[e]).collect();
                        match self.merge {
                            Merge::Add => v.iter().sum(),
                            Merge::Subtract => v[0] - v[1],
                            Merge::Multiply => v.iter().product(),
                            Merge::Average => v.iter().sum::<f64>() / v.len() as f64,
                            Merge::Maximum => v.iter().cloned().fold(f64::MIN, f64::max),
                            _ => v.iter().cloned().fold(f64::MAX, f64::min),
                        }
                    })
                    .collect()
            };
            let m: Vec<f64> = m.iter().map(|v| v.tanh()).collect();
            let y = dense(&m, &w[6], &w[7]);
            total += (0..2).map(|j| (y[j] - t[r * 2 + j] as f64).powi(2)).sum::<f64>() / 2.0;
        }
        total / ROWS as f64
    }
}

fn sgd_run<'a>(x: &'a [f32], t: &'a [f32], lr: f32, momentum: f32, batch: usize) -> Run<'a> {
    Run {
        loss: Loss::MeanSquaredError,
        metrics: &[],
        optimizer: Optimizer::Sgd {
            learning_rate: lr,
            momentum,
            nesterov: false,
        },
        batch,
        train: true,
        n_in: 3,
        x,
        t,
        order: None,
    }
}

fn layer<'a>(kernel: &'a mut [f32], bias: Option<&'a mut [f32]>, act: Activation, trainable: bool) -> Layer<'a> {
    Layer {
        op: Op::Dense,
        kernel,
        bias,
        act,
        trainable,
        slots: [None, None, None, None],
    }
}

#[test]
fn each_merge_takes_the_numerical_sgd_step() {
    let cases = [
        (Merge::Add, 1),
        (Merge::Subtract, 1),
        (Merge::Multiply, 1),
        (Merge::Average, 1),
        (Merge::Maximum, 1),
        (Merge::Minimum, 1),
        (Merge::Concatenate, 1),
        (Merge::Concatenate, 2),
    ];
    for (case, &(merge, rows)) in cases.iter().enumerate() {
        let net = Net { merge, rows };
        let x = wave(3 * ROWS, 1 + case as u32, 1.0);
        let t = wave(2 * ROWS, 50 + case as u32, 1.0);
        let mut w: Vec<Vec<f32>> = net
            .params()
            .iter()
            .enumerate()
            .map(|(i, &n)| wave(n, 100 + i as u32 + 10 * case as u32, 0.7))
            .collect();
        let before = w.clone();
        let lr = 0.1f32;
        let [k0, b0, k1, b1, k2, b2, k3, b3] = &mut w[..] else {
            unreachable!()
        };
        let mut layers = [
            layer(k0, Some(b0), Activation::Tanh, true),
            layer(k1, Some(b1), Activation::Sigmoid, true),
            layer(k2, Some(b2), Activation::Linear, true),
            layer(&mut [], None, Activation::Tanh, false),
            layer(k3, Some(b3), Activation::Linear, true),
        ];
        let ins = [
            inputs(&[0], None, 1),
            inputs(&[1], None, 1),
            inputs(&[0], None, 1),
            inputs(net.sources(), Some(merge), rows),
            inputs(&[4], None, 1),
        ];
        let mut graph = Graph {
            layers: &mut layers,
            inputs: &ins,
        };
        let run = sgd_run(&x, &t, lr, 0.0, ROWS);
        run_epoch::<_, 1>(&mut graph, &run);
        // the numerical gradient of the f64 definition at the weights before
        let w64: Vec<Vec<f64>> = before.iter().map(|v| v.iter().map(|&a| a as f64).collect()).collect();
        let mut worst = 0.0f64;
        for p in 0..w64.len() {
            for i in 0..w64[p].len() {
                let h = 1e-5;
                let (mut up, mut down) = (w64.clone(), w64.clone());
                up[p][i] += h;
                down[p][i] -= h;
                let g = (net.loss(&up, &x, &t) - net.loss(&down, &x, &t)) / (2.0 * h);
                let step = (before[p][i] - w[p][i]) as f64 / lr as f64;
                let err = (step - g).abs() / (1e-4 + 1e-3 * g.abs());
                worst = worst.max(err);
                assert!(err <= 1.0, "{merge:?} rows {rows}: weight {p}[{i}] stepped by {step}, numerically {g}");
            }
        }
        assert!(worst > 0.0);
    }
}

#[test]
fn a_graph_naming_the_layer_before_trains_as_the_chain() {
    // Dense(4, tanh), an affine layer (the chain then runs per sample too),
    // Dense(2); SGD with momentum, batches of 2
    let x = wave(3 * ROWS, 7, 1.0);
    let t = wave(2 * ROWS, 8, 1.0);
    let start = [wave(12, 1, 0.7), wave(4, 2, 0.3), wave(4, 3, 1.0), wave(4, 4, 0.3), wave(8, 5, 0.7), wave(2, 6, 0.3)];
    let mut got = vec![];
    for graph in [false, true] {
        let mut w = start.clone();
        let mut m: Vec<Vec<f32>> = start.iter().map(|v| vec![0.0; v.len()]).collect();
        let [k0, b0, s, o, k1, b1] = &mut w[..] else { unreachable!() };
        let [mk0, mb0, _, _, mk1, mb1] = &mut m[..] else { unreachable!() };
        let mut layers = [
            layer(k0, Some(b0), Activation::Tanh, true),
            Layer {
                op: Op::Affine(crate::layers::affine::Affine { channels: 4 }),
                ..layer(s, Some(o), Activation::Linear, false)
            },
            layer(k1, Some(b1), Activation::Linear, true),
        ];
        layers[0].slots = [Some(mk0), None, Some(mb0), None];
        layers[2].slots = [Some(mk1), None, Some(mb1), None];
        let run = sgd_run(&x, &t, 0.1, 0.9, 2);
        let sums = if graph {
            let ins = [inputs(&[0], None, 1), inputs(&[1], None, 1), inputs(&[2], None, 1)];
            run_epoch::<_, 1>(&mut Graph { layers: &mut layers, inputs: &ins }, &run)
        } else {
            run_epoch::<_, 1>(&mut layers[..], &run)
        };
        got.push((w, sums));
    }
    assert!(got[0].0 != start);
    assert_eq!(got[0], got[1]);
}

#[test]
fn the_workspace_checks_a_graph() {
    let (mut k0, mut b0, mut k1) = (vec![0.1f32; 12], vec![0.0f32; 4], vec![0.1f32; 8]);
    let mut failed = 0;
    let mut check = |ins: &[Inputs], merge_act: Activation| {
        let mut layers = [
            layer(&mut k0, Some(&mut b0), Activation::Tanh, true),
            layer(&mut [], None, merge_act, false),
            layer(&mut k1, None, Activation::Linear, true),
        ];
        let r = workspace_len(&mut Graph { layers: &mut layers, inputs: ins }, 3, 2, &mut failed);
        (r, failed)
    };
    let last = inputs(&[2], None, 1);
    // Add of d0 with itself: fine; with x (3 values, not 4): refused
    assert!(check(&[inputs(&[0], None, 1), inputs(&[1, 1], Some(Merge::Add), 1), last], Activation::Elu { alpha: 1.0 }).0.is_ok());
    assert_eq!(
        check(&[inputs(&[0], None, 1), inputs(&[1, 0], Some(Merge::Add), 1), last], Activation::Elu { alpha: 1.0 }),
        (Err(Status::XSize), 1)
    );
    // one input, Subtract of three, a later layer, a vector activation
    let one = inputs(&[1], Some(Merge::Add), 1);
    assert_eq!(check(&[inputs(&[0], None, 1), one, last], Activation::Elu { alpha: 1.0 }).0, Err(Status::Size));
    let three = inputs(&[1, 1, 1], Some(Merge::Subtract), 1);
    assert_eq!(check(&[inputs(&[0], None, 1), three, last], Activation::Elu { alpha: 1.0 }).0, Err(Status::Size));
    let later = inputs(&[1, 3], Some(Merge::Add), 1);
    assert_eq!(check(&[inputs(&[0], None, 1), later, last], Activation::Elu { alpha: 1.0 }).0, Err(Status::Size));
    let both = inputs(&[1, 1], Some(Merge::Add), 1);
    assert_eq!(check(&[inputs(&[0], None, 1), both, last], Activation::Softmax).0, Err(Status::Kind));
    // Concatenate of 4 + 4 values in 3 rows: not whole rows
    let rows3 = inputs(&[1, 1], Some(Merge::Concatenate), 3);
    assert_eq!(check(&[inputs(&[0], None, 1), rows3, last], Activation::Elu { alpha: 1.0 }).0, Err(Status::XSize));
}
