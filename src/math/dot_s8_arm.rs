//! The four-row int8 dot product of [`super::dot_s8`] as Armv7-M assembly
//! (Cortex-M3, and the M7/M33 class without the DSP path): compiled for
//! Thumb-2 targets only (src/math/caps.rs declares this module).
//!
//! Register pressure is why it is assembly: four accumulators, the input,
//! its offset and two row pointers with one stride (rows 0 and 2 by
//! pointer, rows 1 and 3 at the stride from them) fill the twelve
//! registers inline assembly may use, where the compiled Rust loop kept
//! five pointers and spilled to the stack. Two inputs per step, each
//! loaded once, its offset added once, for four `MLA`s: 22 instructions
//! per 8 multiply-adds (the compiled loop took about 55 per 16).

/// `sum_i block[r * n + i] * (x[i] + off)` for `r` in 0..4, wrapping,
/// `n = x.len()`; `None` unless `block` holds exactly four rows of `n`
/// (the caller then takes the portable path).
#[inline(always)]
pub fn dot4(x: &[i8], block: &[i8], off: i32) -> Option<[i32; 4]> {
    let n = x.len();
    if n == 0 || n.checked_mul(4) != Some(block.len()) {
        return None;
    }
    let rows23 = block.get(2 * n..)?;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    let pairs = n / 2;
    if pairs > 0 {
        let (mut px, mut p0, mut p2) = (x.as_ptr(), block.as_ptr(), rows23.as_ptr());
        let mut cnt = pairs;
        // SAFETY: reads 2 * pairs <= n bytes from each of x, block[0..n],
        // block[n..2n], block[2n..3n] and block[3n..4n] (p0 and p2 advance
        // by 2 per step, rows 1 and 3 at +n from them), all in bounds
        // (checked above); no writes, no stack.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldrsb {x}, [{px}], #1",
                "ldrsb {w}, [{p0}, {s}]",
                "add {x}, {off}",
                "mla {a1}, {w}, {x}, {a1}",
                "ldrsb {w}, [{p2}, {s}]",
                "mla {a3}, {w}, {x}, {a3}",
                "ldrsb {w}, [{p0}], #1",
                "mla {a0}, {w}, {x}, {a0}",
                "ldrsb {w}, [{p2}], #1",
                "mla {a2}, {w}, {x}, {a2}",
                "ldrsb {x}, [{px}], #1",
                "ldrsb {w}, [{p0}, {s}]",
                "add {x}, {off}",
                "mla {a1}, {w}, {x}, {a1}",
                "ldrsb {w}, [{p2}, {s}]",
                "mla {a3}, {w}, {x}, {a3}",
                "ldrsb {w}, [{p0}], #1",
                "mla {a0}, {w}, {x}, {a0}",
                "ldrsb {w}, [{p2}], #1",
                "mla {a2}, {w}, {x}, {a2}",
                "subs {cnt}, #1",
                "bne 2b",
                px = inout(reg) px,
                p0 = inout(reg) p0,
                p2 = inout(reg) p2,
                cnt = inout(reg) cnt,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                s = in(reg) n,
                off = in(reg) off,
                x = out(reg) _,
                w = out(reg) _,
                options(readonly, nostack),
            );
        }
        let _ = (px, p0, p2, cnt);
    }
    if let (1, Some(&xl)) = (n % 2, x.last()) {
        // the last input (n odd)
        let v = xl as i32 + off;
        let w = |r: usize| block.get(r * n + n - 1).map_or(0, |&w| w as i32);
        a0 = a0.wrapping_add(w(0) * v);
        a1 = a1.wrapping_add(w(1) * v);
        a2 = a2.wrapping_add(w(2) * v);
        a3 = a3.wrapping_add(w(3) * v);
    }
    Some([a0, a1, a2, a3])
}
