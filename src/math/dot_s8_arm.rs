//! The four-row int8 dot product of [`super::dot_s8`] in assembly, for
//! Arm cores (src/math/caps.rs declares this module
//! on Arm targets and picks the function): [`dot4_dsp`] with the DSP
//! extension (Cortex-M4/M7/M33), [`dot4_thumb2`] for Armv7-M without it
//! (Cortex-M3), [`dot4_thumb1`] for Armv6-M (Cortex-M0/M0+, the RP2040).
//! None of them can run on the host: the board tests compare them with the
//! pure-Python layer (tests/board/test_int8_fast.py), and the host tests
//! their portable forms (tests/rust/int8_fast.rs).
//!
//! Register pressure is why it is assembly. Thumb-2: four accumulators,
//! the input, its offset and two row pointers with one stride (rows 0 and 2 by
//! pointer, rows 1 and 3 at the stride from them) fill the twelve
//! registers inline assembly may use, where the compiled Rust loop kept
//! five pointers and spilled to the stack. Two inputs per step, each
//! loaded once, its offset added once, for four `MLA`s: 22 instructions
//! per 8 multiply-adds (the compiled loop took about 55 per 16).

/// Whether a block of `len` values holds four rows of `n` values
/// `stride` apart (`3 * stride + n <= len`, without overflow).
#[inline(always)]
fn rows_fit(n: usize, stride: usize, len: usize) -> bool {
    stride
        .checked_mul(3)
        .and_then(|s| s.checked_add(n))
        .is_some_and(|end| end <= len)
}

/// `sum_i block[r * stride + i] * (x[i] + off)` for `r` in 0..4,
/// wrapping, `n = x.len()` (a dense layer's four rows: `stride = n`; a
/// convolution's, the same run of four filters: `stride` = the filter's
/// length); `None` unless `block` holds the four rows ([`rows_fit`]; the
/// caller then takes the portable path).
#[cfg(all(target_feature = "thumb2", not(target_feature = "dsp")))]
#[inline(always)]
pub fn dot4_thumb2(x: &[i8], block: &[i8], stride: usize, off: i32) -> Option<[i32; 4]> {
    let n = x.len();
    if n == 0 || !rows_fit(n, stride, block.len()) {
        return None;
    }
    let rows23 = block.get(2 * stride..)?;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    let pairs = n / 2;
    if pairs > 0 {
        let (mut px, mut p0, mut p2) = (x.as_ptr(), block.as_ptr(), rows23.as_ptr());
        let mut cnt = pairs;
        // SAFETY: reads 2 * pairs <= n bytes from x and from each row
        // block[r * stride..r * stride + n] (p0 and p2 advance by 2 per
        // step, rows 1 and 3 at +stride from them), all in bounds (checked
        // above); no writes, no stack.
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
                s = in(reg) stride,
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
        let w = |r: usize| block.get(r * stride + n - 1).map_or(0, |&w| w as i32);
        a0 = a0.wrapping_add(w(0) * v);
        a1 = a1.wrapping_add(w(1) * v);
        a2 = a2.wrapping_add(w(2) * v);
        a3 = a3.wrapping_add(w(3) * v);
    }
    Some([a0, a1, a2, a3])
}

