#!/usr/bin/env python3
"""MicroPython's own test suite (tests/basics, float, micropython of the
MicroPython source) on a firmware with anne linked in and on the same
firmware without it: every test must end the same way on both (passed,
skipped or failed), so linking anne changes nothing else.

    python3 tests/run_micropython_suite.py unix FIRMWARE PLAIN_FIRMWARE
    python3 tests/run_micropython_suite.py cortex-m3 FIRMWARE PLAIN_FIRMWARE
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPY_DIR = os.environ.get("MICROPY_DIR", os.path.join(ROOT, "build", "micropython"))
DIRS = ("basics", "float", "micropython")
QEMU = {"cortex-m3": "qemu-system-arm -machine mps2-an385 -nographic -monitor null -semihosting -bios none"}


def run_suite(target, firmware):
    """{test name: "pass" | "skip" | "fail"} from run-tests.py's report."""
    tests = os.path.join(MICROPY_DIR, "tests")
    with tempfile.TemporaryDirectory(prefix="anne-suite-") as results:
        cmd = [sys.executable, "run-tests.py", "-r", results, "-j", "2", "-d"] + list(DIRS)
        env = dict(os.environ)
        if target == "unix":
            env["MICROPY_MICROPYTHON"] = os.path.abspath(firmware)
        else:
            cmd[2:2] = ["-t", "execpty:%s -serial pty -kernel %s" % (QEMU[target], os.path.abspath(firmware))]
        r = subprocess.run(cmd, cwd=tests, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = r.stdout
    performed = re.search(r"^(\d+) tests performed", out, re.M)
    if not performed:
        raise SystemExit("run-tests.py gave no results for %s:\n%s" % (firmware, out[-3000:]))
    lists = {}
    for kind in ("skipped", "failed"):
        m = re.search(r"^\d+ tests %s: (.*)$" % kind, out, re.M)
        lists[kind] = set(m.group(1).split()) if m else set()
    return int(performed.group(1)), lists["skipped"], lists["failed"]


def main():
    target, firmware, plain = sys.argv[1:4]
    n, skipped, failed = run_suite(target, firmware)
    n0, skipped0, failed0 = run_suite(target, plain)
    print("MicroPython's tests (%s) on %s: %d performed, %d skipped, %d failed; without anne: "
          "%d performed, %d skipped, %d failed"
          % (" ".join(DIRS), target, n, len(skipped), len(failed), n0, len(skipped0), len(failed0)))
    ok = n == n0 and skipped == skipped0 and failed == failed0
    for t in sorted(skipped ^ skipped0):
        print("DIFFERS %s: skipped %s" % (t, "with anne only" if t in skipped else "without anne only"))
    for t in sorted(failed ^ failed0):
        print("DIFFERS %s: fails %s" % (t, "with anne only" if t in failed else "without anne only"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
