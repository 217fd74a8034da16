//! Tests of the 2-D layers' backward passes (src/layers/conv2d.rs,
//! depthwise2d.rs, pool2d.rs, pad2d.rs, merge.rs): on random shapes
//! against the numerical gradients of their definitions in f64 (each
//! definition first checked against the forward kernel), and small cases
//! checked by hand.

use super::conv2d::*;
use super::depthwise2d::*;
use super::merge::*;
use super::pad2d::*;
use super::pool1d::{pool1d_backward_f32, pool1d_f32, Pool, Pool1d};
use super::pool2d::*;
use super::tests_1d::{unit_steps, values};
use super::window::*;
use super::{conv2d, depthwise2d, pool2d};
use crate::activation::Activation;
use crate::Status;

/// A 2-D window's geometry, drawn at random.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geo {
    h: usize,
    w: usize,
    k: (usize, usize),
    s: (usize, usize),
    d: (usize, usize),
    same: bool,
}

/// Keras's output size and padding before the first input along one axis
/// (TensorFlow's rules, written out again here, not window.rs's); `None`
/// when a `valid` window does not fit.
fn axis(n: usize, k: usize, d: usize, s: usize, same: bool) -> Option<(usize, usize, usize)> {
    let ext = (k - 1) * d + 1;
    if same {
        let out = n.div_ceil(s);
        let total = ((out - 1) * s + ext).saturating_sub(n);
        Some((out, total / 2, total))
    } else if n >= ext {
        Some(((n - ext) / s + 1, 0, 0))
    } else {
        None
    }
}

impl Geo {
    /// A layer's window (also src/train/tests_2d.rs's).
    pub(crate) fn of(w: &Window2d) -> Geo {
        Geo {
            h: w.height,
            w: w.width,
            k: w.kernel_size,
            s: w.strides,
            d: w.dilation,
            same: w.padding == Padding::Same,
        }
    }

    fn window(&self) -> Window2d {
        Window2d {
            height: self.h,
            width: self.w,
            kernel_size: self.k,
            strides: self.s,
            dilation: self.d,
            padding: if self.same {
                Padding::Same
            } else {
                Padding::Valid
            },
        }
    }

    /// `(out_h, out_w, top, left)`, or `None` if the window does not fit.
    fn out(&self) -> Option<(usize, usize, usize, usize)> {
        let (oh, top, _) = axis(self.h, self.k.0, self.d.0, self.s.0, self.same)?;
        let (ow, left, _) = axis(self.w, self.k.1, self.d.1, self.s.1, self.same)?;
        Some((oh, ow, top, left))
    }

    /// Padded unevenly (more after than before) on some axis.
    fn uneven(&self) -> bool {
        let odd = |n, k, d, s| axis(n, k, d, s, self.same).is_some_and(|(_, _, t)| t % 2 == 1);
        odd(self.h, self.k.0, self.d.0, self.s.0) || odd(self.w, self.k.1, self.d.1, self.s.1)
    }

    /// The input position `(iy, ix)` of tap `(ky, kx)` at output `(oy,
    /// ox)`, if in range.
    fn tap(&self, (oy, ox): (usize, usize), (ky, kx): (usize, usize)) -> Option<usize> {
        let (_, _, top, left) = self.out()?;
        let iy = (oy * self.s.0 + ky * self.d.0) as isize - top as isize;
        let ix = (ox * self.s.1 + kx * self.d.1) as isize - left as isize;
        if iy < 0 || ix < 0 || iy >= self.h as isize || ix >= self.w as isize {
            return None;
        }
        Some(iy as usize * self.w + ix as usize)
    }
}

/// A small deterministic generator of sizes.
struct Draw(u32);

impl Draw {
    fn pick(&mut self, lo: usize, hi: usize) -> usize {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        lo + (self.0 >> 16) as usize % (hi - lo + 1)
    }

    fn geo(&mut self, dilated: bool) -> Geo {
        let dil = if dilated { 2 } else { 1 };
        Geo {
            h: self.pick(1, 6),
            w: self.pick(1, 6),
            k: (self.pick(1, 3), self.pick(1, 3)),
            s: (self.pick(1, 2), self.pick(1, 2)),
            d: (self.pick(1, dil), self.pick(1, dil)),
            same: self.pick(0, 1) == 1,
        }
    }
}