/// [`dot4_thumb2`] for Armv6-M (Thumb-1): one input per step, loaded once
/// and offset once for the four rows (`LDRSB` with a register offset,
/// `MULS`, and an `ADD` into a high register per multiply-add: 16
/// instructions per 4 multiply-adds). Thumb-1's `LDRSB` and `MULS` take low
/// registers only, and inline assembly may name just r0-r5 there: the five
/// row and input pointers and the index fill those, r6 and r7 are the two
/// temporaries and r8-r11 the sums, r12 the offset; the block saves and
/// restores r6-r12 on the stack itself (22 instructions per call, about
/// 5.5 per output).
#[cfg(not(target_feature = "thumb2"))]
#[inline(always)]
pub fn dot4_thumb1(x: &[i8], block: &[i8], stride: usize, off: i32) -> Option<[i32; 4]> {
    let n = x.len();
    if n == 0 || !rows_fit(n, stride, block.len()) {
        return None;
    }
    // the input's end, row 0's end, the stride, the offset, n (rows 1-3
    // at +stride each)
    let params: [usize; 5] = [
        x.as_ptr_range().end as usize,
        block.as_ptr() as usize + n,
        stride,
        off as usize,
        n,
    ];
    let (a0, a1, a2, a3): (i32, i32, i32, i32);
    // SAFETY: reads x[0..n] and block[r * stride..r * stride + n] for r in
    // 0..4 (index -n..-1 from each row's end, the rows `stride` apart),
    // all in bounds (checked above), and params;
    // r6-r12 are saved on the stack first and restored last, the stack
    // pointer restored; r0-r5 are declared.
    unsafe {
        core::arch::asm!(
            "push {{r6, r7}}",
            "mov r6, r8",
            "mov r7, r9",
            "push {{r6, r7}}",
            "mov r6, r10",
            "mov r7, r11",
            "push {{r6, r7}}",
            "mov r6, r12",
            "push {{r6, r7}}",
            "ldr r1, [r0, #4]",
            "ldr r2, [r0, #8]",
            "ldr r3, [r0, #12]",
            "mov r12, r3",
            "adds r3, r1, r2",
            "adds r4, r3, r2",
            "adds r5, r4, r2",
            "ldr r2, [r0, #16]",
            "ldr r0, [r0, #0]",
            "negs r2, r2",
            "movs r6, #0",
            "mov r8, r6",
            "mov r9, r6",
            "mov r10, r6",
            "mov r11, r6",
            "2:",
            "ldrsb r6, [r0, r2]",
            "add r6, r12",
            "ldrsb r7, [r1, r2]",
            "muls r7, r6, r7",
            "add r8, r7",
            "ldrsb r7, [r3, r2]",
            "muls r7, r6, r7",
            "add r9, r7",
            "ldrsb r7, [r4, r2]",
            "muls r7, r6, r7",
            "add r10, r7",
            "ldrsb r7, [r5, r2]",
            "muls r7, r6, r7",
            "add r11, r7",
            "adds r2, #1",
            "bne 2b",
            "mov r0, r8",
            "mov r1, r9",
            "mov r2, r10",
            "mov r3, r11",
            "pop {{r6, r7}}",
            "mov r12, r6",
            "pop {{r6, r7}}",
            "mov r10, r6",
            "mov r11, r7",
            "pop {{r6, r7}}",
            "mov r8, r6",
            "mov r9, r7",
            "pop {{r6, r7}}",
            inout("r0") params.as_ptr() => a0,
            lateout("r1") a1,
            lateout("r2") a2,
            lateout("r3") a3,
            out("r4") _,
            out("r5") _,
            options(readonly),
        );
    }
    Some([a0, a1, a2, a3])
}

