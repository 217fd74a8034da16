import sys

from anne_tools import main

sys.exit(main(prog="python -m anne_tools"))