pub(crate) fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&v| v as f64).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `got == base + scale * want` within 1e-5 (and of the same length).
fn close(got: &[f32], want: &[f64], base: f64, scale: f64) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(&g, &w)| (g as f64 - (base + scale * w)).abs() <= 1e-5 * (1.0 + w.abs()))
}

/// The convolution's definition in f64: Conv2D (`dm == None`, `cout`
/// filters) or DepthwiseConv2D (output channel `oc` reads input channel
/// `oc / dm`), every tap, zeros outside the input.
pub(crate) fn conv_ref(
    g: &Geo,
    cin: usize,
    cout: usize,
    dm: Option<usize>,
    x: &[f64],
    k: &[f64],
    b: &[f64],
) -> Vec<f64> {
    let (oh, ow, _, _) = g.out().unwrap();
    let mut out = vec![0.0; oh * ow * cout];
    for oy in 0..oh {
        for ox in 0..ow {
            for oc in 0..cout {
                let mut acc = b[oc];
                for ky in 0..g.k.0 {
                    for kx in 0..g.k.1 {
                        let Some(i) = g.tap((oy, ox), (ky, kx)) else {
                            continue;
                        };
                        let t = ky * g.k.1 + kx;
                        match dm {
                            None => {
                                for c in 0..cin {
                                    acc += x[i * cin + c] * k[(t * cin + c) * cout + oc];
                                }
                            }
                            Some(dm) => acc += x[i * cin + oc / dm] * k[t * cout + oc],
                        }
                    }
                }
                out[(oy * ow + ox) * cout + oc] = acc;
            }
        }
    }
    out
}

/// Random convolutions (Conv2D, or DepthwiseConv2D with `depthwise`):
/// the forward kernel against the definition, then the backward pass's
/// `dx`, `gk` and `gb` (accumulated at scale 0.5 onto 1 and -1) against
/// the definition's gradients of `sum(dz * out)` (linear in each: unit
/// steps are exact). Returns how many cases ran, and how many had each of
/// size 1, stride 2, dilation 2, same padding, uneven padding.
fn check_convolutions(depthwise: bool) -> (usize, [usize; 5]) {
    let (mut ran, mut seen) = (0, [0; 5]);
    for case in 0..400u32 {
        let mut r = Draw(case * 7 + u32::from(depthwise));
        let g = r.geo(true);
        let cin = r.pick(1, 3);
        let (mult, cout) = if depthwise {
            let dm = r.pick(1, 3);
            (Some(dm), cin * dm)
        } else {
            (None, r.pick(1, 3))
        };
        let Some((oh, ow, _, _)) = g.out() else {
            continue;
        };
        ran += 1;
        let flags = [
            g.h == 1 || g.w == 1 || cin == 1,
            g.s.0 == 2 || g.s.1 == 2,
            g.d.0 == 2 || g.d.1 == 2,
            g.same,
            g.uneven(),
        ];
        for (n, f) in seen.iter_mut().zip(flags) {
            *n += usize::from(f);
        }
        let kernel_len = g.k.0 * g.k.1 * cin * if depthwise { mult.unwrap() } else { cout };
        let seed = case * 4;
        let x = values(g.h * g.w * cin, seed + 1);
        let kernel = values(kernel_len, seed + 2);
        let bias = values(cout, seed + 3);
        let dz = values(oh * ow * cout, seed + 4);
        let (x64, k64, b64, dz64) = (wide(&x), wide(&kernel), wide(&bias), wide(&dz));
        let window = g.window();
        let c2 = Conv2d {
            window,
            in_channels: cin,
        };
        let dw = Depthwise2d {
            window,
            in_channels: cin,
            depth_multiplier: mult.unwrap_or(1),
        };
        // the definition is the forward kernel's
        let mut out = vec![0.0f32; dz.len()];
        let lin = Activation::Linear;
        if depthwise {
            depthwise2d_f32(&dw, &x, &kernel, Some(&bias), &mut out, &lin).unwrap();
        } else {
            conv2d_f32(&c2, &x, &kernel, Some(&bias), &mut out, &lin).unwrap();
        }
        let want = conv_ref(&g, cin, cout, mult, &x64, &k64, &b64);
        assert!(close(&out, &want, 0.0, 1.0), "forward {g:?}");
        let loss =
            |x: &[f64], k: &[f64], b: &[f64]| dot(&dz64, &conv_ref(&g, cin, cout, mult, x, k, b));
        let want_dx = unit_steps(&x64, |x| loss(x, &k64, &b64));
        let want_gk = unit_steps(&k64, |k| loss(&x64, k, &b64));
        let want_gb = unit_steps(&b64, |b| loss(&x64, &k64, b));
        let (mut gk, mut gb, mut dx) =
            (vec![1.0; kernel_len], vec![-1.0; cout], vec![9.0; x.len()]);
        let back = |gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>| {
            if depthwise {
                depthwise2d_backward_f32(&dw, &x, &kernel, &dz, 0.5, gk, gb, dx)
            } else {
                conv2d_backward_f32(&c2, &x, &kernel, &dz, 0.5, gk, gb, dx)
            }
        };
        back(Some(&mut gk), Some(&mut gb), Some(&mut dx)).unwrap();
        assert!(
            close(&dx, &want_dx, 0.0, 1.0),
            "dx {g:?} {dx:?} {want_dx:?}"
        );
        assert!(close(&gk, &want_gk, 1.0, 0.5), "gk {g:?}");
        assert!(close(&gb, &want_gb, -1.0, 0.5), "gb {g:?}");
        // each part alone: the same values
        let (mut gk2, mut dx2) = (vec![1.0; kernel_len], vec![0.0; x.len()]);
        back(Some(&mut gk2), None, None).unwrap();
        back(None, None, Some(&mut dx2)).unwrap();
        assert_eq!((gk2, dx2), (gk, dx));
    }
    (ran, seen)
}

