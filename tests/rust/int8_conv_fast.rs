//! The int8 convolutions' fast loops (issue 30 item 3) against their
//! reference loops (LiteRT's reference CONV_2D and DEPTHWISE_CONV_2D, one
//! output, tap and channel at a time: `conv2d_s8_reference`,
//! `conv1d_s8_reference`, `depthwise2d_s8_reference`), bit for bit, on
//! random shapes: every size from 1 (height, width, channels, filters,
//! kernel), odd ones, strides and dilations, `valid` and `same` padding
//! (and `causal` for Conv1D), filter counts past the fast loop's block of
//! 64, more taps than the depthwise loop keeps on the stack, input offsets
//! at their extremes (-127, 128) with extreme values (every input and
//! weight -128 or 127: sums that wrap), per-tensor and per-channel
//! multipliers (Q31 either rounding, f64 scales), with and without bias,
//! clamps. On the host the fast loops run the portable dot products
//! (src/math/dot_s8.rs); the board tests run the targets' assembly.

use anne::layers::conv1d::Conv1d;
use anne::layers::conv1d_s8::{conv1d_s8, conv1d_s8_reference};
use anne::layers::conv2d::Conv2d;
use anne::layers::conv2d_s8::{conv2d_s8, conv2d_s8_reference};
use anne::layers::dense_s8::{DenseS8Params, Multipliers};
use anne::layers::depthwise2d::Depthwise2d;
use anne::layers::depthwise2d_s8::{depthwise2d_s8, depthwise2d_s8_reference};
use anne::layers::window::{Padding, Window2d};
use anne::math::requant::{quantize_multiplier_for, FloatScale, Rounding};

mod rng;
use rng::Rng;

/// The int8 values: uniform, or only the extremes -128 and 127.
fn i8s(rng: &mut Rng, n: usize, extreme: bool) -> Vec<i8> {
    (0..n)
        .map(|_| {
            if extreme {
                if rng.below(2) == 0 {
                    -128
                } else {
                    127
                }
            } else {
                rng.below(256) as i32 as i8
            }
        })
        .collect()
}

/// The storage of one layer's quantization.
struct Quant {
    kind: u64,
    mults: Vec<i32>,
    shifts: Vec<i32>,
    scales: Vec<FloatScale>,
    rounding: Rounding,
    input_offset: i32,
    output_offset: i32,
    act: (i32, i32),
}

impl Quant {
    /// Per tensor or per channel (`kind` 0, 1: Q31; 2: f64 scales per
    /// channel), scales that put sums of `terms` products around the
    /// output's range, offsets (the extremes often), clamps.
    fn new(rng: &mut Rng, channels: usize, terms: usize) -> Quant {
        let kind = rng.below(3);
        let n = if kind == 0 { 1 } else { channels };
        let base = 1.0 / (128.0 * 64.0 * (terms.max(1) as f64).sqrt());
        let reals: Vec<f64> = (0..n).map(|_| base * (0.05 + 4.0 * rng.unit())).collect();
        let rounding = if rng.below(2) == 0 {
            Rounding::Single
        } else {
            Rounding::Double
        };
        let q: Vec<(i32, i32)> = reals
            .iter()
            .map(|&r| quantize_multiplier_for(r, rounding).unwrap())
            .collect();
        let input_offset = match rng.below(4) {
            0 => -127,
            1 => 128,
            _ => rng.below(256) as i32 - 127,
        };
        let act = match rng.below(3) {
            0 => (-128, 127),
            1 => (-20, 127),
            _ => (-100, 30),
        };
        Quant {
            kind,
            mults: q.iter().map(|m| m.0).collect(),
            shifts: q.iter().map(|m| m.1).collect(),
            scales: reals
                .iter()
                .map(|&r| FloatScale::from_f64(r).unwrap())
                .collect(),
            rounding,
            input_offset,
            output_offset: rng.below(256) as i32 - 128,
            act,
        }
    }