/// [`dot4_thumb2`] with Arm's DSP extension (Cortex-M4/M7/M33): four
/// inputs per step, loaded as one word and widened with the offset into two
/// 16-bit pairs (SXTAB16), each row's word into two pairs (SXTB16), two
/// SMLADs per row: 27 instructions per 16 multiply-adds. The twelve
/// registers hold the pointers, the stride, the sums and four temporaries;
/// the offset pair and the input's end live on the stack (pushed by the
/// block, one load each per step; where the Thumb-2 loop adds the offset
/// once per input, SXTAB16 adds it to two inputs in the widening itself). The last `n % 4` inputs in Rust.
#[cfg(target_feature = "dsp")]
#[inline(always)]
pub fn dot4_dsp(x: &[i8], block: &[i8], stride: usize, off: i32) -> Option<[i32; 4]> {
    let n = x.len();
    if n == 0 || !rows_fit(n, stride, block.len()) {
        return None;
    }
    let rows23 = block.get(2 * stride..)?;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    let quads = n / 4;
    if quads > 0 {
        let off2 = (off as u32 & 0xffff).wrapping_mul(0x0001_0001);
        let (mut px, mut p0, mut p2) = (x.as_ptr(), block.as_ptr(), rows23.as_ptr());
        // (the input's last word's end: px stops there)
        let end = x.as_ptr().wrapping_add(4 * quads);
        // SAFETY: reads 4 * quads <= n bytes from x and from each row
        // block[r * stride..r * stride + n] (p0 and p2 advance by 4 per
        // step, rows 1 and 3 at +stride from them), all in bounds (checked
        // above); word loads at any alignment (Armv7-M's LDR
        // takes unaligned addresses); two words pushed and popped.
        unsafe {
            core::arch::asm!(
                "push {{{xe}}}",
                "push {{{xo}}}",
                "2:",
                "ldr {xe}, [{px}], #4",
                "ldr {w}, [sp]",
                "sxtab16 {xo}, {w}, {xe}, ror #8",
                "sxtab16 {xe}, {w}, {xe}",
                "ldr {w}, [{p0}, {s}]",
                "sxtb16 {t}, {w}",
                "smlad {a1}, {t}, {xe}, {a1}",
                "sxtb16 {t}, {w}, ror #8",
                "smlad {a1}, {t}, {xo}, {a1}",
                "ldr {w}, [{p2}, {s}]",
                "sxtb16 {t}, {w}",
                "smlad {a3}, {t}, {xe}, {a3}",
                "sxtb16 {t}, {w}, ror #8",
                "smlad {a3}, {t}, {xo}, {a3}",
                "ldr {w}, [{p0}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a0}, {t}, {xe}, {a0}",
                "sxtb16 {t}, {w}, ror #8",
                "smlad {a0}, {t}, {xo}, {a0}",
                "ldr {w}, [{p2}], #4",
                "sxtb16 {t}, {w}",
                "smlad {a2}, {t}, {xe}, {a2}",
                "sxtb16 {t}, {w}, ror #8",
                "smlad {a2}, {t}, {xo}, {a2}",
                "ldr {w}, [sp, #4]",
                "cmp {px}, {w}",
                "bne 2b",
                "add sp, #8",
                px = inout(reg) px,
                p0 = inout(reg) p0,
                p2 = inout(reg) p2,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                s = in(reg) stride,
                // (the end and the offset pair come in the two temporaries'
                // registers, pushed first: [sp] the pair, [sp, #4] the end)
                xe = inout(reg) end => _,
                xo = inout(reg) off2 => _,
                w = out(reg) _,
                t = out(reg) _,
                options(readonly),
            );
        }
        let _ = (px, p0, p2);
    }
    // the last n % 4 inputs
    for (i, &v) in x.iter().enumerate().skip(4 * quads) {
        let v = v as i32 + off;
        let w = |r: usize| block.get(r * stride + i).map_or(0, |&w| w as i32);
        a0 = a0.wrapping_add(w(0) * v);
        a1 = a1.wrapping_add(w(1) * v);
        a2 = a2.wrapping_add(w(2) * v);
        a3 = a3.wrapping_add(w(3) * v);
    }
    Some([a0, a1, a2, a3])
}

/// The rows of a depthwise output position's taps for the four-channel
/// sums of [`TapAddrs::sum4`]: each tap's input row and weight row as two
/// addresses, every input row at least `len_x` values long and every
/// weight row `len_w` (the rows are borrowed for `'a`;
/// [`TapAddrs::push_at`] keeps the shortest lengths), up to
/// [`TAP_ADDRS`] taps.
#[cfg(target_feature = "thumb2")]
pub struct TapAddrs<'a> {
    rows: [[usize; 2]; TAP_ADDRS],
    n: usize,
    len_x: usize,
    len_w: usize,
    _rows: core::marker::PhantomData<&'a [i8]>,
}

/// How many taps a [`TapAddrs`] holds.
#[cfg(target_feature = "thumb2")]
pub const TAP_ADDRS: usize = 32;

#[cfg(target_feature = "thumb2")]
impl<'a> TapAddrs<'a> {
    /// No taps.
    #[inline(always)]
    pub fn new() -> Self {
        TapAddrs {
            rows: [[0; 2]; TAP_ADDRS],
            n: 0,
            len_x: 0,
            len_w: 0,
            _rows: core::marker::PhantomData,
        }
    }

    /// Forgets the taps; rows pushed from now on are at least `len` long.
    #[inline(always)]
    pub fn clear(&mut self, len: usize) {
        (self.n, self.len_x, self.len_w) = (0, len, len);
    }

    /// Moves every input row `d` values on (the next output position's
    /// taps when the window moves inside the input); the rows' shortest
    /// length shrinks by `d` (no taps left if shorter than `d`).
    #[inline(always)]
    pub fn shift_x(&mut self, d: usize) {
        match self.len_x.checked_sub(d) {
            Some(l) => {
                self.len_x = l;
                for r in self.rows.iter_mut().take(self.n) {
                    r[0] = r[0].wrapping_add(d);
                }
            }
            None => self.clear(0),
        }
    }