#[test]
fn conv2d_backward_matches_numerical_gradients() {
    let (ran, seen) = check_convolutions(false);
    assert!(ran > 150 && seen.iter().all(|&n| n > 10), "{ran} {seen:?}");
}

#[test]
fn depthwise2d_backward_matches_numerical_gradients() {
    let (ran, seen) = check_convolutions(true);
    assert!(ran > 150 && seen.iter().all(|&n| n > 10), "{ran} {seen:?}");
}

#[test]
fn conv2d_backward_hand_checked() {
    // 2x2 input, one channel, a 2x2 kernel, valid: one output, z = x . k;
    // dz = 2: gk += scale * 2 * x, gb += scale * 2, dx = 2 * k
    let x = [1.0, 2.0, 3.0, 4.0];
    let k = [0.5, -1.0, 0.25, 2.0];
    let s = conv2d::tests::spec(2, 2, 1, (2, 2), Padding::Valid);
    let (mut gk, mut gb, mut dx) = ([0.0f32; 4], [1.0f32], [9.0f32; 4]);
    conv2d_backward_f32(
        &s,
        &x,
        &k,
        &[2.0],
        0.5,
        Some(&mut gk),
        Some(&mut gb),
        Some(&mut dx),
    )
    .unwrap();
    assert_eq!(gk, x);
    assert_eq!(gb, [2.0]);
    assert_eq!(dx, [1.0, -2.0, 0.5, 4.0]);
    // same, 3x3 of one channel, the kernel's top-left tap only: output (y,
    // x) reads input (y - 1, x - 1); dz of ones: each input but the last
    // row and column gets 1
    let mut k = [0.0f32; 9];
    k[0] = 1.0;
    let s = conv2d::tests::spec(3, 3, 1, (3, 3), Padding::Same);
    let mut dx = [9.0f32; 9];
    conv2d_backward_f32(&s, &[0.0; 9], &k, &[1.0; 9], 1.0, None, None, Some(&mut dx)).unwrap();
    assert_eq!(dx, [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn depthwise2d_backward_hand_checked() {
    // 1x2 input of 2 channels, a 1x1 kernel, depth_multiplier 2: output
    // channel oc = c * 2 + m reads channel c; dz of 1, 2, 3, 4 at each position
    let d = Depthwise2d {
        window: depthwise2d::tests::window(1, 2, (1, 1), Padding::Valid),
        in_channels: 2,
        depth_multiplier: 2,
    };
    let x = [1.0, 10.0, 2.0, 20.0];
    let k = [1.0, -1.0, 0.5, 2.0];
    let dz = [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0];
    let (mut gk, mut gb, mut dx) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 4]);
    depthwise2d_backward_f32(
        &d,
        &x,
        &k,
        &dz,
        1.0,
        Some(&mut gk),
        Some(&mut gb),
        Some(&mut dx),
    )
    .unwrap();
    // gk[oc] = sum over positions of x[., oc / 2] * dz[., oc]
    assert_eq!(gk, [3.0, 6.0, 90.0, 120.0]);
    assert_eq!(gb, [2.0, 4.0, 6.0, 8.0]);
    // dx[., c] = sum over m of k[c * 2 + m] * dz[., c * 2 + m]
    assert_eq!(dx, [-1.0, 9.5, -1.0, 9.5]);
}

#[test]
fn convolution_backward_refusals_write_nothing() {
    let s = conv2d::tests::spec(3, 2, 2, (2, 2), Padding::Valid); // 2x1 out
    let (x, k, dz) = ([1.0f32; 12], [1.0f32; 24], [1.0f32; 6]); // 3 filters
    let (mut gk, mut gb, mut dx) = ([7.0f32; 24], [7.0f32; 3], [7.0f32; 12]);
    let run =
        |dz: &[f32], gk: Option<&mut [f32]>, gb: Option<&mut [f32]>, dx: Option<&mut [f32]>| {
            conv2d_backward_f32(&s, &x, &k, dz, 1.0, gk, gb, dx)
        };
    assert_eq!(
        run(&dz[..5], Some(&mut gk), None, None),
        Err(Status::OutSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk[..23]), None, None),
        Err(Status::KernelSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk), Some(&mut gb[..2]), None),
        Err(Status::BiasSize)
    );
    assert_eq!(
        run(&dz, Some(&mut gk), Some(&mut gb), Some(&mut dx[..11])),
        Err(Status::XSize)
    );
    assert_eq!(
        conv2d_backward_f32(&s, &x[..11], &k, &dz, 1.0, Some(&mut gk), None, None),
        Err(Status::XSize)
    );
    let d = Depthwise2d {
        window: s.window,
        in_channels: 2,
        depth_multiplier: 2,
    }; // kernel 2x2x4, dz 2x1x4
    let (k4, dz4) = ([1.0f32; 16], [1.0f32; 8]);
    let (mut gk4, mut gb4) = ([7.0f32; 16], [7.0f32; 4]);
    let run4 = |k: &[f32],
                dz: &[f32],
                gk: Option<&mut [f32]>,
                gb: Option<&mut [f32]>,
                dx: Option<&mut [f32]>| {
        depthwise2d_backward_f32(&d, &x, k, dz, 1.0, gk, gb, dx)
    };
    assert_eq!(
        run4(&k4, &dz4[..7], Some(&mut gk4), None, None),
        Err(Status::OutSize)
    );
    assert_eq!(
        run4(&k4[..15], &dz4, None, None, None),
        Err(Status::KernelSize)
    );
    assert_eq!(
        run4(&k4, &dz4, Some(&mut gk4[..15]), None, None),
        Err(Status::KernelSize)
    );
    assert_eq!(
        run4(&k4, &dz4, None, Some(&mut gb4[..3]), None),
        Err(Status::BiasSize)
    );
    assert_eq!(
        run4(
            &k4,
            &dz4,
            Some(&mut gk4),
            Some(&mut gb4),
            Some(&mut dx[..11])
        ),
        Err(Status::XSize)
    );
    let bad = Depthwise2d {
        depth_multiplier: 0,
        ..d
    };
    assert_eq!(
        depthwise2d_backward_f32(&bad, &x, &k4, &dz4, 1.0, None, None, Some(&mut dx)),
        Err(Status::LayerParam)
    );
    assert_eq!(
        (gk, gb, dx, gk4, gb4),
        ([7.0; 24], [7.0; 3], [7.0; 12], [7.0; 16], [7.0; 4])
    );
}

