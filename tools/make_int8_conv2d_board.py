#!/usr/bin/env python3
"""Writes the board's copies of the int8 2-D fixtures (no TensorFlow):
tests/fixtures/int8/int8_conv2d_*.tflite converted by the converter
(tools/anne_tflite_import.py) into tests/fixtures/int8_2d/<name>.anne, and
<name>.json with the fixture's int8 rows and LiteRT's recorded outputs
(tests/board/test_int8_2d.py; tests/host/test_tflite_conv2d.py checks that
they are what this writes).

    python3 tools/make_int8_conv2d_board.py [OUT_DIR]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anne_format  # noqa: E402
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
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "int8_2d")
    os.makedirs(out_dir, exist_ok=True)
    for name, data in board_files():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(NAMES) * 2, out_dir))


if __name__ == "__main__":
    main()