    /// Adds a tap's rows `x[xi..]` and `w[wi..]` (`false`, nothing added,
    /// when full or an offset is past its slice's end).
    #[inline(always)]
    pub fn push_at(&mut self, x: &'a [i8], xi: usize, w: &'a [i8], wi: usize) -> bool {
        let (Some(xl), Some(wl)) = (x.len().checked_sub(xi), w.len().checked_sub(wi)) else {
            return false;
        };
        match self.rows.get_mut(self.n) {
            Some(r) => {
                *r = [x.as_ptr() as usize + xi, w.as_ptr() as usize + wi];
                (self.len_x, self.len_w) = (self.len_x.min(xl), self.len_w.min(wl));
                self.n += 1;
                true
            }
            None => false,
        }
    }

    /// `sum over taps of ws[c + k] * (xs[c + k] + off)` for `k` in 0..4
    /// (wrapping), the four sums in registers across the taps; `None`
    /// unless every row holds `c + 4` values (then the caller's portable
    /// loop). Thumb-2: per tap its two addresses (LDRD), then
    /// per channel `LDRSB`, `LDRSB`, `ADD` (the offset), `MLA`: 21
    /// instructions per tap of four channels.
    #[cfg(not(target_feature = "dsp"))]
    #[inline(always)]
    pub fn sum4(&self, c: usize, off: i32) -> Option<[i32; 4]> {
        if c.checked_add(4)? > self.len_x.min(self.len_w) {
            return None;
        }
        let rows = self.rows.get(..self.n)?;
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        if !rows.is_empty() {
            let range = rows.as_ptr_range();
            // SAFETY: each tap's two addresses start rows borrowed for 'a
            // of at least `len >= c + 4` values (push, checked above): the
            // loop reads bytes c..c + 4 of each, and the addresses
            // themselves from `rows` (LDRD: the array is word-aligned).
            // No writes, no stack.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "ldrd {px}, {pw}, [{tp}], #8",
                    "add {px}, {c}",
                    "add {pw}, {c}",
                    "ldrsb {t}, [{px}]",
                    "ldrsb {u}, [{pw}]",
                    "add {t}, {off}",
                    "mla {a0}, {t}, {u}, {a0}",
                    "ldrsb {t}, [{px}, #1]",
                    "ldrsb {u}, [{pw}, #1]",
                    "add {t}, {off}",
                    "mla {a1}, {t}, {u}, {a1}",
                    "ldrsb {t}, [{px}, #2]",
                    "ldrsb {u}, [{pw}, #2]",
                    "add {t}, {off}",
                    "mla {a2}, {t}, {u}, {a2}",
                    "ldrsb {t}, [{px}, #3]",
                    "ldrsb {u}, [{pw}, #3]",
                    "add {t}, {off}",
                    "mla {a3}, {t}, {u}, {a3}",
                    "cmp {tp}, {te}",
                    "bne 2b",
                    tp = inout(reg) range.start => _,
                    te = in(reg) range.end,
                    c = in(reg) c,
                    off = in(reg) off,
                    a0 = inout(reg) a0,
                    a1 = inout(reg) a1,
                    a2 = inout(reg) a2,
                    a3 = inout(reg) a3,
                    px = out(reg) _,
                    pw = out(reg) _,
                    t = out(reg) _,
                    u = out(reg) _,
                    options(readonly, nostack),
                );
            }
        }
        Some([a0, a1, a2, a3])
    }

    /// [`TapAddrs::sum4`] with the DSP extension: per tap the four
    /// inputs and the four weights as one word each, widened into 16-bit
    /// pairs (channels 0 and 2, 1 and 3; SXTAB16 adds the offset: `x +
    /// off` in -255..=255), one SMLABB or SMLATT per channel: 13
    /// instructions per tap of four channels.
    #[cfg(target_feature = "dsp")]
    #[inline(always)]
    pub fn sum4(&self, c: usize, off: i32) -> Option<[i32; 4]> {
        if c.checked_add(4)? > self.len_x.min(self.len_w) {
            return None;
        }
        let rows = self.rows.get(..self.n)?;
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        if !rows.is_empty() {
            let range = rows.as_ptr_range();
            let off2 = (off as u32 & 0xffff).wrapping_mul(0x0001_0001);
            // SAFETY: as the Thumb-2 sum4's (word loads at any alignment:
            // Armv7-M's LDR takes unaligned addresses).
            unsafe {
                core::arch::asm!(
                    "2:",
                    "ldrd {px}, {pw}, [{tp}], #8",
                    "ldr {px}, [{px}, {c}]",
                    "ldr {pw}, [{pw}, {c}]",
                    "sxtab16 {t}, {off2}, {px}",
                    "sxtab16 {px}, {off2}, {px}, ror #8",
                    "sxtb16 {u}, {pw}",
                    "sxtb16 {pw}, {pw}, ror #8",
                    "smlabb {a0}, {t}, {u}, {a0}",
                    "smlatt {a2}, {t}, {u}, {a2}",
                    "smlabb {a1}, {px}, {pw}, {a1}",
                    "smlatt {a3}, {px}, {pw}, {a3}",
                    "cmp {tp}, {te}",
                    "bne 2b",
                    tp = inout(reg) range.start => _,
                    te = in(reg) range.end,
                    c = in(reg) c,
                    off2 = in(reg) off2,
                    a0 = inout(reg) a0,
                    a1 = inout(reg) a1,
                    a2 = inout(reg) a2,
                    a3 = inout(reg) a3,
                    px = out(reg) _,
                    pw = out(reg) _,
                    t = out(reg) _,
                    u = out(reg) _,
                    options(readonly, nostack),
                );
            }
        }
        Some([a0, a1, a2, a3])
    }
}