/// The pooling's definition in f64 over the window's positions in range.
pub(crate) fn pool_ref(g: &Geo, c: usize, max: bool, x: &[f64]) -> Vec<f64> {
    let (oh, ow, _, _) = g.out().unwrap();
    let mut out = vec![0.0; oh * ow * c];
    for o in 0..oh * ow {
        for j in 0..c {
            let mut vals = vec![];
            for ky in 0..g.k.0 {
                for kx in 0..g.k.1 {
                    if let Some(i) = g.tap((o / ow, o % ow), (ky, kx)) {
                        vals.push(x[i * c + j]);
                    }
                }
            }
            out[o * c + j] = if max {
                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            } else {
                vals.iter().sum::<f64>() / vals.len() as f64
            };
        }
    }
    out
}

/// Central differences of `f` at `v` in f64 (step 1e-6; the max poolings'
/// and merges' random values are further apart than that).
pub(crate) fn central(v: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    (0..v.len())
        .map(|i| {
            let (mut a, mut b) = (v.to_vec(), v.to_vec());
            a[i] += h;
            b[i] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        })
        .collect()
}

#[test]
fn pool2d_backward_matches_numerical_gradients() {
    let (mut ran, mut seen) = (0, [0usize; 4]);
    for case in 0..400u32 {
        let mut r = Draw(case * 13 + 5);
        let g = r.geo(false);
        let g = Geo {
            s: (r.pick(1, 3), r.pick(1, 3)),
            ..g
        };
        let c = r.pick(1, 3);
        let Some((oh, ow, _, _)) = g.out() else {
            continue;
        };
        ran += 1;
        let flags = [
            g.h == 1 || g.w == 1,
            g.s.0 >= 2 || g.s.1 >= 2,
            g.same,
            g.uneven(),
        ];
        for (n, f) in seen.iter_mut().zip(flags) {
            *n += usize::from(f);
        }
        // taps_in_range counts what taps_at walks
        let plane = g.window().plane().unwrap();
        for pos in 0..oh * ow {
            let n = g.window().taps_at(&plane, pos).count();
            assert_eq!(g.window().taps_in_range(&plane, pos), n, "{g:?} {pos}");
        }
        let x = values(g.h * g.w * c, case + 1);
        let dy = values(oh * ow * c, case + 2);
        let (x64, dy64) = (wide(&x), wide(&dy));
        for pool in [Pool::Max, Pool::Average] {
            let spec = Pool2d {
                pool,
                window: g.window(),
                channels: c,
            };
            let max = pool == Pool::Max;
            let mut out = vec![0.0f32; dy.len()];
            pool2d_f32(&spec, &x, &mut out).unwrap();
            assert!(
                close(&out, &pool_ref(&g, c, max, &x64), 0.0, 1.0),
                "forward {g:?}"
            );
            let want = central(&x64, |x| dot(&dy64, &pool_ref(&g, c, max, x)));
            let mut dx = vec![9.0f32; x.len()];
            pool2d_backward_f32(&spec, &x, &dy, &mut dx).unwrap();
            assert!(
                close(&dx, &want, 0.0, 1.0),
                "{pool:?} {g:?} {dx:?} {want:?}"
            );
        }
    }
    assert!(ran > 150 && seen.iter().all(|&n| n > 10), "{ran} {seen:?}");
}

