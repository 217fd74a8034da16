#!/usr/bin/env python3
"""Rewrites the benchmark tables in docs/performance.md from `make bench`'s output
(build/bench/results.json and summary.md): the inference table of each
core, the native module's, the training tables and the AI-ANNE training
comparison, and the int8 section's tables. The prose around them is not
touched: read the diff.

Only the cores in results.json are rewritten (`bench/run_bench.py --targets
riscv32` measures one): the other cores' tables and rows stay as they are.

    python3 bench/readme_tables.py [--bench build/bench] [--readme docs/performance.md] [--int8-only]
"""

import argparse
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["cortex-m3", "cortex-m0", "cortex-m4f", "riscv32"]
CORE = {"cortex-m3": "Cortex-M3", "cortex-m0": "Cortex-M0", "cortex-m4f": "Cortex-M4F", "riscv32": "RISC-V rv32imac"}
SHORT = {"cortex-m3": "M3", "cortex-m0": "M0", "cortex-m4f": "M4F", "riscv32": "RV32"}
NETS = ["ai-anne-4-2-3-2-1", "iris-4-8-3", "16-32-32-4", "64-64-64-10"]
INFER_HEAD = "| network | MACs | anne_net `predict_into` |"
TRAIN_HEAD = "| network | optimizer | batch | anne (instr/sample) |"
NATMOD_HEAD = "| core (arch) | anne.mpy | heap once imported |"
AI_ANNE_HEAD = "| | AI-ANNE style | anne `fit()` |"
# The int8 section's tables (run_bench.py's int8_kernel_table, int8_call_table
# and int8_net_table), rows keyed by core and size or network
# (the header's start, how many leading cells make a row's key)
INT8_HEADS = [("| core | int8 Dense | MACs |", 2), ("| core | int8 call on a 1x1 layer", 1),
              ("| core | network (int8 Dense chain) |", 2)]


readme_path = ["docs/performance.md"]  # for replace_tables's message


def fmt(v):
    return "{:,}".format(int(round(v)))


def inference_rows(res, target):
    def get(net, impl, batch):
        for r in res["records"]:
            if (r["target"], r["network"], r["implementation"], r["batch"]) == (target, net, impl, batch):
                return r["instructions_per_inference"]
        return None

    rows = []
    if target == "riscv32":
        # (its own columns: per multiply-add too)
        for net in NETS:
            a, ab, p = get(net, "anne_net", 1), get(net, "anne_net", 20), get(net, "python", 1)
            e, eb = get(net, "emlearn-plain", 1), get(net, "emlearn-plain", 20)
            macs = [r["macs"] for r in res["records"] if r["network"] == net][0]
            rows.append("| %s | %d | %s | %.1f | %s | %.1f | %s | %s | %s | %.2f | %.2f |" % (
                net, macs, fmt(a), a / macs, fmt(ab), ab / macs, fmt(p), fmt(p / macs), fmt(e), a / e, ab / eb))
        return rows
    for net in NETS:
        a, p, e = get(net, "anne_net", 1), get(net, "python", 1), get(net, "emlearn-plain", 1)
        ab, eb = get(net, "anne_net", 20), get(net, "emlearn-plain", 20)
        macs = [r["macs"] for r in res["records"] if r["network"] == net][0]
        rows.append("| %s | %d | %s | %s | %s | %.2f | %.2f |" % (net, macs, fmt(a), fmt(p), fmt(e), a / e, ab / eb))
    return rows


def summary_tables(summary, head):
    """The body rows of every table in summary.md whose header starts with head."""
    out, lines = [], summary.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(head):
            rows = []
            for l in lines[i + 2:]:
                if not l.startswith("|"):
                    break
                rows.append(l)
            out.append((line, rows))
    return out


def train_tables(summary, targets):
    """{target: body rows} of summary.md's training tables, by their headings."""
    out = {}
    for t in targets:
        i = summary.find("## Training, %s:" % t)
        if i < 0:
            continue
        ((_, rows),) = summary_tables(summary[i:].split("\n## ", 1)[0], TRAIN_HEAD)
        out[t] = rows
    return out