    fn params(&self) -> DenseS8Params<'_> {
        DenseS8Params {
            input_offset: self.input_offset,
            output_offset: self.output_offset,
            act_min: self.act.0,
            act_max: self.act.1,
            multipliers: match self.kind {
                0 => Multipliers::PerTensor {
                    multiplier: self.mults[0],
                    shift: self.shifts[0],
                },
                1 => Multipliers::PerChannel {
                    multipliers: &self.mults,
                    shifts: &self.shifts,
                },
                _ => Multipliers::FloatPerChannel {
                    scales: &self.scales,
                },
            },
            rounding: self.rounding,
        }
    }
}

/// A size from 1, small ones most often.
fn size(rng: &mut Rng, max: u64) -> usize {
    1 + if rng.below(3) == 0 {
        rng.below(max)
    } else {
        rng.below(max.min(4))
    } as usize
}

/// A random 2-D window over at least one output (a `valid` kernel that
/// does not fit is drawn again).
fn window(rng: &mut Rng) -> Window2d {
    loop {
        let w = Window2d {
            height: size(rng, 9),
            width: size(rng, 9),
            kernel_size: (size(rng, 5), size(rng, 5)),
            strides: (size(rng, 3), size(rng, 3)),
            dilation: (size(rng, 3), size(rng, 3)),
            padding: if rng.below(2) == 0 {
                Padding::Valid
            } else {
                Padding::Same
            },
        };
        if w.plane().is_ok() {
            return w;
        }
    }
}

fn bias_of(rng: &mut Rng, n: usize) -> Option<Vec<i32>> {
    match rng.below(3) {
        0 => None,
        1 => Some(
            (0..n)
                .map(|_| rng.below(1 << 16) as i32 - (1 << 15))
                .collect(),
        ),
        _ => Some((0..n).map(|_| rng.next_u64() as u32 as i32).collect()),
    }
}

#[test]
fn conv2d_fast_matches_the_reference() {
    let mut rng = Rng(0x5eed_c0a7_2d00_0001);
    for case in 0..3000 {
        let win = window(&mut rng);
        let cin = size(&mut rng, 20);
        let filters = match case % 50 {
            0 => 64 + size(&mut rng, 70), // past one block of 64
            _ => size(&mut rng, 19),
        };
        let spec = Conv2d {
            window: win,
            in_channels: cin,
        };
        let extreme = rng.below(4) == 0;
        let x = i8s(&mut rng, win.height * win.width * cin, extreme);
        let (kh, kw) = win.kernel_size;
        let f = i8s(&mut rng, filters * kh * kw * cin, extreme);
        let bias = bias_of(&mut rng, filters);
        let q = Quant::new(&mut rng, filters, kh * kw * cin);
        let p = q.params();
        let plane = win.plane().unwrap();
        let n = plane.out.0 * plane.out.1 * filters;
        let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
        conv2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
        conv2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
        assert_eq!(got, want, "case {case}: {spec:?} filters {filters}");
        // the refusals are the reference's
        let short = &mut got[..n - 1];
        assert_eq!(
            conv2d_s8(&spec, &x, &f, bias.as_deref(), short, &p),
            conv2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want[..n - 1], &p)
        );
    }
}

/// A 1x1 convolution and one that covers the input (one run per output):
/// the dense layer's sizes, every filter count to 9 and channels to 40.
#[test]
fn conv2d_one_run_per_output() {
    let mut rng = Rng(0x5eed_c0a7_2d00_0002);
    for cin in 1..=40 {
        for filters in 1..=9 {
            for full in [false, true] {
                let (h, w) = (1 + cin % 3, 1 + cin % 4);
                let k = if full { (h, w) } else { (1, 1) };
                let spec = Conv2d {
                    window: Window2d {
                        height: h,
                        width: w,
                        kernel_size: k,
                        strides: (1, 1),
                        dilation: (1, 1),
                        padding: Padding::Valid,
                    },
                    in_channels: cin,
                };
                let extreme = filters % 3 == 0;
                let x = i8s(&mut rng, h * w * cin, extreme);
                let f = i8s(&mut rng, filters * k.0 * k.1 * cin, extreme);
                let bias = bias_of(&mut rng, filters);
                let q = Quant::new(&mut rng, filters, k.0 * k.1 * cin);
                let p = q.params();
                let n = (h - k.0 + 1) * (w - k.1 + 1) * filters;
                let (mut want, mut got) = (vec![0i8; n], vec![1i8; n]);
                conv2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
                conv2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
                assert_eq!(got, want, "{spec:?} filters {filters}");
            }
        }
    }
}