/// The global 2-D poolings are the 1-D ones over `h * w` steps: their
/// backward pass against the numerical gradient of a mean, or a max, over
/// every position.
#[test]
fn global_pool2d_backward_matches_numerical_gradients() {
    for (h, w, c) in [(1, 1, 1), (3, 5, 2), (4, 4, 3), (1, 7, 1)] {
        let x = values(h * w * c, (h * 31 + w * 7 + c) as u32);
        let dy = values(c, 3);
        let (x64, dy64) = (wide(&x), wide(&dy));
        for pool in [Pool::Max, Pool::Average] {
            let spec = Pool1d {
                pool,
                global: true,
                channels: c,
                pool_size: 0,
                strides: 0,
                padding: Padding::Valid,
            };
            let reduce = |x: &[f64]| -> Vec<f64> {
                (0..c)
                    .map(|j| {
                        let vals = x.iter().skip(j).step_by(c);
                        match pool {
                            Pool::Max => vals.copied().fold(f64::NEG_INFINITY, f64::max),
                            Pool::Average => vals.sum::<f64>() / (h * w) as f64,
                        }
                    })
                    .collect()
            };
            let mut out = vec![0.0f32; c];
            pool1d_f32(&spec, &x, &mut out).unwrap();
            assert!(close(&out, &reduce(&x64), 0.0, 1.0));
            let want = central(&x64, |x| dot(&dy64, &reduce(x)));
            let mut dx = vec![9.0f32; x.len()];
            pool1d_backward_f32(&spec, &x, &dy, &mut dx).unwrap();
            assert!(close(&dx, &want, 0.0, 1.0), "{pool:?} {h}x{w}x{c}");
        }
    }
}

