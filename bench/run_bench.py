#!/usr/bin/env python3
"""Instruction counts of anne, its pure-MicroPython fallback and emlearn's
eml_net on the emulated Cortex-M3 (MPS2-AN385), Cortex-M0 (nRF51) and
Cortex-M4F (MPS2-AN386, hard float), and of anne and its fallback on a
32-bit RISC-V core (qemu's virt machine, MicroPython's VIRT_RV32 board,
rv32imac, soft float; no emlearn there).

    bench/run_bench.py [--out build/bench] [--targets cortex-m3,cortex-m0,cortex-m4f,riscv32] [--only int8]

Needs the firmwares that `make bench` builds under build/bench/:
  <target>/firmware.elf        anne + frozen anne_net + emlearn_bench
  <target>-plain/firmware.elf  emlearn_bench only (no anne): same flags, heap
and for riscv32 the tests' firmware build/riscv32/firmware.elf (`make
qemu-rv32`) and the stock one build/riscv32-stock/firmware.elf (`make
qemu-rv32-stock`, the "plain" firmware of the float loop and the size).
For every target, the stock firmware and anne.mpy (`make stock natmod`:
build/TARGET-stock, build/natmod/ARCH and ARCH-lite).
Writes <out>/results.json, <out>/summary.md, <out>/instructions.png and
prints the tables. Exit status 1 if two runs of a firmware disagree.

--only int8 (`make bench BENCH_ONLY=int8`) measures the int8 section alone:
the int8 kernels and networks and anne_net's float32 predict_into they are
set against, on <target>/firmware.elf only (no plain, stock or natmod
builds needed); summary.md then holds that section's tables, which
`bench/readme_tables.py --int8-only` takes into docs/performance.md.

The method is METHOD below (also written into summary.md).
"""

METHOD = """\
- Firmwares: MicroPython 1.25.0 qemu port with the flags of `make qemu-m3` /
  `make qemu-m0` (anne_net frozen; heap 1 MB on the M3, 192 KB on the M0),
  built under build/bench with USER_C_MODULES=build/bench/usermods (anne ->
  c_glue/, emlearn_bench -> bench/emlearn_mod/). The "plain" firmware has
  emlearn_bench and the frozen anne_net bytecode but no anne module.
- qemu 7.2 runs with `-icount shift=0`: every guest instruction advances
  virtual time by 1 ns. SysTick (CTRL = 5: on, processor clock, no
  interrupt; reload 0xFFFFFF) counts down at the CPU clock: 25 MHz on the
  MPS2-AN385 (40 instructions a tick), 16 MHz on the nRF51 (62.5). qemu's
  nRF51 model does have the SysTick (its M-profile container provides it for
  the Cortex-M0 too) but no reference clock (CALIB.NOREF set, CLKSOURCE reads
  1), so the processor clock is the only source, which is what we want.
- Calibration, per firmware: emlearn_bench.spin(n) runs a two-instruction
  loop (subs; bne) n times; spin(2e6) - spin(1e6) ticks = 2e6 instructions
  gives the instructions per tick (it matches the clock figures above).
- One measurement: gc.collect(), restart the counter at 0xFFFFFF (a write
  to it; that clears COUNTFLAG), read it, call f(), read it again: before -
  after (COUNTFLAG set = it wrapped: then per sample, summed); a warm-up
  call first, then two measured calls, which must agree to within one tick
  (where the code starts within a tick; 0.5 % for pure-Python code whose heap
  layout varies), their mean is taken; the cost of measuring an empty
  function (mean of 8) is subtracted. Resolution: one tick (40 or 62.5
  instructions).
- The board script runs twice, each time on a fresh qemu: every record must
  be identical (deterministic emulation).
- "1 sample": one predict_into(x, out) (or the raw calls) with preallocated
  buffers. "Batch of 20": a Python loop over 20 preallocated inputs, total /
  20 (the loop's own cost included; AI-ANNE style takes the batch as one
  features x samples list).
- Heap: gc.mem_alloc() before and after one call with the gc disabled
  (micropython.mem_total() instead where pure-Python code exhausts the heap
  with the gc off).
- Kernel: anne.dense(x, kernel, bias, out, Activation("linear")) on 64x64,
  minus the same call on a 1x1 layer (the call overhead), / 4095.
- int8 Dense (issue 29), on a fresh board of the firmware with anne: one
  int8 Dense call, `plan(x, out)` of an anne.Plan of one int8 layer tuple
  (board_int8.py's s8_layer: deterministic pseudo-random int8 kernel,
  int32 bias, a scale per output unit, given as a Q31 multiplier in
  [2^30, 2^31) and shift or as a float64 scale, whichever the firmware
  takes (s8_mode)), for 16->8,
  64->64 and 256->64, minus the same call on a 1x1 layer, / (MACs - 1), as
  the float dense row; anne.dense's float32 call on the same sizes the same
  way. Each layer's output is checked once against a plain-Python
  reference (board_int8.py's s8_ref) before it is timed. The bench
  networks as int8 Dense chains (random int8 weights, relu clamps on the
  hidden layers, no softmax): one anne.Plan call per sample (what a loaded
  int8 network's predict_into is), one sample and a batch of 20, the heap
  as above. CMSIS-NN's and TFLite reference's figures are the issue's
  (CMSIS_NN, TFLITE_REF), measured on the same emulators by the same
  method, C called directly, call included.
- Size: arm-none-eabi-size; what anne adds = bench firmware - plain firmware
  (text+data for flash, data+bss for RAM): the anne module with its Rust
  kernels, its qstrs and whatever runtime routines the Rust archive pulls in.
- Float loop: `s += x[i] * w[i]` over array('f'), (256 iterations - 0) / 256,
  on the firmware with anne against the one without, each on a fresh board
  that imports nothing but emlearn_bench (same heap state on both).
- emlearn is measured in both firmwares: in the one with anne it runs on
  whichever soft-float routines that link chose; the targets compare anne
  with emlearn in the plain firmware (libgcc's soft-float: emlearn as its
  users have it).
- riscv32 (qemu's virt machine, MicroPython's VIRT_RV32 board, rv32imac,
  ilp32 soft float): the bench firmwares as on Arm (anne, anne_net frozen,
  emlearn_bench; and the plain one, emlearn_bench only), with the flags of
  `make qemu-rv32`, heap 1 MB; AIfES is not measured on RISC-V.
  The counter is the core's minstret CSR (0xB02, with minstreth 0xB82: 64
  bits), which under -icount shift=0 counts retired instructions one for one,
  read by an `@micropython.asm_rv32` function into a preallocated buffer (no
  int is made between the two reads). One tick is one instruction; the
  calibration is the same two-instruction loop (addi; bne) in inline
  assembler, and the empty measurement's cost (the reads and the call, about
  430 instructions) is subtracted as on the Arm boards. The "plain" firmware
  of the float loop and of the size is the stock VIRT_RV32 firmware (`make
  qemu-rv32-stock`, same flags and heap, no anne and nothing frozen: the
  size anne adds is the difference less frozen_content.o). The two measured
  calls in one run differ by up to a few hundred instructions (1 % for pure
  Python; MicroPython's map-lookup cache and heap), which the Arm boards'
  ticks hid: they may differ by max(256, 1 %), the mean is taken, and the
  largest difference is reported. Runs on fresh boards agree exactly, except
  pure-MicroPython records, which have differed by about 20 instructions in
  10^7 to 10^8 (allowed up to 1e-6 of the count, reported; the training of
  the pure-MicroPython backend is not timed here, one of its counts once
  differed by 20 in 48 million).
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from board import Board, BoardError, ROOT  # noqa: E402

BOARD_SCRIPT = os.path.join(ROOT, "bench", "board_bench.py")
INT8_SCRIPT = os.path.join(ROOT, "bench", "board_int8.py")  # appended where CONFIG["int8"]
AI_ANNE_DATA = os.path.join(ROOT, "tools", "ai_anne_data.py")  # AI-ANNE's weights and test rows
NETS = ["ai-anne-4-2-3-2-1", "iris-4-8-3", "16-32-32-4", "64-64-64-10"]
IMPLS = ["anne_net", "anne.dense", "python", "emlearn", "ai-anne-style"]
# Instructions per SysTick tick expected from the boards' clocks (qemu:
# SysTick on the processor clock; -icount shift=0: 1 instruction = 1 ns).
NOMINAL = {"cortex-m3": 40.0,   # MPS2-AN385 SYSCLK 25 MHz
           "cortex-m0": 62.5,   # nRF51 HFCLK 16 MHz
           "cortex-m4f": 40.0,  # MPS2-AN386 SYSCLK 25 MHz
           "riscv32": 1.0}      # minstret: one count per retired instruction
LABEL = {
    "anne_net": "anne_net predict_into",
    "anne.dense": "anne.dense (raw calls)",
    "python": "pure MicroPython (anne_net python backend)",
    "emlearn": "emlearn eml_net (same firmware)",
    "emlearn-plain": "emlearn eml_net (firmware without anne)",
    "ai-anne-style": "AI-ANNE style (nested lists)",
}
SHORT = {"cortex-m3": "M3", "cortex-m0": "M0", "cortex-m4f": "M4F", "riscv32": "RV32"}
TITLE = {"cortex-m3": "Cortex-M3, MPS2-AN385", "cortex-m0": "Cortex-M0, nRF51 (micro:bit)",
         "cortex-m4f": "Cortex-M4F, MPS2-AN386 (hard float)",
         "riscv32": "RISC-V rv32imac, qemu virt (VIRT_RV32, soft float)"}
# The board's `size` and its counter (board_bench.py's COUNTER).
SIZE_TOOL = {"riscv32": "riscv64-unknown-elf-size"}
COUNTER = {"riscv32": "minstret"}
# Prepended to the board script where COUNTER is minstret: the Arm ports'
# compilers reject an asm_rv32 decorator, so it is sent only to riscv32.
# _ms(buf): minstreth, minstret, minstreth again (until the high half held
# still) into buf[0:8]; _spin(n): `addi; bne` n times, 2n instructions.
RV32_PRELUDE = """
import micropython
@micropython.asm_rv32
def _ms(a0):
    label(AGAIN)
    csrrs(a1, zero, 0xB82)
    csrrs(a2, zero, 0xB02)
    csrrs(a3, zero, 0xB82)
    bne(a1, a3, AGAIN)
    sw(a2, 0(a0))
    sw(a1, 4(a0))