#[test]
fn conv1d_fast_matches_the_reference() {
    let mut rng = Rng(0x5eed_c0a7_1d00_0003);
    let mut done = 0;
    while done < 2000 {
        let spec = Conv1d {
            in_channels: size(&mut rng, 20),
            kernel_size: size(&mut rng, 6),
            strides: size(&mut rng, 3),
            dilation: size(&mut rng, 3),
            padding: [Padding::Valid, Padding::Same, Padding::Causal][rng.below(3) as usize],
        };
        let steps = size(&mut rng, 20);
        let filters = size(&mut rng, 13);
        let extreme = rng.below(4) == 0;
        let x = i8s(&mut rng, steps * spec.in_channels, extreme);
        let f = i8s(
            &mut rng,
            filters * spec.kernel_size * spec.in_channels,
            extreme,
        );
        let bias = bias_of(&mut rng, filters);
        let q = Quant::new(&mut rng, filters, spec.kernel_size * spec.in_channels);
        let p = q.params();
        let Ok((_, steps_out, _, _)) = spec.shape(x.len(), f.len()) else {
            continue;
        };
        let n = steps_out * filters;
        let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
        conv1d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
        conv1d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
        assert_eq!(got, want, "{spec:?} steps {steps} filters {filters}");
        done += 1;
    }
}

#[test]
fn depthwise2d_fast_matches_the_reference() {
    let mut rng = Rng(0x5eed_c0a7_d200_0004);
    for case in 0..3000 {
        let mut win = window(&mut rng);
        if case % 40 == 0 {
            // more taps than the loop keeps on the stack (32)
            win = Window2d {
                height: 4 + size(&mut rng, 6),
                width: 4 + size(&mut rng, 6),
                kernel_size: (6, 6),
                strides: (1, size(&mut rng, 2)),
                dilation: (1, 1),
                padding: Padding::Same,
            };
        }
        let cin = size(&mut rng, 19);
        let dm = if rng.below(2) == 0 {
            1
        } else {
            size(&mut rng, 4)
        };
        let spec = Depthwise2d {
            window: win,
            in_channels: cin,
            depth_multiplier: dm,
        };
        let cout = cin * dm;
        let extreme = rng.below(4) == 0;
        let x = i8s(&mut rng, win.height * win.width * cin, extreme);
        let (kh, kw) = win.kernel_size;
        let f = i8s(&mut rng, kh * kw * cout, extreme);
        let bias = bias_of(&mut rng, cout);
        let q = Quant::new(&mut rng, cout, kh * kw);
        let p = q.params();
        let plane = win.plane().unwrap();
        let n = plane.out.0 * plane.out.1 * cout;
        let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
        depthwise2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
        depthwise2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
        assert_eq!(got, want, "case {case}: {spec:?}");
        let short = &mut got[..n - 1];
        assert_eq!(
            depthwise2d_s8(&spec, &x, &f, bias.as_deref(), short, &p),
            depthwise2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want[..n - 1], &p)
        );
    }
}

/// Sums that wrap: every input and weight at an extreme, `x + offset`
/// at -255 or 255, a kernel long enough to pass 2^31 (72,000 products of
/// up to 32,640): the same wrapped values as the reference.
#[test]
fn wrapping_sums() {
    let mut rng = Rng(0x5eed_c0a7_0000_0005);
    let (h, w, cin) = (3, 3, 8000);
    let spec = Conv2d {
        window: Window2d {
            height: h,
            width: w,
            kernel_size: (3, 3),
            strides: (1, 1),
            dilation: (1, 1),
            padding: Padding::Same,
        },
        in_channels: cin,
    };
    let filters = 5;
    let f: Vec<i8> = (0..filters * 9 * cin)
        .map(|i| if i % 97 == 0 { 127 } else { -128 })
        .collect();
    let q = Quant::new(&mut rng, filters, 1);
    for (xv, off) in [(-128i8, -127), (127, 128)] {
        let x = vec![xv; h * w * cin];
        let p = DenseS8Params {
            input_offset: off,
            ..q.params()
        };
        let n = h * w * filters;
        let (mut want, mut got) = (vec![0i8; n], vec![1i8; n]);
        conv2d_s8_reference(&spec, &x, &f, None, &mut want, &p).unwrap();
        conv2d_s8(&spec, &x, &f, None, &mut got, &p).unwrap();
        assert_eq!(got, want);
    }
}