#[test]
fn pool2d_backward_hand_checked() {
    // 3x3, one channel, 2x2 windows moved by 2, same (the last row and
    // column padded after): outputs over {0,1,3,4}, {2,5}, {6,7}, {8}
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let dy = [1.0, 2.0, 4.0, 8.0];
    let spec = |pool| pool2d::tests::spec(pool, 3, 3, 1, (2, 2), (2, 2), Padding::Same);
    let mut dx = [9.0f32; 9];
    pool2d_backward_f32(&spec(Pool::Max), &x, &dy, &mut dx).unwrap();
    assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 4.0, 8.0]);
    // the average over the positions in range only: 4, 2, 2 and 1 of them
    pool2d_backward_f32(&spec(Pool::Average), &x, &dy, &mut dx).unwrap();
    assert_eq!(dx, [0.25, 0.25, 1.0, 0.25, 0.25, 1.0, 2.0, 2.0, 8.0]);
    // ties: the first largest, row by row (TensorFlow's MaxPoolGrad)
    let ties = [1.0, 3.0, 3.0, 3.0];
    let one = pool2d::tests::spec(Pool::Max, 2, 2, 1, (2, 2), (1, 1), Padding::Valid);
    let mut dx = [9.0f32; 4];
    pool2d_backward_f32(&one, &ties, &[5.0], &mut dx).unwrap();
    assert_eq!(dx, [0.0, 5.0, 0.0, 0.0]);
    // overlapping windows add up: 3x1 windows of 2 moved by 1 over a
    // column whose middle value is the largest
    let col = pool2d::tests::spec(Pool::Max, 3, 1, 1, (2, 1), (1, 1), Padding::Valid);
    pool2d_backward_f32(&col, &[0.0, 1.0, 0.5], &[2.0, 3.0], &mut dx[..3]).unwrap();
    assert_eq!(dx[..3], [0.0, 5.0, 0.0]);
    // refusals write nothing
    let mut dx = [9.0f32; 9];
    assert_eq!(
        pool2d_backward_f32(&spec(Pool::Max), &x, &dy[..3], &mut dx),
        Err(Status::OutSize)
    );
    assert_eq!(
        pool2d_backward_f32(&spec(Pool::Max), &x[..8], &dy, &mut dx[..8]),
        Err(Status::XSize)
    );
    assert_eq!(
        pool2d_backward_f32(&spec(Pool::Max), &x, &dy, &mut dx[..8]),
        Err(Status::XSize)
    );
    let mut dilated = spec(Pool::Average);
    dilated.window.dilation = (1, 2);
    assert_eq!(
        pool2d_backward_f32(&dilated, &x, &dy, &mut dx),
        Err(Status::LayerParam)
    );
    assert_eq!(dx, [9.0; 9]);
}