/// [`dot4_thumb2`] over every group of four rows at once: `acc[4 * g +
/// r] += sum_i block[(4 * g + r) * stride + i] * (x[i] + off)` (wrapping)
/// for `g` in `0..acc.len() / 4` (`acc.len() % 4` sums left alone), the
/// bounds checked once for all the groups (and the odd last input's
/// offset added once) rather than per group; `false`, nothing added,
/// unless `block` holds every row.
#[cfg(all(target_feature = "thumb2", not(target_feature = "dsp")))]
#[inline(always)]
pub fn dot4_groups_thumb2(x: &[i8], block: &[i8], stride: usize, off: i32, acc: &mut [i32]) -> bool {
    let n = x.len();
    let rows = acc.len() / 4 * 4;
    let fits = rows
        .checked_sub(1)
        .and_then(|r| r.checked_mul(stride))
        .and_then(|s| s.checked_add(n))
        .is_some_and(|end| end <= block.len());
    if n == 0 || !fits {
        return false;
    }
    let pairs = n / 2;
    let last = match (n % 2, x.last()) {
        (1, Some(&v)) => Some(v as i32 + off),
        _ => None,
    };
    let (step2, base) = (2 * stride, block.as_ptr());
    for (g, a4) in acc.chunks_exact_mut(4).enumerate() {
        let first = 4 * g * stride; // (row 4g's start: in bounds, checked above)
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        if pairs > 0 {
            let (mut px, mut p0) = (x.as_ptr(), base.wrapping_add(first));
            let mut p2 = p0.wrapping_add(step2);
            let mut cnt = pairs;
            // SAFETY: rows 4g..4g + 4 of `block` hold `n` values each
            // (`(rows - 1) * stride + n <= block.len()`, checked above);
            // reads 2 * pairs <= n bytes of x and of each row, as
            // dot4_thumb2's loop; no writes, no stack.
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
                    s = in(reg) stride,
                    off = in(reg) off,
                    x = out(reg) _,
                    w = out(reg) _,
                    options(readonly, nostack),
                );
            }
            let _ = (px, p0, p2, cnt);
        }
        if let Some(v) = last {
            let w = |r: usize| block.get(first + r * stride + n - 1).map_or(0, |&w| w as i32);
            a0 = a0.wrapping_add(w(0) * v);
            a1 = a1.wrapping_add(w(1) * v);
            a2 = a2.wrapping_add(w(2) * v);
            a3 = a3.wrapping_add(w(3) * v);
        }
        for (a, d) in a4.iter_mut().zip([a0, a1, a2, a3]) {
            *a = a.wrapping_add(d);
        }
    }
    true
}

