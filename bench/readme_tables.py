#!/usr/bin/env python3
"""Rewrites the benchmark tables in docs/performance.md from `make bench`'s output
(build/bench/results.json and summary.md): the inference table of each
core, the native module's, the training tables and the AI-ANNE training
comparison. The prose around them is not touched: read the diff.

    python3 bench/readme_tables.py [--bench build/bench] [--readme docs/performance.md]
"""

import argparse
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["cortex-m3", "cortex-m0", "cortex-m4f"]
CORE = {"cortex-m3": "Cortex-M3", "cortex-m0": "Cortex-M0", "cortex-m4f": "Cortex-M4F"}
NETS = ["ai-anne-4-2-3-2-1", "iris-4-8-3", "16-32-32-4", "64-64-64-10"]
INFER_HEAD = "| network | MACs | anne_net `predict_into` |"
TRAIN_HEAD = "| network | optimizer | batch | anne (instr/sample) |"
NATMOD_HEAD = "| core (arch) | anne.mpy | heap once imported |"
AI_ANNE_HEAD = "| | AI-ANNE style | anne `fit()` |"


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


def ai_anne_rows(summary):
    pat = re.compile(r"on its 4-3-1 net, per sample: ([\d,]+) instructions; anne's fit\(\) ([\d,]+) .*?"
                     r"pure-MicroPython backend ([\d,]+)\.")
    rows = []
    for target, m in zip(TARGETS, pat.finditer(summary)):
        style, fit, py = (int(g.replace(",", "")) for g in m.groups())
        rows.append("| %s | %s | %s (%.1f× fewer) | %s |" % (CORE[target], fmt(style), fmt(fit), style / fit, fmt(py)))
    return rows


def replace_tables(readme, head, bodies, header=None):
    """Replaces the body of the n-th README table under head with bodies[n]
    (and its header line with header[n] if given)."""
    lines = readme.split("\n")
    n = 0
    i = 0
    while i < len(lines):
        if lines[i].startswith(head) and n < len(bodies):
            if header:
                lines[i] = header[n]
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
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
    a = p.parse_args()
    readme_path[0] = a.readme
    res = json.load(open(os.path.join(a.bench, "results.json")))
    summary = open(os.path.join(a.bench, "summary.md")).read()
    readme = open(a.readme).read()
    readme = replace_tables(readme, INFER_HEAD, [inference_rows(res, t) for t in TARGETS])
    train = summary_tables(summary, TRAIN_HEAD)
    readme = replace_tables(readme, TRAIN_HEAD, [rows for _, rows in train])
    (nh, nrows), = summary_tables(summary, NATMOD_HEAD)
    readme = replace_tables(readme, NATMOD_HEAD, [nrows], [nh])
    readme = replace_tables(readme, AI_ANNE_HEAD, [ai_anne_rows(summary)])
    open(a.readme, "w").write(readme)


if __name__ == "__main__":
    main()