#[test]
fn pad2d_backward_is_the_crop() {
    // every padding 0..=2 on each side of random planes: the gradient of
    // sum(dy * pad(x)) (linear: unit steps are exact)
    let mut ran = 0;
    for case in 0..60u32 {
        let mut r = Draw(case + 100);
        let spec = Pad2d {
            height: r.pick(1, 4),
            width: r.pick(1, 4),
            channels: r.pick(1, 3),
            rows: (r.pick(0, 2), r.pick(0, 2)),
            columns: (r.pick(0, 2), r.pick(0, 2)),
        };
        let n = spec.height * spec.width * spec.channels;
        let oh = spec.height + spec.rows.0 + spec.rows.1;
        let ow = spec.width + spec.columns.0 + spec.columns.1;
        let x = values(n, case);
        let dy = values(oh * ow * spec.channels, case + 50);
        let pad64 = |x: &[f64]| {
            let c = spec.channels;
            let mut out = vec![0.0; oh * ow * c];
            for y in 0..spec.height {
                for xx in 0..spec.width {
                    for j in 0..c {
                        let at = ((y + spec.rows.0) * ow + xx + spec.columns.0) * c + j;
                        out[at] = x[(y * spec.width + xx) * c + j];
                    }
                }
            }
            out
        };
        let mut out = vec![0.0f32; dy.len()];
        pad2d_f32(&spec, &x, &mut out).unwrap();
        assert!(close(&out, &pad64(&wide(&x)), 0.0, 1.0));
        let want = unit_steps(&wide(&x), |x| dot(&wide(&dy), &pad64(x)));
        let mut dx = vec![9.0f32; n];
        pad2d_backward_f32(&spec, &dy, &mut dx).unwrap();
        assert!(close(&dx, &want, 0.0, 1.0), "{spec:?}");
        ran += 1;
    }
    assert_eq!(ran, 60);
    // by hand: 2x2 padded to 3x4 (top 1, right 2)
    let spec = Pad2d {
        height: 2,
        width: 2,
        channels: 1,
        rows: (1, 0),
        columns: (0, 2),
    };
    let dy: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let mut dx = [9.0f32; 4];
    pad2d_backward_f32(&spec, &dy, &mut dx).unwrap();
    assert_eq!(dx, [4.0, 5.0, 8.0, 9.0]);
    assert_eq!(
        pad2d_backward_f32(&spec, &dy[..11], &mut dx),
        Err(Status::OutSize)
    );
    assert_eq!(
        pad2d_backward_f32(&spec, &dy, &mut dx[..3]),
        Err(Status::XSize)
    );
    assert_eq!(dx, [4.0, 5.0, 8.0, 9.0]);
}

/// The merges' definitions in f64, in Keras's order.
fn merge_ref(op: Merge, xs: &[Vec<f64>], rows: usize) -> Vec<f64> {
    if op == Merge::Concatenate {
        let mut out = vec![];
        for r in 0..rows {
            for x in xs {
                let c = x.len() / rows;
                out.extend_from_slice(&x[r * c..(r + 1) * c]);
            }
        }
        return out;
    }
    let mut out = xs[0].clone();
    for x in &xs[1..] {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = match op {
                Merge::Add | Merge::Average => *o + v,
                Merge::Subtract => *o - v,
                Merge::Multiply => *o * v,
                Merge::Maximum => o.max(v),
                _ => o.min(v),
            };
        }
    }
    if op == Merge::Average {
        out.iter_mut().for_each(|o| *o /= xs.len() as f64);
    }
    out
}

#[test]
fn merge_backward_matches_numerical_gradients() {
    let ops = [
        Merge::Add,
        Merge::Subtract,
        Merge::Multiply,
        Merge::Average,
        Merge::Maximum,
        Merge::Minimum,
        Merge::Concatenate,
    ];
    for (case, op) in (0..40u32).flat_map(|c| ops.map(|op| (c, op))) {
        let mut r = Draw(case * 3 + 1);
        let n = if op == Merge::Subtract {
            2
        } else {
            r.pick(2, 4)
        };
        let rows = r.pick(1, 4);
        let widths: Vec<usize> = (0..n)
            .map(|_| {
                if op == Merge::Concatenate {
                    r.pick(1, 3)
                } else {
                    3
                }
            })
            .collect();
        let xs: Vec<Vec<f32>> = widths
            .iter()
            .enumerate()
            .map(|(i, &c)| values(rows * c, case * 10 + i as u32))
            .collect();
        let out_len = rows
            * if op == Merge::Concatenate {
                widths.iter().sum()
            } else {
                3
            };
        let dz = values(out_len, case + 777);
        let refs: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
        let xs64: Vec<Vec<f64>> = xs.iter().map(|x| wide(x)).collect();
        let mut out = vec![0.0f32; out_len];
        merge_f32(op, &refs, &mut out, rows).unwrap();
        assert!(close(&out, &merge_ref(op, &xs64, rows), 0.0, 1.0), "{op:?}");
        let mut dxs: Vec<Vec<f32>> = xs.iter().map(|x| vec![9.0; x.len()]).collect();
        let mut outs: Vec<&mut [f32]> = dxs.iter_mut().map(|d| &mut d[..]).collect();
        merge_backward_f32(op, &refs, &dz, &mut outs, rows).unwrap();
        for i in 0..n {
            let want = central(&xs64[i], |xi| {
                let mut all = xs64.clone();
                all[i] = xi.to_vec();
                dot(&wide(&dz), &merge_ref(op, &all, rows))
            });
            assert!(
                close(&dxs[i], &want, 0.0, 1.0),
                "{op:?} input {i}: {:?} {want:?}",
                dxs[i]
            );
        }
    }
}

