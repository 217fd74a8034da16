import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
MODELS = os.path.join(FIXTURES, "models")
BAD = os.path.join(FIXTURES, "bad")
IRIS = os.path.join(ROOT, "examples", "iris")

if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
