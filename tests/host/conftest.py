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


def load_run_on():
    """tools/run-on as a module (it has no .py suffix): its board tables and
    helpers for the tests that drive a board themselves."""
    import importlib.machinery
    import importlib.util
    path = os.path.join(TOOLS, "run-on")
    loader = importlib.machinery.SourceFileLoader("anne_run_on", path)
    spec = importlib.util.spec_from_loader("anne_run_on", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


# make test builds every firmware and module before it runs these tests, and
# says so with ANNE_REQUIRE_BUILDS=1: a build missing there is a failure. Run
# on their own (pytest tests/host), the tests whose build is missing skip.
REQUIRE_BUILDS = os.environ.get("ANNE_REQUIRE_BUILDS") == "1"


def need_build(present, what, module_level=False):
    """Skips the test (or the module) unless `present`; fails instead under
    make test. `what` says which make target builds it."""
    import pytest
    if present:
        return
    if REQUIRE_BUILDS:
        pytest.fail("missing under make test: %s" % what, pytrace=False)
    pytest.skip(what, allow_module_level=module_level)


# make test-host runs the files two at a time (pytest-xdist, --dist
# loadfile, in collection order): the ones that drive emulators or builds
# for a minute or more go first, so that neither worker ends alone on one.
SLOW_FIRST = ("test_mip.py", "test_rust_archive.py", "test_rp2.py", "test_estimate.py", "test_doc_blocks.py",
              "test_run_on.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = os.path.basename(str(item.fspath))
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)