/// Two input positions by four filters of a 1x1 convolution (a matrix
/// product's tile), the input offset left out (the caller folds it into
/// the bias): for `f` in 0..4, `sum_{i < n} ws[f * s + i] * xs[i]` and
/// `sum_{i < n} ws[f * s + i] * xs[s + i]` (position 1's input `s` values
/// on: the filters' length, a stride-1 row's next position), as one i64
/// per filter, `S0 + S1 * 2^23` ([`super::PAIR_MAX_N`] bounds `n` so that
/// `|S0| < 2^22`; the caller takes them apart). Per channel the two inputs
/// are packed into one register, `X = x0 + x1 * 2^23` (`LDRSB`, `LDRSB`,
/// `ADD` with a shift), and each filter's weight multiplies both at once
/// (`LDRSB`, `SMLAL`): 11 instructions per 8 multiply-adds, the loop's
/// test (the end on the stack) once per two channels. The eight
/// accumulators, the two row pointers, the stride, `X` and a temporary
/// take fourteen registers: the block saves r6 and r7 itself and stores
/// the sums through `out`. `None` unless `xs` holds `s + n` values and
/// `ws` `3 * s + n`, `n` in `1..=PAIR_MAX_N`.
#[cfg(target_feature = "thumb2")]
#[inline(always)]
pub fn pair4_packed(xs: &[i8], ws: &[i8], s: usize, n: usize) -> Option<[i64; 4]> {
    let fits_x = s.checked_add(n).is_some_and(|e| e <= xs.len());
    let fits_w = s.checked_mul(3).and_then(|t| t.checked_add(n)).is_some_and(|e| e <= ws.len());
    if n == 0 || n > super::PAIR_MAX_N || !fits_x || !fits_w {
        return None;
    }
    // x, w, s, n
    let params: [usize; 4] = [xs.as_ptr() as usize, ws.as_ptr() as usize, s, n];
    let mut out = [0i64; 4];
    // SAFETY: reads xs[0..n], xs[s..s + n] and ws[f * s..f * s + n] for f
    // in 0..4 (checked above) and params; writes the 32 bytes of `out`;
    // r6 and r7 are saved on the stack first and restored last, the stack
    // pointer restored (three words and one pushed, four popped); the
    // other registers it writes are declared.
    unsafe {
        core::arch::asm!(
            "push {{r1, r6, r7}}",
            "ldr r1, [r0, #4]",
            "ldr r3, [r0, #8]",
            "ldr r4, [r0, #12]",
            "ldr r0, [r0, #0]",
            "add r2, r1, r3, lsl #1",
            "movs r5, #0",
            "mov r6, r5",
            "mov r7, r5",
            "mov r8, r5",
            "mov r9, r5",
            "mov r10, r5",
            "mov r11, r5",
            "mov r12, r5",
            "mov lr, r5",
            "tst r4, #1",
            "add r4, r0",
            "push {{r4}}",
            "beq 3f",
            // one channel (n odd)
            "ldrsb r4, [r0, r3]",
            "ldrsb r5, [r0], #1",
            "add r4, r5, r4, lsl #23",
            "ldrsb r5, [r1, r3]",
            "smlal r8, r9, r5, r4",
            "ldrsb r5, [r2, r3]",
            "smlal r12, lr, r5, r4",
            "ldrsb r5, [r1], #1",
            "smlal r6, r7, r5, r4",
            "ldrsb r5, [r2], #1",
            "smlal r10, r11, r5, r4",
            "3:",
            "ldr r5, [sp]",
            "cmp r0, r5",
            "beq 4f",
            // two channels per step
            "2:",
            "ldrsb r4, [r0, r3]",
            "ldrsb r5, [r0], #1",
            "add r4, r5, r4, lsl #23",
            "ldrsb r5, [r1, r3]",
            "smlal r8, r9, r5, r4",
            "ldrsb r5, [r2, r3]",
            "smlal r12, lr, r5, r4",
            "ldrsb r5, [r1], #1",
            "smlal r6, r7, r5, r4",
            "ldrsb r5, [r2], #1",
            "smlal r10, r11, r5, r4",
            "ldrsb r4, [r0, r3]",
            "ldrsb r5, [r0], #1",
            "add r4, r5, r4, lsl #23",
            "ldrsb r5, [r1, r3]",
            "smlal r8, r9, r5, r4",
            "ldrsb r5, [r2, r3]",
            "smlal r12, lr, r5, r4",
            "ldrsb r5, [r1], #1",
            "smlal r6, r7, r5, r4",
            "ldrsb r5, [r2], #1",
            "smlal r10, r11, r5, r4",
            "ldr r5, [sp]",
            "cmp r0, r5",
            "bne 2b",
            "4:",
            "ldr r4, [sp, #4]",
            "stm r4, {{r6, r7, r8, r9, r10, r11, r12, lr}}",
            "add sp, #4",
            "pop {{r1, r6, r7}}",
            inout("r0") params.as_ptr() => _,
            inout("r1") out.as_mut_ptr() => _,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("lr") _,
        );
    }
    Some(out)
}