#[test]
fn merge_backward_hand_checked() {
    let (a, b, c) = ([1.0f32, -2.0, 3.0], [0.5f32, 4.0, 3.0], [2.0f32, 4.0, 0.0]);
    let dz = [1.0f32, 2.0, 4.0];
    let run = |op, xs: &[&[f32]]| {
        let mut d = vec![[9.0f32; 3]; xs.len()];
        let mut outs: Vec<&mut [f32]> = d.iter_mut().map(|d| &mut d[..]).collect();
        merge_backward_f32(op, xs, &dz, &mut outs, 1).unwrap();
        d
    };
    assert_eq!(run(Merge::Add, &[&a, &b]), [dz, dz]);
    assert_eq!(run(Merge::Subtract, &[&a, &b]), [dz, [-1.0, -2.0, -4.0]]);
    assert_eq!(run(Merge::Average, &[&a, &b]), [[0.5, 1.0, 2.0]; 2]);
    // each input: dz times the others (a zero input is exact)
    assert_eq!(
        run(Merge::Multiply, &[&a, &b, &c]),
        [[1.0, 32.0, 0.0], [2.0, -16.0, 0.0], [0.5, -16.0, 36.0]]
    );
    // ties go to the first input: b and c tie at 4 (b's), a and b at 3 (a's)
    assert_eq!(
        run(Merge::Maximum, &[&a, &b, &c]),
        [[0.0, 0.0, 4.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]
    );
    assert_eq!(
        run(Merge::Minimum, &[&a, &b, &c]),
        [[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 4.0]]
    );
    // Concatenate: two positions, 1 and 2 channels
    let dz = [1.0f32, 10.0, 11.0, 2.0, 20.0, 21.0];
    let (mut da, mut db) = ([0.0f32; 2], [0.0f32; 4]);
    let mut outs: [&mut [f32]; 2] = [&mut da, &mut db];
    merge_backward_f32(
        Merge::Concatenate,
        &[&[0.0; 2], &[0.0; 4]],
        &dz,
        &mut outs,
        2,
    )
    .unwrap();
    assert_eq!((da, db), ([1.0, 2.0], [10.0, 11.0, 20.0, 21.0]));
    // refusals write nothing
    let (mut da, mut db) = ([7.0f32; 3], [7.0f32; 3]);
    let mut outs: [&mut [f32]; 2] = [&mut da, &mut db];
    assert_eq!(
        merge_backward_f32(Merge::Add, &[&a], &dz[..3], &mut outs[..1], 1),
        Err(Status::Size)
    );
    assert_eq!(
        merge_backward_f32(Merge::Add, &[&a, &b], &dz[..2], &mut outs, 1),
        Err(Status::OutSize)
    );
    assert_eq!(
        merge_backward_f32(Merge::Add, &[&a, &b, &c], &dz[..3], &mut outs, 1),
        Err(Status::Size)
    );
    assert_eq!(
        merge_backward_f32(Merge::Subtract, &[&a, &b, &c], &dz[..3], &mut outs, 1),
        Err(Status::Size)
    );
    assert_eq!(
        merge_backward_f32(Merge::Concatenate, &[&a, &b], &dz, &mut outs, 0),
        Err(Status::OutSize)
    );
    let mut short = [7.0f32; 2];
    let mut outs2: [&mut [f32]; 2] = [&mut da, &mut short];
    assert_eq!(
        merge_backward_f32(Merge::Add, &[&a, &b], &dz[..3], &mut outs2, 1),
        Err(Status::XSize)
    );
    assert_eq!((da, db, short), ([7.0; 3], [7.0; 3], [7.0; 2]));
}