/// The requantization of the fast loop's blocks (with the 64-bit product,
/// and with 16x16 products as on cores without one) against LiteRT's
/// double-rounding `MultiplyByQuantizedMultiplier` (requant.rs), on edge
/// and random values and every shift (and some out of range, which both
/// clamp).
#[test]
fn split_requantization_is_double_rounding() {
    use anne::layers::conv2d_s8::{requantize_double, requantize_double_split};
    use anne::math::requant::multiply_by_quantized_multiplier;
    let mut rng = Rng(0x5eed_c0a7_0000_0006);
    let edges = [i32::MIN, i32::MIN + 1, -(1 << 30), -65537, -65536, -3, -1, 0, 1, 2, 65535, 65536, 1 << 30, i32::MAX];
    let mut xs: Vec<i32> = edges.to_vec();
    let mut ms: Vec<i32> = edges.to_vec();
    for _ in 0..300 {
        xs.push(rng.next_u64() as u32 as i32);
        xs.push((rng.next_u64() as u32 as i32) >> rng.below(31));
        ms.push((1 << 30) + rng.below(1 << 30) as i32);
        ms.push(rng.next_u64() as u32 as i32);
    }
    for &x in &xs {
        for &m in &ms {
            for shift in [-40, -32, -31, -30, -17, -8, -1, 0, 1, 2, 7, 30, 31, 32, 40] {
                let want = multiply_by_quantized_multiplier(x, m, shift);
                assert_eq!(requantize_double_split(x, m, shift), want, "{x} {m} {shift}");
                assert_eq!(requantize_double(x, m, shift), want, "{x} {m} {shift}");
            }
        }
    }
}

/// DepthwiseConv2D with a multiplier of 1 over every channel count to 70
/// (the boards' four-channel groups and their remainders, past one block
/// of 64), random windows, extreme values and offsets.
#[test]
fn depthwise2d_channel_counts() {
    let mut rng = Rng(0x5eed_c0a7_d200_0007);
    for cin in 1..=70 {
        for _ in 0..4 {
            let win = window(&mut rng);
            let spec = Depthwise2d {
                window: win,
                in_channels: cin,
                depth_multiplier: 1,
            };
            let extreme = rng.below(3) == 0;
            let x = i8s(&mut rng, win.height * win.width * cin, extreme);
            let (kh, kw) = win.kernel_size;
            let f = i8s(&mut rng, kh * kw * cin, extreme);
            let bias = bias_of(&mut rng, cin);
            let q = Quant::new(&mut rng, cin, kh * kw);
            let p = q.params();
            let plane = win.plane().unwrap();
            let n = plane.out.0 * plane.out.1 * cin;
            let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
            depthwise2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
            depthwise2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
            assert_eq!(got, want, "{spec:?}");
        }
    }
}