@micropython.asm_rv32
def _spin(a0):
    label(LOOP)
    addi(a0, a0, -1)
    bne(a0, zero, LOOP)
"""

# The M3's f32 dense 64x64 per multiply-add as docs/performance.md gives it
# (the riscv32 target compares with it when the M3 is not in the run).
M3_DENSE_PER_MAC_DOC = 37.1

# From the issue / shared reference (emulated Cortex-M3).
BRIEF = {
    "naive Rust dense (instr/MAC)": 137,
    "emlearn eml_net_forward (instr/MAC)": 95,
    "pure MicroPython (instr/MAC)": 1650,
    "AI-ANNE, 8-neuron net, one sample (instr)": 433000,
}


# int8 fully connected (16 -> 8, 64 -> 64, 256 -> 64), instructions per
# multiply-add with the call included, measured on the same emulators with
# the same method (qemu -icount shift=0, SysTick): CMSIS-NN (commit 99f736a6,
# arm-none-eabi-gcc 12.2 -O3) and TFLite's reference loops. Source: issue
# 29's "Benchmark" section and /work/shared/reference/int8.md.
INT8_SIZES = [(16, 8), (64, 64), (256, 64)]
CMSIS_NN = {"cortex-m0": {(16, 8): 15.05, (64, 64): 7.64, (256, 64): 6.43},
            "cortex-m3": {(16, 8): 7.75, (64, 64): 3.99, (256, 64): 3.53},
            "cortex-m4f": {(16, 8): 6.09, (64, 64): 2.68, (256, 64): 2.08}}
TFLITE_REF = {"cortex-m0": {(16, 8): 20.5, (64, 64): 13.9, (256, 64): 12.5},
              "cortex-m3": {(16, 8): 11.4, (64, 64): 7.9, (256, 64): 7.2},
              "cortex-m4f": {(16, 8): 11.4, (64, 64): 7.9, (256, 64): 7.2}}
# The flash anne added (bench firmware less the plain one, text+data; RV32
# less the frozen library too) in `make bench` on main at c35e6a8, before
# int8 ran on the board (the merge of int8-board): build/bench/results.json
# of that run.
PRE_INT8_FLASH = {"cortex-m3": 81480, "cortex-m0": 81164, "cortex-m4f": 72364, "riscv32": 76231}
# anne.mpy's bytes in that run (full, inference-only lite)
PRE_INT8_MPY = {"cortex-m3": (88578, 30992), "cortex-m0": (89221, 33674), "cortex-m4f": (77697, 31387),
                "riscv32": (83675, 37384)}


def run_script(target, firmware, config, runs, stock=False, lite=False):
    """Runs the board script `runs` times on fresh boards; returns the
    parsed records of the first run and whether all runs printed the same."""
    config = dict(config, counter=COUNTER.get(target, "systick"))
    prelude = RV32_PRELUDE if config["counter"] == "minstret" else ""
    code = ("CONFIG = %r\n" % (config,) + open(AI_ANNE_DATA).read() + prelude +
            open(BOARD_SCRIPT).read() + (open(INT8_SCRIPT).read() if config.get("int8") else "") + "\nmain()\n")
    outputs = []
    for _ in range(runs):
        t0 = time.monotonic()
        with Board(target, firmware, stock=stock, lite=lite) as b:
            out = b.run(code)
        if "DONE" not in out:
            raise BoardError(2, "the bench script did not finish on %s:\n%s" % (target, out))
        lines = [l.strip() for l in out.splitlines() if l.startswith("R ")]
        outputs.append(lines)
        print("  %s %s: %d records in %.0f s" % (target, os.path.basename(os.path.dirname(firmware)),
                                                  len(lines), time.monotonic() - t0), file=sys.stderr)
    same = all(o == outputs[0] for o in outputs[1:])
    for o in outputs[1:]:
        for x, y in zip(outputs[0], o):
            if x != y:
                print("  run-to-run difference on %s:\n    %s\n    %s" % (target, x, y), file=sys.stderr)
                if COUNTER.get(target) == "minstret" and not same:
                    same = pure_python_jitter(target, ast.literal_eval(x[2:]), ast.literal_eval(y[2:]))
    return [ast.literal_eval(l[2:]) for l in outputs[0]], same


# riscv32: where two runs of a pure-MicroPython measurement differ (by about
# 20 instructions in 10^7 to 10^8: what the conservative gc finds on the
# stack, we think, differs with the host's timing of the raw REPL), the
# largest such difference, kept per target; everything else must agree.
RUN_JITTER = {}


def pure_python_jitter(target, a, b):
    """True if records a and b differ only in their instruction counts, by
    at most 1e-6 of them, and are pure-MicroPython measurements."""
    if a.get("impl") not in ("python", "ai-anne-style") and a.get("backend") not in ("python", "ai-anne-style"):
        return False
    keys = [k for k in a if a[k] != b.get(k)]
    if set(a) != set(b) or any(not k.startswith("ticks") for k in keys):
        return False
    d = max(abs(a[k] - b[k]) for k in keys)
    if d > 1e-6 * max(abs(a[k]) for k in keys):
        return False
    j = RUN_JITTER.setdefault(target, {"instructions": 0, "of": 0, "records": 0})
    j["records"] += 1
    if d > j["instructions"]:
        j["instructions"], j["of"] = d, max(abs(a[k]) for k in keys)
    return True


def elf_size(path, target="cortex-m3"):
    out = subprocess.run([SIZE_TOOL.get(target, "arm-none-eabi-size"), path], capture_output=True, text=True,
                         check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


ARCH = {"cortex-m3": "armv7m", "cortex-m0": "armv6m", "cortex-m4f": "armv7emsp", "riscv32": "rv32imc"}


def measure_natmod(target, res, builtin_recs, runs, lite=False):
    """anne.mpy on the stock firmware (build/TARGET-stock, `make stock
    natmod`; lite: the inference-only build/natmod/ARCH-lite/anne.mpy)
    against the built-in module of the bench firmware: anne_net on every
    bench network and the raw 64x64 dense call, and the heap the module
    takes once imported."""
    fw = os.path.join(ROOT, "build", target + "-stock", "firmware.elf")
    arch = ARCH[target] + ("-lite" if lite else "")
    mpy = os.path.join(ROOT, "build", "natmod", arch, "anne.mpy")
    for p in (fw, mpy):
        if not os.path.exists(p):
            raise SystemExit("missing %s: run `make bench`" % p)
    # (On the stock M0, this script's arrays for 64-64-64-10 do not fit in
    # the heap next to the inference-only module's 68 KB and the board
    # library's .mpy, nor those for 16-32-32-4 next to the full module's
    # 107 KB (with training, int8 and the CNN kernels): measured at 0d064ef,
    # a MemoryError building each. The bench firmware's built-in module
    # runs them all.)
    too_big = () if target != "cortex-m0" else ("64-64-64-10",) if lite else ("16-32-32-4", "64-64-64-10")
    nets = [n for n in NETS if n not in too_big]
    recs, same = run_script(target, fw, {"nets": nets, "impls": ["anne_net"], "kernel": True}, runs, stock=True,
                            lite=lite)
    res["deterministic"] = res["deterministic"] and same
    k = res["instr_per_tick"]
    out = {"arch": arch, "mpy_bytes": os.path.getsize(mpy), "nets": {},
           "ram_once_imported": [r["bytes"] for r in recs if r["kind"] == "import"][0],
           "builtin_ram_once_imported": [r["bytes"] for r in builtin_recs if r["kind"] == "import"][0]}
    for r in recs:
        if r["kind"] == "net":
            # One sample, and per sample over the batch of 20: one tick is
            # 40 to 62.5 instructions, so one sample's figure is good to a
            # tick or two, the batch's to a twentieth of that. The ratio is
            # the batch's.
            b = get(res, r["net"], "anne_net", 1)["instructions_per_inference"]
            bb = get(res, r["net"], "anne_net", r["batch"])["instructions_per_inference"]
            out["nets"][r["net"]] = {"builtin": b, "natmod": round(r["ticks1"] * k, 1),
                                     "builtin_batch": bb, "natmod_batch": round(r["ticks_batch"] * k / r["batch"], 1)}
        elif r["kind"] == "kernel" and r["impl"] == "anne.dense" and r["n"] == 64:
            out["dense_64x64"] = {"builtin": res["kernel"]["anne.dense"][64], "natmod": r["ticks"] * k}
    for d in out["nets"].values():
        d["ratio"] = d["natmod_batch"] / d["builtin_batch"]
        d["ratio_one"] = d["natmod"] / d["builtin"]
    d = out.get("dense_64x64")
    if d:
        d["ratio"] = d["natmod"] / d["builtin"]
    return out


def natmod_table(results):
    rows = ["| core (arch) | anne.mpy | heap once imported | " + " | ".join(NETS) + " | dense 64x64 call |",
            "|---|---:|---:|" + "---:|" * (len(NETS) + 1)]
    for t, res in results.items():
        for n in (res["natmod"], res.get("natmod_lite")):
            if not n:
                continue
            cells = ["%s / %s (%.3fx); one: %s / %s" % (fmt(d["natmod_batch"]), fmt(d["builtin_batch"]), d["ratio"],
                                                        fmt(d["natmod"]), fmt(d["builtin"])) if d else "does not fit"
                     for d in [n["nets"].get(net) for net in NETS]]
            d = n.get("dense_64x64")
            cells.append("%s / %s (%.3fx)" % (fmt(d["natmod"]), fmt(d["builtin"]), d["ratio"]) if d else "-")
            rows.append("| %s (%s) | %s B | %s B | %s |" % (SHORT[t], n["arch"], fmt(n["mpy_bytes"]),
                                                           fmt(n["ram_once_imported"]), " | ".join(cells)))
    return "\n".join(rows)


def fmt(v, digits=0):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if digits:
        return "{:,.{}f}".format(v, digits)
    return "{:,.0f}".format(v)




def ipt_of(rs):
    """Instructions per tick: spin(n) is exactly 2n instructions."""
    sp = {r["n"]: r["ticks"] for r in rs if r["kind"] == "spin"}
    return 2.0 * (2000000 - 1000000) / (sp[2000000] - sp[1000000])


INT8_KINDS = ("int8_kernel", "int8_net", "int8_quant")


def net_records(target, r, k, fwname):
    """The records of one board "net" record: one sample and the batch."""
    impl = r["impl"] if fwname == "bench" else "emlearn-plain"
    out = []
    for batch, t in ((1, r["ticks1"]), (r["batch"], r["ticks_batch"])):
        instr = t * k / batch
        out.append({
            "target": target, "network": r["net"], "implementation": impl,
            "firmware": fwname, "batch": batch, "macs": r["macs"],
            "instructions_per_inference": round(instr, 1),
            "instructions_per_mac": round(instr / r["macs"], 2),
            "bytes_allocated": r["alloc"],
            # "gc": gc.mem_alloc() delta (16-byte blocks); "mem_total":
            # bytes requested (the gc-off heap ran out)
            "bytes_allocated_how": r["alloc_how"],
            "max_abs_diff_vs_anne_net": r["maxdiff"],
            "correct_of_20": r["correct"],
            "note": r["batch_note"] if batch > 1 else "",
        })
    return out


def measure_int8_only(target, build, runs):
    """--only int8: the int8 records and anne_net's float32 ones they are
    compared with, on the firmware with anne."""
    fw = os.path.join(build, target, "firmware.elf")
    if not os.path.exists(fw):
        raise SystemExit("missing %s: run `make bench-firmware BENCH_ONLY=int8`" % fw)
    recs, same = run_script(target, fw, {"nets": NETS, "impls": ["anne_net"]}, runs)
    irecs, isame = run_script(target, fw, {"int8": True}, runs)
    recs += [r for r in irecs if r["kind"] in INT8_KINDS]
    ipt = NOMINAL[target] if COUNTER.get(target) == "minstret" else ipt_of(recs)
    res = {"target": target, "instr_per_tick": ipt, "instr_per_tick_measured": ipt_of(recs),
           "nominal_instr_per_tick": NOMINAL[target], "deterministic": same and isame,
           "records": [x for r in recs if r["kind"] == "net" for x in net_records(target, r, ipt, "bench")],
           "spread": max([r["ticks"] for r in recs if r["kind"] == "spread"], default=None),
           "run_jitter": RUN_JITTER.get(target)}
    res["int8"] = int8_results(target, [r for r in recs if r["kind"] in INT8_KINDS], ipt, res)
    return res


def measure_target(target, build, runs):
    fw = os.path.join(build, target, "firmware.elf")
    plain = os.path.join(build, target + "-plain", "firmware.elf")
    for p in (fw, plain):
        if not os.path.exists(p):
            raise SystemExit("missing %s: run `make bench`" % p)
    cfg = {"nets": NETS, "impls": IMPLS, "kernel": True, "python_kernel": True}
    recs, same = run_script(target, fw, cfg, runs)
    pcfg = {"nets": NETS, "impls": ["emlearn"], "kernel": True}
    precs, psame = run_script(target, plain, pcfg, runs)
    # The float loop on fresh boards that import nothing else, so that both
    # firmwares start it from the same heap.
    # (riscv32: the native backend only; see TRAIN_PYTHON in board_bench.py)
    trecs, tsame = run_script(target, fw, {"train": True, "train_python": target != "riscv32"}, runs)
    recs += [r for r in trecs if r["kind"] in ("train", "train_forward")]
    same = same and tsame
    # int8 (issue 29): on a fresh board of the firmware with anne
    irecs, isame = run_script(target, fw, {"int8": True}, runs)
    recs += [r for r in irecs if r["kind"] in INT8_KINDS]
    same = same and isame
    fcfg = {"floop": True}
    frecs, fsame = run_script(target, fw, fcfg, runs)
    pfrecs, pfsame = run_script(target, plain, fcfg, runs)
    recs += [r for r in frecs if r["kind"] == "floop"]
    precs += [r for r in pfrecs if r["kind"] == "floop"]
    same = same and fsame and pfsame

    ipt, pipt = ipt_of(recs), ipt_of(precs)
    measured = (ipt, pipt)
    if COUNTER.get(target) == "minstret":
        # minstret counts instructions one for one: the calibration is a
        # check (it differs from 1 by the spread of two calls, see ticks()
        # in board_bench.py), not a factor.
        ipt = pipt = NOMINAL[target]
    res = {"target": target, "instr_per_tick": ipt, "instr_per_tick_plain": pipt,
           "instr_per_tick_measured": measured[0], "instr_per_tick_plain_measured": measured[1],
           "nominal_instr_per_tick": NOMINAL[target], "deterministic": same and psame,
           "overhead_ticks": [r["ticks"] for r in recs if r["kind"] == "overhead"][0],
           "records": [], "kernel": {}, "floop": {}, "size": {}, "train": [],
           "train_forward": {},
           # minstret: the largest difference between the two measured calls
           # of anything (instructions; their mean is taken)
           "spread": max([r["ticks"] for r in recs + precs if r["kind"] == "spread"], default=None),
           "spread_rel": max([r["rel"] for r in recs + precs if r["kind"] == "spread"], default=None)}
    for rs, k, fwname in ((recs, ipt, "bench"), (precs, pipt, "plain")):
        for r in rs:
            if r["kind"] == "net":
                res["records"] += net_records(target, r, k, fwname)
            elif r["kind"] == "kernel":
                impl = r["impl"] if fwname == "bench" else "emlearn-plain"
                res["kernel"].setdefault(impl, {})[r["n"]] = r["ticks"] * k
            elif r["kind"] == "floop":
                res["floop"].setdefault(fwname, {})[r["n"]] = r["ticks"] * k
            elif r["kind"] == "train_forward" and r["ticks"] is not None:
                res["train_forward"][r["net"]] = round(r["ticks"] * k)
            elif r["kind"] == "train" and r["ticks"] is not None:
                res["train"].append({"network": r["net"], "backend": r["backend"], "optimizer": r["optimizer"],
                                     "batch": r["batch"],
                                     "instructions_per_sample": round(r["ticks"] * k / r["n"])})
    res["int8"] = int8_results(target, [r for r in recs if r["kind"] in INT8_KINDS], ipt, res)
    for impl, d in res["kernel"].items():
        macs = 64 * 64
        d["per_mac_gross"] = d[64] / macs
        d["call_overhead"] = d[1]
        d["per_mac_net"] = (d[64] - d[1]) / (macs - 1)
    fl = res["floop"]
    for f in fl.values():
        f["per_iteration"] = (f[256] - f[0]) / 256
    fl["ratio"] = fl["bench"]["per_iteration"] / fl["plain"]["per_iteration"]
    sb, sp = elf_size(fw, target), elf_size(plain, target)
    res["size"] = {
        "bench_fw": sb, "plain_fw": sp,
        "anne_flash": (sb["text"] + sb["data"]) - (sp["text"] + sp["data"]),
        "anne_ram": (sb["data"] + sb["bss"]) - (sp["data"] + sp["bss"]),
    }
    res["natmod"] = measure_natmod(target, res, recs, runs)
    res["natmod_lite"] = measure_natmod(target, res, recs, runs, lite=True)
    res["run_jitter"] = RUN_JITTER.get(target)
    fz = os.path.join(os.path.dirname(fw), "frozen_content.o")
    if os.path.exists(fz):
        out = subprocess.run([SIZE_TOOL.get(target, "arm-none-eabi-size"), fz], capture_output=True, text=True).stdout
        t, d = (int(v) for v in out.splitlines()[1].split()[:2])
        res["size"]["frozen_anne_net"] = t + d
    return res


def int8_results(target, recs, k, res):
    """int8 Dense per multiply-add (the call on a 1x1 layer subtracted, and
    with the call), anne's float32 dense on the same sizes, and the int8
    networks against anne_net's float32 ones on this core."""
    kern = {(r["impl"], r["n_in"], r["units"]): r for r in recs if r["kind"] == "int8_kernel"}
    # the quant form the firmware's anne.Plan took (board_int8.py's s8_mode):
    # "q31" multipliers and shifts, or "float64" scales (LiteRT's float mode)
    out = {"kernel": [], "nets": [], "quant": [r["mode"] for r in recs if r["kind"] == "int8_quant"][0]}
    for impl in ("s8", "f32"):
        one = kern[(impl, 1, 1)]["ticks"] * k
        for n_in, units in INT8_SIZES:
            r = kern[(impl, n_in, units)]
            macs = n_in * units
            if r["ticks"] is None:  # (the M0: float32 256x64 does not fit its heap)
                out["kernel"].append({"target": target, "dtype": "float32", "n_in": n_in, "units": units,
                                      "macs": macs, "instructions": None, "call_1x1": round(one, 1),
                                      "per_mac_net": None, "per_mac_gross": None, "note": "does not fit"})
                continue
            t = r["ticks"] * k
            out["kernel"].append({
                "target": target, "dtype": "int8" if impl == "s8" else "float32", "n_in": n_in, "units": units,
                "macs": macs, "instructions": round(t, 1), "call_1x1": round(one, 1),
                "per_mac_net": round((t - one) / (macs - 1), 2), "per_mac_gross": round(t / macs, 2),
                "bytes_allocated": r.get("alloc"),
                "cmsis_nn": CMSIS_NN.get(target, {}).get((n_in, units)) if impl == "s8" else None,
                "tflite_ref": TFLITE_REF.get(target, {}).get((n_in, units)) if impl == "s8" else None})
    for r in recs:
        if r["kind"] != "int8_net":
            continue
        f1 = get(res, r["net"], "anne_net", 1)
        fb = get(res, r["net"], "anne_net", r["batch"])
        one, batch = r["ticks1"] * k, r["ticks_batch"] * k / r["batch"]
        out["nets"].append({
            "target": target, "network": r["net"], "macs": r["macs"],
            "instructions_per_inference": round(one, 1), "instructions_per_inference_batch": round(batch, 1),
            "instructions_per_mac_batch": round(batch / r["macs"], 2),
            "float32_instructions": f1 and f1["instructions_per_inference"],
            "float32_instructions_batch": fb and fb["instructions_per_inference"],
            "bytes_allocated": r["alloc"], "bytes_allocated_how": r["alloc_how"]})
    return out


