#!/usr/bin/env python3
"""Writes the board's copies of the int8 2-D fixtures (no TensorFlow):
tests/fixtures/int8/int8_conv2d_*.tflite converted by the converter
(tools/anne_tflite_import.py) into tests/fixtures/int8_2d/<name>.anne, and
<name>.json with the fixture's int8 rows and LiteRT's recorded outputs,
and bad_*.anne, those files with one int8 2-D record spoiled, each with
the fragment of the readers' ValueError in bad.json (tests/board/test_int8_2d.py;
tests/host/test_tflite_conv2d.py checks that they are what this writes and
that the PC reader refuses the bad ones).

    python3 tools/make_int8_conv2d_board.py [OUT_DIR]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_badfiles  # noqa: E402
import anne_file_int8  # noqa: E402
import anne_format  # noqa: E402
import anne_ops  # noqa: E402
import anne_tflite_import  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("int8_conv2d_ds_cnn", "int8_conv2d_mobilenet", "int8_conv2d_global_max")


def board_files():
    """[(file name, bytes)]: each model's .anne and its .json."""
    out = []
    for name in NAMES:
        src = os.path.join(ROOT, "tests", "fixtures", "int8", name)
        data = anne_tflite_import.import_tflite(src + ".tflite").encode()
        with open(src + ".json") as f:
            doc = json.load(f)
        m = anne_format.parse(data)
        index = {"rows": doc["rows"], "outputs": doc["outputs"], "kinds": [L.kind_name for L in m.layers]}
        out.append((name + ".anne", data))
        out.append((name + ".json", (json.dumps(index, separators=(",", ":")) + "\n").encode()))
    bad = bad_files({n: d for n, d in out})
    out += [(n, d) for n, d, _ in bad]
    out.append(("bad.json", (json.dumps([{"file": n, "expect": f} for n, _, f in bad], indent=1) + "\n").encode()))
    return out


def bad_files(good):
    """[(file name, bytes, fragment)]: the converted files with one int8
    2-D record spoiled (good: the .anne files by name)."""
    ds, mb = good["int8_conv2d_ds_cnn.anne"], good["int8_conv2d_mobilenet.anne"]
    m, p = anne_format.parse(ds), anne_format.parse(mb)

    def entry(model, i):
        return model.header_size + i * model.entry_size

    def requant(model, i):
        return model.layers[i].data_offset + anne_file_int8.int8_parts(model.layers[i])["requant"][0]

    relu = anne_ops.ACTIVATIONS.index("relu")
    return [
        ("bad_conv2d_scale_count.anne", anne_badfiles._patch(ds, "<I", entry(m, 0) + 112, 3),
         "count of weight scales 3 (1, or units 4)"),
        ("bad_depthwise_activation.anne", anne_badfiles._patch(ds, "<B", entry(m, 1) + 1, relu),
         "an int8 depthwise_conv2d has only its clamp"),
        ("bad_conv2d_multiplier.anne", anne_badfiles._patch(ds, "<i", requant(m, 0), -1),
         "multiplier -1 shift"),
        ("bad_conv2d_shift.anne", anne_badfiles._patch(ds, "<i", requant(m, 2) + 4 * 6, 32), "shift 32 of channel 0"),
        ("bad_pad_zero_point.anne", anne_badfiles._patch(mb, "<i", entry(p, 0) + 108, p.layers[0].quant[1] + 1),
         "zero_padding2d: count 0, output scale and zero point"),
    ]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "int8_2d")
    os.makedirs(out_dir, exist_ok=True)
    for name, data in board_files():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print("wrote the board's int8 2-D files to %s" % out_dir)


if __name__ == "__main__":
    main()