/// The 1x1 convolution's matrix-product path (src/layers/pointwise_s8.rs:
/// two positions by four filters, the input offset folded into the bias)
/// against the reference loop: odd position counts (the last position
/// paired with the one before), filters from 1 (under four: the other
/// loop) to 13 (not multiples of four: the last group overlaps), channels
/// past one call's 255 (two and three calls), strides (1, 1), (2, 1) (rows
/// of pairs) and others (the other loop), `valid` and `same`, every kind
/// of quantization (the path takes Q31 double rounding; the others and a
/// multiplier `i32::MIN` fall back), extreme values and offsets.
#[test]
fn conv2d_pointwise_matches_the_reference() {
    let mut rng = Rng(0x5eed_c0a7_0001_0008);
    for case in 0..1500 {
        let cin = match case % 10 {
            0 => 250 + rng.below(270) as usize, // one to three calls of 255
            1 => 255,
            _ => size(&mut rng, 40),
        };
        let filters = size(&mut rng, 13);
        let strides = match rng.below(5) {
            0 | 1 => (1, 1),
            2 => (1 + rng.below(3) as usize, 1),
            3 => (1, 2),
            _ => (2, 2),
        };
        let (h, w) = (size(&mut rng, 7), size(&mut rng, 7));
        let spec = Conv2d {
            window: Window2d {
                height: h,
                width: w,
                kernel_size: (1, 1),
                strides,
                dilation: (size(&mut rng, 2), size(&mut rng, 2)),
                padding: if rng.below(2) == 0 { Padding::Valid } else { Padding::Same },
            },
            in_channels: cin,
        };
        let extreme = rng.below(4) == 0;
        let x = i8s(&mut rng, h * w * cin, extreme);
        let f = i8s(&mut rng, filters * cin, extreme);
        let bias = bias_of(&mut rng, filters);
        let mut q = Quant::new(&mut rng, filters, cin);
        if case % 7 == 0 {
            q.rounding = Rounding::Double;
            if q.mults.len() == filters {
                q.kind = 1;
            }
        }
        if case % 97 == 3 {
            // the multiplier whose square saturates: the other loop
            let k = rng.below(q.mults.len() as u64) as usize;
            q.mults[k] = i32::MIN;
            q.rounding = Rounding::Double;
            q.kind = q.kind.min(1);
        }
        let p = q.params();
        let plane = spec.window.plane().unwrap();
        let n = plane.out.0 * plane.out.1 * filters;
        let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
        conv2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
        conv2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
        assert_eq!(got, want, "case {case}: {spec:?} filters {filters}");
    }
}

/// The packed sums of the 1x1 path (`x0 + x1 * 2^23` per channel, one
/// 64-bit multiply-add per weight for both positions) taken apart equal the
/// plain sums, at the largest magnitudes one call allows (255 channels,
/// every product `(-128) * (-128)` or `(-128) * 127`) and on random rows.
#[test]
fn packed_pair_sums_come_apart() {
    use anne::math::caps::{pair4_packed_portable, unpack_pair, PAIR_MAX_N};
    let mut rng = Rng(0x5eed_c0a7_0001_0009);
    for case in 0..400 {
        let n = match case % 4 {
            0 => PAIR_MAX_N,
            _ => 1 + rng.below(PAIR_MAX_N as u64) as usize,
        };
        let s = n + rng.below(5) as usize;
        let extreme = case % 3 != 2;
        let mut xs = i8s(&mut rng, 2 * s, extreme);
        let mut ws = i8s(&mut rng, 4 * s, extreme);
        if case < 8 {
            // every product at one extreme
            let (xv, wv) = [(-128, -128), (-128, 127), (127, -128), (127, 127)][case % 4];
            xs.fill(xv);
            ws.fill(wv);
            if case >= 4 {
                xs[s..].fill(if xv == 127 { -128 } else { 127 });
            }
        }
        let packed = pair4_packed_portable(&xs, &ws, s, n).unwrap();
        for (fi, &v) in packed.iter().enumerate() {
            let plain = |p: usize| -> i32 {
                (0..n).map(|i| ws[fi * s + i] as i32 * xs[p * s + i] as i32).sum()
            };
            assert_eq!(unpack_pair(v), (plain(0), plain(1)), "case {case} n {n}");
        }
    }
    assert_eq!(pair4_packed_portable(&[0; 600], &[0; 2000], 300, PAIR_MAX_N + 1), None);
    assert_eq!(pair4_packed_portable(&[0; 9], &[0; 20], 5, 5), None);
}