def int8_kernel_table(results):
    rows = ["| core | int8 Dense | MACs | anne int8 instr/MAC (1x1 call subtracted) | with the call | "
            "CMSIS-NN (issue, call included) | anne / CMSIS-NN | TFLite reference (issue) | "
            "anne float32 `anne.dense` instr/MAC (subtracted) | float32 / int8 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t, res in results.items():
        ks = res.get("int8", {}).get("kernel", [])
        f32 = {(r["n_in"], r["units"]): r for r in ks if r["dtype"] == "float32"}
        for r in ks:
            if r["dtype"] != "int8":
                continue
            f = f32[(r["n_in"], r["units"])]
            c = r["cmsis_nn"]
            rows.append("| %s | %d -> %d | %d | %.2f | %.2f | %s | %s | %s | %s | %s |" % (
                SHORT[t], r["n_in"], r["units"], r["macs"], r["per_mac_net"], r["per_mac_gross"],
                "%.2f" % c if c else "-", "%.2f" % (r["per_mac_net"] / c) if c else "-",
                "%.1f" % r["tflite_ref"] if r["tflite_ref"] else "-",
                "%.2f" % f["per_mac_net"] if f["per_mac_net"] else "does not fit",
                "%.1f" % (f["per_mac_net"] / r["per_mac_net"]) if f["per_mac_net"] else "-"))
    return "\n".join(rows)


def int8_call_table(results):
    rows = ["| core | int8 call on a 1x1 layer (instr; `anne.Plan`) | float32 call on a 1x1 layer (`anne.dense`) |",
            "|---|---:|---:|"]
    for t, res in results.items():
        ks = res.get("int8", {}).get("kernel", [])
        if ks:
            i8 = [r for r in ks if r["dtype"] == "int8"][0]["call_1x1"]
            f = [r for r in ks if r["dtype"] == "float32"][0]["call_1x1"]
            rows.append("| %s | %s | %s |" % (SHORT[t], fmt(i8), fmt(f)))
    return "\n".join(rows)


def int8_net_table(results):
    rows = ["| core | network (int8 Dense chain) | MACs | int8, one sample (instr) | int8, batch of 20 (per sample) | "
            "instr/MAC (batch) | float32 anne_net, one sample | float32 / int8 (one sample) | "
            "float32 / int8 (batch) | heap bytes per call |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t, res in results.items():
        for r in res.get("int8", {}).get("nets", []):
            f, fb = r["float32_instructions"], r["float32_instructions_batch"]
            rows.append("| %s | %s | %d | %s | %s | %.1f | %s | %s | %s | %s |" % (
                SHORT[t], r["network"], r["macs"], fmt(r["instructions_per_inference"]),
                fmt(r["instructions_per_inference_batch"]), r["instructions_per_mac_batch"], fmt(f),
                "%.1fx" % (f / r["instructions_per_inference"]) if f else "-",
                "%.1fx" % (fb / r["instructions_per_inference_batch"]) if fb else "-", fmt(r["bytes_allocated"])))
    return "\n".join(rows)


def get(res, net, impl, batch):
    for r in res["records"]:
        if r["network"] == net and r["implementation"] == impl and r["batch"] == batch:
            return r
    return None


def net_table(res):
    rows = ["| network | MACs | implementation | 1 sample (instr) | batch of 20, per sample (instr) "
            "| instr/MAC (batch) | heap bytes per call |",
            "|---|---:|---|---:|---:|---:|---:|"]
    for net in NETS:
        for impl in IMPLS[:4] + ["emlearn-plain", "ai-anne-style"]:
            r1 = get(res, net, impl, 1)
            rb = get(res, net, impl, 20)
            if not r1:
                continue
            rows.append("| %s | %d | %s | %s | %s%s | %s | %s |" % (
                net, r1["macs"], LABEL[impl], fmt(r1["instructions_per_inference"]),
                fmt(rb["instructions_per_inference"]), " (summed)" if rb["note"] else "",
                fmt(rb["instructions_per_mac"], 1), fmt(r1["bytes_allocated"]) +
                ("" if r1["bytes_allocated_how"] == "gc" else " (a)")))
    if any(r["bytes_allocated_how"] != "gc" for r in res["records"]):
        rows += ["", "(a) bytes requested (micropython.mem_total()): with the gc off the heap ran out; "
                 "gc.mem_alloc() counts whole 16-byte blocks, so about twice this."]
    return "\n".join(rows)


# AIfES 2.2.0 f32 (C, -O2), cross-entropy, instructions per sample on the
# emulated M3, from the issue (issue 10): (net, optimizer, batch) -> count.
AIFES = {("iris-4-8-3", "sgd", 1): 30510, ("iris-4-8-3", "sgd", 16): 18042,
         ("iris-4-8-3", "adam", 1): 133519, ("iris-4-8-3", "adam", 16): 24631,
         ("16-32-32-4", "sgd", 1): 662619, ("16-32-32-4", "sgd", 16): 392782,
         ("16-32-32-4", "adam", 1): 3275975, ("16-32-32-4", "adam", 16): 558534}


def train_table(res):
    rows = ["| network | optimizer | batch | anne (instr/sample) | pure MicroPython backend | AIfES (M3, issue) "
            "| anne / AIfES | step / forward |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    by = {(r["network"], r["backend"], r["optimizer"], r["batch"]): r["instructions_per_sample"]
          for r in res["train"]}
    for net in ("iris-4-8-3", "16-32-32-4", "64-64-64-10"):
        fwd = get(res, net, "anne_net", 20)
        for opt in ("sgd", "adam"):
            for batch in (1, 16):
                a = by.get((net, "native", opt, batch))
                if a is None:
                    continue
                py = by.get((net, "python", opt, batch))
                ai = AIFES.get((net, opt, batch)) if res["target"] == "cortex-m3" else None
                rows.append("| %s | %s | %d | %s | %s | %s | %s | %s |" % (
                    net, opt, batch, fmt(a), fmt(py) if py else "", fmt(ai) if ai else "",
                    "%.2f" % (a / ai) if ai else "",
                    "%.1f" % (a / fwd["instructions_per_inference"]) if fwd else ""))
    a = by.get(("conv-16x3", "native", "adam", 16))
    if a:
        fwd = res.get("train_forward", {}).get("conv-16x3")
        rows.append("| conv-16x3 (Conv1D 8, pool, Conv1D 8, global average, Dense 3) | adam | 16 | %s |  |  |  | %s |"
                    % (fmt(a), "%.1f" % (a / fwd) if fwd else ""))
    ai = by.get(("ai-anne-4-3-1", "ai-anne-style", "sgd", 1))
    a = by.get(("ai-anne-4-3-1", "native", "sgd", 1))
    py = by.get(("ai-anne-4-3-1", "python", "sgd", 1))
    if ai and a:
        rows += ["", "AI-ANNE's approach (its later variant's per-sample SGD on binary cross-entropy, nested "
                 "lists, written out in bench/board_bench.py) on its 4-3-1 net, per sample: %s instructions; "
                 "anne's fit() %s (%.2fx that), anne's pure-MicroPython backend %s. (The issue measured AI-ANNE's "
                 "own code at about 134,000 on the M3.)" % (fmt(ai), fmt(a), a / ai, fmt(py) if py else "-")]
    return "\n".join(rows)


def checks(results):
    """The issue's targets: (text, value text, holds)."""
    m3 = results.get("cortex-m3")
    out = []
    if m3:
        v = m3["kernel"]["anne.dense"]["per_mac_net"]
        out.append(("f32 dense 64x64 <= 40 instr/MAC on M3 (call overhead subtracted)",
                    "%.1f (%.1f with the call)" % (v, m3["kernel"]["anne.dense"]["per_mac_gross"]), v <= 40))
        r = get(m3, "ai-anne-4-2-3-2-1", "anne_net", 1)
        v = r["instructions_per_inference"]
        out.append(("AI-ANNE 8-neuron net, one sample via anne_net <= 10,000 instr (M3)", fmt(v), v <= 10000))
    for t, res in results.items():
        if not get(res, NETS[0], "emlearn-plain", 1):
            out.append(("anne_net <= 0.5x emlearn on every bench network (%s)" % SHORT[t],
                        "not measured (no emlearn on this target)", None))
            continue
        worst = None
        for net in NETS:
            for b in (1, 20):
                a = get(res, net, "anne_net", b)["instructions_per_inference"]
                e = get(res, net, "emlearn-plain", b)["instructions_per_inference"]
                ratio = a / e
                if worst is None or ratio > worst[0]:
                    worst = (ratio, net, b)
        out.append(("anne_net <= 0.5x emlearn on every bench network (%s; emlearn in a firmware without anne)"
                    % SHORT[t], "worst %.2fx (%s, batch %d)" % worst, worst[0] <= 0.5))
    allocs = [(t, r["network"], r["bytes_allocated"]) for t, res in results.items()
              for r in res["records"] if r["implementation"] == "anne_net" and r["batch"] == 1]
    bad = [a for a in allocs if a[2] != 0]
    out.append(("predict_into allocates 0 bytes (all networks, %s)" % "+".join(SHORT[t] for t in results),
                "max %d bytes" % max(a[2] for a in allocs), not bad))
    for t, res in results.items():
        n = res["natmod"]
        worst = max((d["ratio"], net) for net, d in list(n["nets"].items()) + [("dense 64x64", n.get("dense_64x64"))]
                    if d)
        out.append(("anne.mpy <= 1.05x the built-in module's instructions (%s)" % SHORT[t],
                    "worst %.3fx (%s)" % worst, worst[0] <= 1.05))
        if n["arch"] == "armv6m":
            out.append(("anne.mpy for armv6m <= 32 KB", "%s bytes (%.1f KB)" % (fmt(n["mpy_bytes"]), n["mpy_bytes"] / 1024),
                        n["mpy_bytes"] <= 32 * 1024))
            lite = res["natmod_lite"]
            out.append(("the inference-only anne.mpy (armv6m-lite) <= 32 KB",
                        "%s bytes (%.1f KB); heap once imported %s B" % (
                            fmt(lite["mpy_bytes"]), lite["mpy_bytes"] / 1024, fmt(lite["ram_once_imported"])),
                        lite["mpy_bytes"] <= 32 * 1024))
    if m3 and m3["train"]:
        by = {(r["network"], r["backend"], r["optimizer"], r["batch"]): r["instructions_per_sample"]
              for r in m3["train"]}
        ratios = [(by[(n, "native", o, b)] / v, "%s %s batch %d" % (n, o, b))
                  for (n, o, b), v in AIFES.items() if (n, "native", o, b) in by]
        if ratios:
            worst = max(ratios)
            out.append(("training <= 0.5x AIfES's instructions per sample, every cell (M3)",
                        "worst %.2fx (%s)" % worst, worst[0] <= 0.5))
        ai, a = by.get(("ai-anne-4-3-1", "ai-anne-style", "sgd", 1)), by.get(("ai-anne-4-3-1", "native", "sgd", 1))
        if ai and a:
            out.append(("training >= 30x fewer instructions than AI-ANNE's approach, 4-3-1 per-sample SGD (M3)",
                        "%.1fx" % (ai / a), ai / a >= 30))
        for net in ("16-32-32-4", "64-64-64-10"):
            fwd = get(m3, net, "anne_net", 20)
            steps = [by[k] for k in by if k[0] == net and k[1] == "native" and k[3] == 16]
            if fwd and steps:
                v = max(steps) / fwd["instructions_per_inference"]
                out.append(("training step per sample <= 3.5x the forward pass, %s batch 16 (M3)" % net,
                            "%.1fx" % v, v <= 3.5))
    rv = results.get("riscv32")
    if rv:
        v = rv["kernel"]["anne.dense"]["per_mac_net"]
        ref, where = (m3["kernel"]["anne.dense"]["per_mac_net"], "this run") if m3 else (
            M3_DENSE_PER_MAC_DOC, "docs/performance.md, M3 not run here")
        out.append(("f32 dense 64x64 instr/MAC on riscv32 no worse than on the M3 (call overhead subtracted; "
                    "M3: %.1f, %s)" % (ref, where),
                    "%.2f (%.2f with the call)" % (v, rv["kernel"]["anne.dense"]["per_mac_gross"]), v <= ref))
    out += int8_checks(results)
    m4 = results.get("cortex-m4f")
    if m4:
        v = m4["kernel"]["anne.dense"]["per_mac_net"]
        out.append(("f32 dense 64x64 <= 4 instr/MAC on the M4F (FPU; call overhead subtracted)",
                    "%.2f (%.2f with the call)" % (v, m4["kernel"]["anne.dense"]["per_mac_gross"]), v <= 4))
    if m3:
        v = m3["size"]["anne_flash"]
        out.append(("anne module flash on M3 <= 24 KB", "%s bytes (%.1f KB)" % (fmt(v), v / 1024), v <= 24 * 1024))
    for t, res in results.items():
        v = res["floop"]["ratio"]
        # The loop is measured to one SysTick tick over its 256 iterations:
        # a ratio within that tick of 1.00 is 1.00 as far as it can be told.
        tick = res["instr_per_tick"] / 256 / res["floop"]["plain"]["per_iteration"]
        out.append(("pure-MicroPython float loop, with anne / without <= 1.00, to one tick (%s)" % SHORT[t],
                    "%.4f (one tick: %.4f)" % (v, tick), v <= 1.0 + tick * 1.0001))
    return out


def int8_checks(results):
    """The issue's int8 targets: (text, value text, holds)."""
    out = []
    for t, res in results.items():
        ks = [r for r in res["int8"]["kernel"] if r["dtype"] == "int8" and r["cmsis_nn"]]
        if ks:
            worst = max((r["per_mac_net"] / r["cmsis_nn"], "%d->%d" % (r["n_in"], r["units"])) for r in ks)
            out.append(("int8 Dense at or below CMSIS-NN's instr/MAC in every cell (%s; anne's with the 1x1 call "
                        "subtracted)" % SHORT[t], "worst %.2fx (%s)" % worst, worst[0] <= 1.0))
    nets8 = [r for res in results.values() for r in res["int8"]["nets"]]
    if nets8:
        out.append(("int8 networks: 0 bytes allocated per predict_into (%s)" % "+".join(SHORT[t] for t in results),
                    "max %d bytes" % max(r["bytes_allocated"] for r in nets8),
                    all(r["bytes_allocated"] == 0 for r in nets8)))
    return out


def notes(results):
    out = []
    m3 = results.get("cortex-m3")
    if m3:
        r = get(m3, "ai-anne-4-2-3-2-1", "anne_net", 1)
        out.append("- AI-ANNE's 8-neuron net, one sample: anne_net %s instructions on the M3 against %s "
                   "published for AI-ANNE's own code (%.1fx fewer)." % (
                       fmt(r["instructions_per_inference"]), fmt(BRIEF["AI-ANNE, 8-neuron net, one sample (instr)"]),
                       BRIEF["AI-ANNE, 8-neuron net, one sample (instr)"] / r["instructions_per_inference"]))
        r = get(m3, "64-64-64-10", "anne_net", 1)
        p = get(m3, "64-64-64-10", "python", 1)
        e = get(m3, "64-64-64-10", "emlearn-plain", 1)
        out.append("- 64-64-64-10, one sample on the M3: anne_net is %.1fx faster than pure MicroPython "
                   "and %.2fx emlearn's instructions." % (
                       p["instructions_per_inference"] / r["instructions_per_inference"],
                       r["instructions_per_inference"] / e["instructions_per_inference"]))
    for t, res in results.items():
        c = {r["implementation"]: r["correct_of_20"] for r in res["records"]
             if r["network"] == "ai-anne-4-2-3-2-1" and r["batch"] == 1 and r["correct_of_20"] is not None}
        d = max((r["max_abs_diff_vs_anne_net"] or 0.0) for r in res["records"])
        out.append("- %s: AI-ANNE's 20 Iris test rows classified correctly: %s (Keras: 18 of 20); "
                   "largest difference of any implementation's outputs from anne_net's: %.2g." % (
                       SHORT[t], ", ".join("%s %d" % (k, v) for k, v in c.items()), d))
    return out


def other_table(results):
    ts = list(results)
    head = "| measurement | " + " | ".join(SHORT[t] for t in ts) + " |"
    rows = [head, "|---|" + "---:|" * len(ts)]

    def row(name, f):
        vals = []
        for t in ts:
            try:
                vals.append(f(results[t]))
            except (KeyError, TypeError):
                vals.append("-")
        rows.append("| %s | %s |" % (name, " | ".join(vals)))

    k = lambda impl, key, d=1: (lambda r: fmt(r["kernel"][impl][key], d))
    row("anne.dense 64x64 linear: instr/MAC, call overhead subtracted", k("anne.dense", "per_mac_net"))
    row("anne.dense 64x64 linear: instr/MAC, with the call", k("anne.dense", "per_mac_gross"))
    row("anne.dense call on a 1x1 layer (instr): the call overhead", k("anne.dense", "call_overhead", 0))
    row("emlearn eml_net_forward 64x64: instr/MAC, overhead subtracted (firmware without anne)",
        k("emlearn-plain", "per_mac_net"))
    row("emlearn eml_net_forward 64x64: instr/MAC, overhead subtracted (same firmware as anne)",
        k("emlearn", "per_mac_net"))
    row("emlearn forward() call on a 1x1 layer (instr)", k("emlearn-plain", "call_overhead", 0))
    row("pure MicroPython dense 64x64 (anne_fallback.dense): instr/MAC", k("python", "per_mac_net"))
    row("float loop `s += x[i] * w[i]`, instr/iteration, firmware with anne",
        lambda r: fmt(r["floop"]["bench"]["per_iteration"], 1))
    row("float loop, instr/iteration, firmware without anne",
        lambda r: fmt(r["floop"]["plain"]["per_iteration"], 1))
    row("float loop ratio with / without anne", lambda r: "%.3f" % r["floop"]["ratio"])
    row("flash anne adds (text+data, bytes)", lambda r: fmt(r["size"]["anne_flash"]))
    row("flash anne added before int8 on the board (main at c35e6a8; text+data, bytes)",
        lambda r: fmt(PRE_INT8_FLASH[r["target"]]))
    row("flash anne adds now less before int8 (bytes)",
        lambda r: fmt(r["size"]["anne_flash"] - PRE_INT8_FLASH[r["target"]]))
    row("anne.mpy now less before int8 (bytes; full, lite)",
        lambda r: "%s; %s" % (fmt(r["natmod"]["mpy_bytes"] - PRE_INT8_MPY[r["target"]][0]),
                              fmt(r["natmod_lite"]["mpy_bytes"] - PRE_INT8_MPY[r["target"]][1])))
    row("RAM anne adds (data+bss, bytes)", lambda r: fmt(r["size"]["anne_ram"]))
    row("frozen anne_net library (frozen_content.o, bytes; in both firmwares; RV32: in the firmware with anne "
        "only, subtracted from what anne adds)",
        lambda r: fmt(r["size"]["frozen_anne_net"]))
    row("instructions per SysTick tick (measured / nominal; RV32: per minstret count, the nominal used)",
        lambda r: "%.3f / %.1f" % (r.get("instr_per_tick_measured", r["instr_per_tick"]),
                                   r["nominal_instr_per_tick"]))
    row("two measured calls in one run differ by at most, instr; relative (minstret; the mean is taken)",
        lambda r: "%s; %.2f %%" % (fmt(r["spread"]), 100 * r["spread_rel"]) if r.get("spread") is not None else "-")
    row("two runs identical", lambda r: ("yes" if r["deterministic"] else "NO") + (
        "" if not r.get("run_jitter") else " (but %d pure-Python record(s): up to %s instructions of %s)" % (
            r["run_jitter"]["records"], fmt(r["run_jitter"]["instructions"]), fmt(r["run_jitter"]["of"]))))
    return "\n".join(rows)


def int8_section(results):
    """summary.md's int8 section: the kernel, call and network tables."""
    return ["## int8 Dense (issue 29)", "",
           "(one int8 Dense call through an `anne.Plan` of one int8 layer tuple, the lowest-overhead public "
           "path (a loaded int8 network's predict_into is such a plan); per multiply-add with the same call on "
           "a 1x1 layer subtracted, as the float dense 64x64 row, and with the call; deterministic "
           "pseudo-random int8 weights, int32 bias, a scale per output unit (the form below), each output checked once "
           "against a plain-Python reference before timing. CMSIS-NN's and TFLite reference's figures are "
           "the issue's (same emulators and method, C called directly, call included). float32: "
           "anne.dense on the same sizes, call on a 1x1 layer subtracted. The int8 kernel: dense_s8 with "
           "its fast paths (docs/int8.md; assembly on Arm). Requantization: %s.)" % ", ".join(
               "%s %s" % (SHORT[t], {"q31": "Q31 multipliers and shifts, single rounding",
                                     "float64": "float64 scales (LiteRT's float mode)"}[res["int8"]["quant"]])
               for t, res in results.items()), "", int8_kernel_table(results), "",
           int8_call_table(results), "",
           "Whole networks as int8 Dense chains (random int8 weights: for timing only; relu clamps on "
           "the hidden layers, no softmax, where the float32 nets end with one), one `anne.Plan` call per "
           "sample as a loaded int8 network's predict_into; against anne_net's float32 predict_into on the "
           "same core (this run):", "", int8_net_table(results), ""]


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
        return False
    ts = list(results)
    fig, axes = plt.subplots(1, len(ts), figsize=(6.5 * len(ts), 5), squeeze=False)
    for ax, t in zip(axes[0], ts):
        res = results[t]
        for impl in IMPLS[:3] + ["emlearn-plain", "emlearn", "ai-anne-style"]:
            pts = sorted((r["macs"], r["instructions_per_inference"]) for r in res["records"]
                         if r["implementation"] == impl and r["batch"] == 1)
            if not pts:
                continue
            style = ":" if impl == "emlearn" else "-"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=LABEL[impl])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("multiply-adds per inference (22, 56, 1664, 8832)")
        ax.set_ylabel("instructions per inference (one sample)")
        ax.set_title("Emulated %s (qemu -icount), MicroPython 1.25" % TITLE[t].split(",")[0])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def write_int8_only(results, out, t0):
    """--only int8: results.json's int8 part and a summary.md of the int8
    section (its tables as the full run's, for readme_tables.py --int8-only)."""
    checks_ = int8_checks(results)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"only": "int8", "records": [r for res in results.values() for r in res["records"]],
                   "targets": {t: {k: v for k, v in res.items() if k != "records"} for t, res in results.items()},
                   "targets_from_issue": [{"target": c, "value": v, "holds": h} for c, v, h in checks_],
                   "int8": {"kernel": [r for res in results.values() for r in res["int8"]["kernel"]],
                            "nets": [r for res in results.values() for r in res["int8"]["nets"]]}},
                  f, indent=1, default=str)
    md = ["# anne benchmarks: the int8 section alone (run_bench.py --only int8)", ""] + int8_section(results)
    md += ["| target | measured | holds |", "|---|---|---|"]
    md += ["| %s | %s | %s |" % (c, v, "yes" if h else "**no**") for c, v, h in checks_]
    md += ["", "| core | instructions per tick (measured / nominal) | two runs identical |", "|---|---|---|"]
    md += ["| %s | %.3f / %.1f | %s |" % (SHORT[t], r["instr_per_tick_measured"], r["nominal_instr_per_tick"],
                                          "yes" if r["deterministic"] else "NO") for t, r in results.items()]
    md += ["", "## Method", "", METHOD]
    summary = "\n".join(md)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(summary)
    print(summary)
    print("\nwrote %s, %s (%.0f s)" % (os.path.join(out, "results.json"), os.path.join(out, "summary.md"),
                                      time.monotonic() - t0))
    if not all(res["deterministic"] for res in results.values()):
        print("run-to-run differences: the counts are not deterministic", file=sys.stderr)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__ + "\nMethod:\n" + METHOD, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    p.add_argument("--targets", default="cortex-m3,cortex-m0,cortex-m4f,riscv32",
                   help="comma-separated, of %s" % ",".join(NOMINAL))
    p.add_argument("--runs", type=int, default=2, help="runs per firmware, which must agree (default 2)")
    p.add_argument("--only", choices=["int8"],
                   help="int8: only the int8 section (int8 kernels and networks, anne_net's float32 figures "
                        "they are set against), on the firmwares with anne alone")
    a = p.parse_args()
    t0 = time.monotonic()
    results = {}
    os.makedirs(a.out, exist_ok=True)
    for t in a.targets.split(","):
        if t not in NOMINAL:
            p.error("unknown target %r (of %s)" % (t, ", ".join(NOMINAL)))
        print("measuring %s ..." % t, file=sys.stderr)
        results[t] = (measure_int8_only if a.only == "int8" else measure_target)(t, a.out, a.runs)
    if a.only == "int8":
        return write_int8_only(results, a.out, t0)

    records = [r for res in results.values() for r in res["records"]]
    extra = {t: {k: v for k, v in res.items() if k != "records"} for t, res in results.items()}
    checks_ = checks(results)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"records": records, "targets": extra,
                   "targets_from_issue": [{"target": c, "value": v, "holds": h} for c, v, h in checks_],
                   "brief_reference": BRIEF,
                   "int8": {"kernel": [r for res in results.values() for r in res["int8"]["kernel"]],
                            "nets": [r for res in results.values() for r in res["int8"]["nets"]],
                            "cmsis_nn_from_issue": {t: {"%d->%d" % k: v for k, v in d.items()}
                                                    for t, d in CMSIS_NN.items()},
                            "tflite_reference_from_issue": {t: {"%d->%d" % k: v for k, v in d.items()}
                                                            for t, d in TFLITE_REF.items()}}},
                  f, indent=1, default=str)
    png = os.path.join(a.out, "instructions.png")
    plotted = plot(results, png)

    md = ["# anne benchmarks", "",
          "Instruction counts on emulated boards (qemu 7.2 `-icount shift=0`, SysTick on the "
          "processor clock, calibrated against a loop of known length), MicroPython 1.25.0 qemu port, "
          "soft-float (`-mfloat-abi=soft`) on the M3 and M0, hard-float (`-mfpu=fpv4-sp-d16 "
          "-mfloat-abi=hard`, emlearn too) on the M4F; on RISC-V (rv32imac, ilp32 soft float) the minstret "
          "CSR counts instructions one for one, and AIfES is not measured there. "
          "Produced by `make bench` (bench/run_bench.py).", ""]
    for t, res in results.items():
        md += ["## %s (%s)" % (TITLE[t], t), "",
               net_table(res), ""]
    for t, res in results.items():
        if res["train"]:
            md += ["## Training, %s: fit() over 16 samples, per sample, in the steady state" % t, "",
                   "(fit(epochs=3) less fit(epochs=1), over the 2 epochs between: forward, backward and "
                   "update, and fit's per-epoch Python; sparse categorical cross-entropy; the AIfES figures are "
                   "the issue's, measured on the same emulated M3; step / forward: against anne_net's "
                   "predict_into in a batch of 20)", "", train_table(res), ""]
    md += ["## The native module: anne.mpy on stock firmware against anne built in", "",
           "(instructions per inference, per sample in a batch of 20: anne.mpy / built-in (ratio), then one "
           "sample alone, which is good to a tick (40 instructions on the M3 and M4F, 62.5 on the M0, "
           "exact on RV32); the "
           "dense 64x64 call, one call; the stock firmware is the "
           "same port without anne, the board library in /lib as .mpy files; heap once imported: "
           "gc.mem_free() before and after `import anne`, where the built-in module takes 0; "
           "ARCH-lite: the inference-only anne.mpy, ANNE_TRAIN=0 and Rust at opt-level \"s\")", "",
           natmod_table(results), ""]
    md += int8_section(results)
    md += ["## Kernels, allocation, size", "", other_table(results), "",
           "## Targets from the issue", "", "| target | measured | holds |", "|---|---|---|"]
    md += ["| %s | %s | %s |" % (c, v, "n/a" if h is None else "yes" if h else "**no**") for c, v, h in checks_]
    md += [""] + notes(results)
    md += ["", "Reference numbers from the issue (emulated M3): " +
           "; ".join("%s %s" % (k, fmt(v)) for k, v in BRIEF.items()) + ".", "",
           "## Method", "", METHOD]
    summary = "\n".join(md)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(summary)
    print(summary)
    print("\nwrote %s, %s%s (%.0f s)" % (os.path.join(a.out, "results.json"), os.path.join(a.out, "summary.md"),
                                         ", " + png if plotted else "", time.monotonic() - t0))
    if not all(res["deterministic"] for res in results.values()):
        print("run-to-run differences: the counts are not deterministic", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
