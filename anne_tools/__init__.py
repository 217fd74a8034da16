"""anne's PC side, as installed by `pip install .`: the converter from Keras
(.keras/.h5) to anne's .anne weight files.

The code is the repository's own: tools/*.py (tools/anne_convert.py with
anne_keras_layers.py, anne_format.py and anne_reference.py; installed as
anne_tools._tools), and the codec the board library uses,
micropython/anne_file.py (and anne_file_int8.py, anne_shape.py), anne_ops.py and anne_core.py (installed as
anne_tools._board). They import each other by their plain names, as in a
checkout, so both folders go on sys.path here.

    anne-convert model.keras -o model.anne --summary
    python -m anne_tools model.keras -o model.anne
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _d in ("_board", "_tools"):
    _p = os.path.join(_HERE, _d)
    if _p not in sys.path:
        sys.path.insert(0, _p)
del _d, _p


def main(argv=None, prog="anne-convert"):
    """The anne-convert command: tools/anne_convert.py's main(), which
    names itself prog in --help and usage errors."""
    import anne_convert
    return anne_convert.main(argv, prog)
