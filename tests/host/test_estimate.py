"""tools/anne_estimate.py's cost estimate against the emulated boards, on
networks its calibration (tools/calibrate_estimate.py) did not use: make
bench's networks (bench/board_bench.py's shapes) and a Conv1D model of the
fixtures. Each is measured here as the calibration measures: `tools/run-on
--count` (qemu -icount shift=0) of a script that loads the model and calls
predict_into 1 + K times, less the same with one call; the heap from
gc.mem_alloc() around anne_net.load() (from the path, and from the bytes,
used in place) and the board's net.training_memory(16). The estimate must
be within 10 % of each."""
import os

import pytest

from conftest import MODELS, ROOT, need_build

import anne_estimate
import anne_format
import calibrate_estimate

# make bench's networks (bench/board_bench.py: build(), conv_net()) and a
# Conv1D fixture with a dilated causal Conv1D, tanh and softmax.
NETS = {
    "ai-anne-4-2-3-2-1": ((4,), [("dense", 2, "relu"), ("dense", 3, "sigmoid"), ("dense", 2, "relu"),
                                 ("dense", 1, "sigmoid")]),
    "iris-4-8-3": ((4,), [("dense", 8, "relu"), ("dense", 3, "softmax")]),
    "16-32-32-4": ((16,), [("dense", 32, "relu"), ("dense", 32, "relu"), ("dense", 4, "softmax")]),
    "64-64-64-10": ((64,), [("dense", 64, "relu"), ("dense", 64, "relu"), ("dense", 10, "softmax")]),
    "dense-64x64": ((64,), [("dense", 64, "linear")]),
    "conv-16x3": ((16, 3), [("conv", 8, 5, 1, "same", 1, "relu"), ("maxpool", 2, 2, "valid"),
                            ("conv", 8, 3, 1, "valid", 1, "relu"), ("gap",), ("dense", 3, "softmax")]),
}
FIXTURE = "conv_har"
TOLERANCE = 0.10


def _nets():
    nets = {name: calibrate_estimate.build(*spec, seed=7) for name, spec in NETS.items()}
    with open(os.path.join(MODELS, FIXTURE + ".anne"), "rb") as f:
        nets[FIXTURE] = f.read()
    return nets


def test_not_calibrated_on():
    """The networks checked here are not the calibration's."""
    calibration = {calibrate_estimate.build(*spec) for spec in calibrate_estimate.CALIBRATION.values()}
    shapes = {repr(spec) for spec in calibrate_estimate.CALIBRATION.values()}
    for name, data in _nets().items():
        assert data not in calibration, name
        assert repr(NETS.get(name)) not in shapes, name


@pytest.fixture(scope="module")
def measured():
    for target in anne_estimate.TARGETS:
        need_build(os.path.exists(os.path.join(ROOT, "build", target, "firmware.elf")),
                   "the firmware of make %s" % {"cortex-m0": "qemu-m0", "cortex-m3": "qemu-m3",
                                                 "cortex-m4f": "qemu-m4f", "riscv32": "qemu-rv32"}[target])
    nets = _nets()
    # (determinism is checked by the calibration, which runs a script twice)
    return nets, calibrate_estimate.measure(anne_estimate.TARGETS, nets, check=False)


def _within(got, want):
    return abs(got - want) <= TOLERANCE * abs(want)


@pytest.mark.parametrize("target", anne_estimate.TARGETS)
def test_instructions_per_prediction(measured, target):
    nets, res = measured
    rows, bad = [], []
    for name, data in sorted(nets.items()):
        est = anne_estimate.instructions(anne_format.parse(data), target)
        got = res[target][name]["instructions"]
        rows.append("%-18s measured %10.0f estimated %10d (%+.1f%%)" % (name, got, est, 100.0 * (est - got) / got))
        if not _within(est, got):
            bad.append(name)
    print("\n".join([target] + rows))
    assert not bad, "\n".join(["beyond 10 %% on %s: %s" % (target, bad)] + rows)


@pytest.mark.parametrize("target", anne_estimate.TARGETS)
def test_ram(measured, target):
    nets, res = measured
    rows, bad = [], []
    for name, data in sorted(nets.items()):
        e = anne_estimate.estimate(data, calibrate_estimate.BATCH)["targets"][target]
        m = res[target][name]
        for key in ("ram_file", "ram_in_place", "training_ram"):
            rows.append("%-18s %-12s measured %8s estimated %8s" % (name, key, m[key], e[key]))
            if (m[key] is None) != (e[key] is None) or (m[key] is not None and not _within(e[key], m[key])):
                bad.append((name, key))
    print("\n".join([target] + rows))
    assert not bad, "\n".join(["beyond 10 %% on %s: %s" % (target, bad)] + rows)


def test_cli_and_keras(capsys):
    """The command prints a row per board class; a Keras model is converted
    in memory first, with the .anne file's instructions and training heap
    (the file written by the converter has metadata that this one lacks)."""
    base = os.path.join(MODELS, "iris3")
    assert anne_estimate.main([base + ".anne", "--batch", "8"]) == 0
    out = capsys.readouterr().out
    for _, board, mhz in anne_estimate.BOARDS:
        assert board in out and "%d MHz" % mhz in out
    assert "training (batch 8)" in out
    pytest.importorskip("h5py")
    a, b = anne_estimate.estimate(base + ".keras"), anne_estimate.estimate(base + ".anne")
    for target in anne_estimate.TARGETS:
        for key in ("instructions", "training_ram"):
            assert a["targets"][target][key] == b["targets"][target][key]
