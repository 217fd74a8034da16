#!/usr/bin/env python3
"""Runs every MicroPython test script in tests/board/ on the given firmware
targets through tools/run-on, and sums up.

    python3 tests/run_board_tests.py [TARGET ...] [-k PATTERN] [-x RUN]

A test script names the files it needs on the board in its first lines:
    # files: tests/fixtures/activations.json tests/fixtures/models/*.anne
(paths relative to the repository root, globs allowed). Several such lines
mean several runs of the script, one with each set of files. The board
library in micropython/ is frozen into the firmware (or installed in /lib
on a TARGET-stock, e.g. cortex-m0-stock: tools/run-on --stock; the
inference-only module on a TARGET-lite: --stock --lite), so scripts
do not list it. It prints lines of its own and ends
with `<name>: N passed, M failed`; it fails by raising. A script passes on a
target when run-on exits 0 and its summary line says 0 failed.
"""

import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_ON = os.path.join(ROOT, "tools", "run-on")
SUMMARY = re.compile(rb"^(\S+): (\d+) passed, (\d+) failed", re.M)


def file_sets(script):
    """One list of files per `# files:` line at the top of the script."""
    sets = []
    with open(script) as f:
        for line in f:
            if not line.startswith("# files:"):
                break
            sets.append(sorted(p for pattern in line[len("# files:"):].split()
                               for p in glob.glob(os.path.join(ROOT, pattern))))
    return sets or [[]]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("targets", nargs="*", default=["unix", "unix-asan", "cortex-m3", "cortex-m0", "cortex-m4f"])
    p.add_argument("-k", default="", help="only scripts whose name contains this (or one of these, comma-separated)")
    p.add_argument("-x", "--exclude", action="append", default=[], metavar="RUN",
                   help="leave out the runs whose name (as printed: 'TARGET tests/board/SCRIPT [FILES]') "
                        "starts with RUN (repeatable)")
    p.add_argument("--only", action="append", default=[], metavar="TARGET:NAMES",
                   help="on TARGET, only the scripts whose name contains one of NAMES (comma-separated; "
                        "repeatable): a slow or small target's subset")
    p.add_argument("-j", "--jobs", type=int, default=2, help="runs at a time (default 2)")
    a = p.parse_args()
    scripts = sorted(s for s in glob.glob(os.path.join(ROOT, "tests", "board", "test_*.py"))
                     if any(k in os.path.basename(s) for k in a.k.split(",")))
    if not scripts:
        print("no test scripts found", file=sys.stderr)
        return 1
    only = dict(o.split(":", 1) for o in a.only)
    jobs = []
    for target in a.targets:
        for script in scripts:
            if target in only and not any(k in os.path.basename(script) for k in only[target].split(",")):
                continue
            sets = file_sets(script)
            for files in sets:
                name = "%s %s" % (target, os.path.relpath(script, ROOT))
                if len(files) > 0 and len(sets) > 1:
                    stems = sorted({os.path.basename(f).split(".")[0] for f in files if not f.endswith(".py")})
                    name += " [%s]" % " ".join(stems if len(stems) <= 6 else stems[:3] + ["and %d more" % (len(stems) - 3)])
                # TARGET-stock: stock firmware with anne.mpy in /lib (run-on --stock);
                # TARGET-lite: the same with the inference-only anne.mpy
                if target.endswith("-stock"):
                    run_on = [RUN_ON, "--stock", target[:-len("-stock")]]
                elif target.endswith("-lite"):
                    run_on = [RUN_ON, "--stock", "--lite", target[:-len("-lite")]]
                else:
                    run_on = [RUN_ON, target]
                if not any(name.startswith(x) for x in a.exclude):
                    jobs.append((name, run_on + [script] + files))

    def run(job):
        t0 = time.monotonic()
        r = subprocess.run(job[1], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return job[0], r, time.monotonic() - t0

    passed = failed = checks = 0
    # Two at a time (the machines this runs on have 2 cores); results are
    # printed in the order of the jobs.
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        for name, r, dt in pool.map(run, jobs):
            m = SUMMARY.findall(r.stdout)
            ok = r.returncode == 0 and m and all(int(f) == 0 for _, _, f in m)
            n = sum(int(k) for _, k, _ in m)
            checks += n
            if ok:
                passed += 1
                print("PASS %s (%d checks, %.1f s)" % (name, n, dt))
            else:
                failed += 1
                print("FAIL %s (exit %d, %.1f s)" % (name, r.returncode, dt))
                sys.stdout.write(r.stdout.decode(errors="replace"))
            sys.stdout.flush()
    print("board tests: %d runs (scripts x file sets x targets), %d checks" % (passed + failed, checks))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
