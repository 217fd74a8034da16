"""Drives an emulated board for the benchmarks: qemu with -icount shift=0
(1 ns of virtual time per guest instruction: deterministic) and MicroPython's
raw REPL, reusing tools/run-on's RawRepl and its qemu command line
(qemu-system-arm for the Cortex-M boards, qemu-system-riscv32 for riscv32)."""

import importlib.machinery
import importlib.util
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_run_on():
    path = os.path.join(ROOT, "tools", "run-on")
    loader = importlib.machinery.SourceFileLoader("anne_run_on", path)
    spec = importlib.util.spec_from_loader("anne_run_on", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


run_on = _load_run_on()
BoardError = run_on.BoardError


class Board:
    """One qemu process running firmware for target (a qemu board of
    tools/run-on: 'cortex-m3', 'cortex-m0', 'cortex-m4f', 'riscv32')."""

    def __init__(self, target, firmware, timeout=600, stock=False, lite=False):
        """stock: firmware without anne, with anne.mpy (lite: the
        inference-only one) and the board library in /lib (as tools/run-on
        --stock puts them)."""
        self.tmp = tempfile.TemporaryDirectory(prefix="anne-bench-")
        lib = run_on.natmod_lib(target, lite) if stock else ()
        images = run_on.Images(target, [], lib, self.tmp.name, firmware) if stock else None
        cmd = run_on.qemu_command(target, firmware, images.qemu_args if stock else [], count=True)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.repl = run_on.RawRepl(self.proc, time.monotonic() + timeout)
        self.repl.enter()
        if stock:
            images.mount(self.repl)

    def run(self, code, echo=None):
        out, err = self.repl.execute(code, echo=echo)
        if err:
            raise BoardError(1, "the script raised:\n" + out.decode(errors="replace") +
                             err.decode(errors="replace"))
        return out.decode(errors="replace")

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