def ai_anne_rows(summary, targets):
    pat = re.compile(r"on its 4-3-1 net, per sample: ([\d,]+) instructions; anne's fit\(\) ([\d,]+) .*?"
                     r"pure-MicroPython backend ([\d,]+|-)\.")
    rows = []
    for target, m in zip([t for t in TARGETS if t in targets], pat.finditer(summary)):
        style, fit, py = (int(g.replace(",", "")) if g != "-" else None for g in m.groups())
        rows.append("| %s | %s | %s (%.1f× fewer) | %s |" % (CORE[target], fmt(style), fmt(fit), style / fit,
                                                               fmt(py) if py is not None else "not timed"))
    return rows


def merge_rows(old, new, key):
    """old rows with those whose key (of a row) is among new's keys replaced
    by new's, the others kept; new's other rows appended, in order."""
    keys = {key(r) for r in new}
    out, done = [], set()
    for r in old:
        k = key(r)
        if k in keys:
            if k not in done:
                out += [n for n in new if key(n) == k]
                done.add(k)
        else:
            out.append(r)
    return out + [n for n in new if key(n) not in done]


def table_rows(readme, head):
    """Body rows of the first table under head (none if there is none)."""
    tables = summary_tables(readme, head)
    return tables[0][1] if tables else []


def replace_tables(readme, head, bodies, header=None):
    """Replaces the body of the n-th README table under head with bodies[n]
    (and its header line with header[n] if given); a body None keeps the
    table as it is."""
    lines = readme.split("\n")
    n = 0
    i = 0
    while i < len(lines):
        if lines[i].startswith(head) and n < len(bodies):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            if bodies[n] is None:
                n += 1
                i = j
                continue
            if header:
                lines[i] = header[n]
            lines[i + 2:j] = bodies[n]
            n += 1
            i += 2 + len(bodies[n - 1])
        else:
            i += 1
    if n != len(bodies):
        raise SystemExit("%s: %d tables under %r, expected %d" % (readme_path[0], n, head, len(bodies)))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bench"))
    p.add_argument("--readme", default=os.path.join(ROOT, "docs", "performance.md"))
    p.add_argument("--int8-only", action="store_true",
                   help="rewrite only the int8 section's tables (the float32 and training ones stay as they are)")
    a = p.parse_args()
    readme_path[0] = a.readme
    res = json.load(open(os.path.join(a.bench, "results.json")))
    summary = open(os.path.join(a.bench, "summary.md")).read()
    readme = open(a.readme).read()
    targets = [t for t in TARGETS if t in res["targets"]]
    if a.int8_only:
        for head, keys in INT8_HEADS:
            readme = int8_table(readme, summary, head, keys)
        open(a.readme, "w").write(readme)
        return
    readme = replace_tables(readme, INFER_HEAD, [inference_rows(res, t) if t in targets else None
                                                 for t in TARGETS])
    train = train_tables(summary, targets)
    readme = replace_tables(readme, TRAIN_HEAD, [train.get(t) for t in TARGETS])
    (nh, nrows), = summary_tables(summary, NATMOD_HEAD)
    # natmod rows: "| M3 (armv7m) | ...", kept for the cores not measured
    nrows = merge_rows(table_rows(readme, NATMOD_HEAD), nrows, lambda r: r.split("|")[1].split("(")[0].strip())
    readme = replace_tables(readme, NATMOD_HEAD, [nrows], [nh])
    readme = replace_tables(readme, AI_ANNE_HEAD, [merge_rows(table_rows(readme, AI_ANNE_HEAD),
                                                              ai_anne_rows(summary, targets),
                                                              lambda r: r.split("|")[1].strip())])
    for head, keys in INT8_HEADS:
        readme = int8_table(readme, summary, head, keys)
    open(a.readme, "w").write(readme)


def int8_table(readme, summary, head, keys):
    """The int8 table under head rewritten from summary.md's: the rows of the
    cores measured replaced (by core and size or network), the others kept;
    its header line as summary.md has it."""
    tables = summary_tables(summary, head)
    if not tables:
        return readme
    ((h, rows),) = tables

    def key(r):
        return tuple(c.strip() for c in r.split("|")[1:1 + keys])

    rows = merge_rows(table_rows(readme, head), rows, key)
    return replace_tables(readme, head, [rows], [h])


if __name__ == "__main__":
    main()