/// The per-channel requantization constants of the 1x1 path against
/// LiteRT's double-rounding `MultiplyByQuantizedMultiplier`, on edge and
/// random values, every shift (out of range too, clamped by both).
#[test]
fn chan_q_is_double_rounding() {
    use anne::layers::pointwise_s8::{folded, ChanQ};
    use anne::math::requant::multiply_by_quantized_multiplier;
    let mut rng = Rng(0x5eed_c0a7_0001_000a);
    let edges = [i32::MIN, i32::MIN + 1, -(1 << 30), -65537, -3, -1, 0, 1, 2, 65536, 1 << 30, i32::MAX];
    let mut xs: Vec<i32> = edges.to_vec();
    let mut ms: Vec<i32> = edges[1..].to_vec();
    for _ in 0..200 {
        xs.push(rng.next_u64() as u32 as i32);
        xs.push((rng.next_u64() as u32 as i32) >> rng.below(31));
        ms.push((1 << 30) + rng.below(1 << 30) as i32);
        ms.push((rng.next_u64() as u32 as i32).max(i32::MIN + 1));
    }
    assert!(ChanQ::new(i32::MIN, 0, 0).is_none());
    for &x in &xs {
        for &m in &ms {
            for shift in [-40, -31, -30, -24, -23, -22, -17, -8, -2, -1, 0, 1, 2, 7, 30, 31, 40] {
                let b = (x as u32).rotate_left(7) as i32;
                let c = ChanQ::new(m, shift, b).unwrap();
                let want = multiply_by_quantized_multiplier(x.wrapping_add(b), m, shift);
                assert_eq!(c.requantize(x), want, "{x} {m} {shift}");
                for zo in [-128, -1, 0, 5, 127] {
                    if (-23..=-1).contains(&shift) {
                        let r = (-shift) as u32;
                        let f = folded(x.wrapping_add(b), m, ChanQ::h_zo(r, zo), r - 1);
                        assert_eq!(f, want + zo, "folded {x} {m} {shift} {zo}");
                    }
                    match c.with_offset(zo) {
                        Some(f) => assert_eq!(f.requantize_offset(x), want + zo, "{x} {m} {shift} {zo}"),
                        None => assert!(!(-23..=-1).contains(&shift), "{shift}"),
                    }
                }
            }
        }
    }
    // the multiplier ChanQ refuses, by `folded` (conv2d_s8's finish_block)
    for &x in &xs {
        for shift in -23..=-1 {
            for zo in [-128, 0, 127] {
                let r = (-shift) as u32;
                let want = multiply_by_quantized_multiplier(x, i32::MIN, shift) + zo;
                assert_eq!(folded(x, i32::MIN, ChanQ::h_zo(r, zo), r - 1), want, "{x} MIN {shift}");
            }
        }
    }
}

/// The pairs-of-positions path of any kernel (src/layers/im2col_s8.rs:
/// two windows copied as two filter-length rows, taps outside at the zero
/// point) against the reference loop: Q31 per-channel or per-tensor
/// multipliers with double rounding (the path's), random windows (padding,
/// strides, dilation; windows inside and across the border), filter counts
/// from 4 past blocks of 16 (the last group and block overlapping),
/// filter rows past one call's 255 values and around the path's 576, the
/// whole int8 range (SSAT on Thumb-2) and narrower clamps.
#[test]
fn conv2d_pairs_match_the_reference() {
    let mut rng = Rng(0x5eed_c0a7_0001_000b);
    for case in 0..1500 {
        let win = window(&mut rng);
        let (kh, kw) = win.kernel_size;
        let cin = match case % 8 {
            0 => 570 / (kh * kw) + rng.below(3) as usize, // rows around 576
            1 => 250 / (kh * kw) + 1 + rng.below(20) as usize,
            _ => size(&mut rng, 20),
        };
        let filters = 4 + match case % 5 {
            0 => rng.below(70) as usize,
            _ => rng.below(9) as usize,
        };
        let spec = Conv2d {
            window: win,
            in_channels: cin,
        };
        let extreme = rng.below(4) == 0;
        let x = i8s(&mut rng, win.height * win.width * cin, extreme);
        let f = i8s(&mut rng, filters * kh * kw * cin, extreme);
        let bias = bias_of(&mut rng, filters);
        let mut q = Quant::new(&mut rng, filters, kh * kw * cin);
        q.rounding = Rounding::Double;
        q.kind = if q.mults.len() == filters { 1 } else { 0 };
        if case % 3 == 0 {
            q.act = (-128, 127);
        }
        let p = q.params();
        let plane = win.plane().unwrap();
        let n = plane.out.0 * plane.out.1 * filters;
        let (mut want, mut got) = (vec![0x55i8; n], vec![0x33i8; n]);
        conv2d_s8_reference(&spec, &x, &f, bias.as_deref(), &mut want, &p).unwrap();
        conv2d_s8(&spec, &x, &f, bias.as_deref(), &mut got, &p).unwrap();
        assert_eq!(got, want, "case {case}: {spec:?} filters {filters}");
    }
}
