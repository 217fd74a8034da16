"""tools/run-on against the real firmware: the exit status says whether the
script ran to its end (0), raised (1), crashed the board (2) or hung (3), a
usage error (64), --count's instruction counts, and
FILEs are readable (and writable) on the board by their base name.

Needs the firmware (`make firmware`; `make test` builds it first)."""

import os
import subprocess

import pytest

from conftest import REQUIRE_BUILDS, ROOT, need_build

RUN_ON = os.path.join(ROOT, "tools", "run-on")
FIRMWARE = {
    "unix": os.path.join(ROOT, "build", "unix", "micropython"),
    "cortex-m3": os.path.join(ROOT, "build", "cortex-m3", "firmware.elf"),
    "cortex-m0": os.path.join(ROOT, "build", "cortex-m0", "firmware.elf"),
    "riscv32": os.path.join(ROOT, "build", "riscv32", "firmware.elf"),
}
TARGETS = [t for t, fw in FIRMWARE.items() if os.path.exists(fw)]
need_build(len(TARGETS) == len(FIRMWARE) or (TARGETS and not REQUIRE_BUILDS),
           "no firmware built (run `make firmware`)", module_level=True)


def run_on(target, tmp_path, code, *files, timeout=60):
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run([RUN_ON, "--timeout", str(timeout), target, str(script)] + [str(f) for f in files],
                          capture_output=True, text=True, timeout=timeout + 60)


@pytest.mark.parametrize("target", TARGETS)
def test_files_by_base_name_and_writes(target, tmp_path):
    data = tmp_path / "sub" / "model.bin"
    data.parent.mkdir()
    data.write_bytes(bytes(range(256)) * 3)
    code = (
        "import anne\n"
        "d = open('model.bin', 'rb').read()\n"
        "print(len(d), d[255], d[256])\n"
        "f = open('out.txt', 'w'); f.write('hello'); f.close()\n"
        "print(open('out.txt').read())\n"
    )
    r = run_on(target, tmp_path, code, data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["768", "255", "0", "hello"]


@pytest.mark.parametrize("target", TARGETS)
def test_exception_exits_1_with_traceback(target, tmp_path):
    r = run_on(target, tmp_path, "print('before')\nraise ValueError('boom')\n")
    assert r.returncode == 1
    assert "before" in r.stdout
    assert "ValueError: boom" in r.stderr


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "unix"])
def test_hard_fault_exits_2(target, tmp_path):
    # A write to an address with nothing behind it: a bus fault on the Arm
    # boards, a store access fault on RISC-V (above the virt machine's RAM:
    # its 0x30000000 is PCIe).
    addr = 0x88000000 if target == "riscv32" else 0x30000000
    r = run_on(target, tmp_path, "import machine\nmachine.mem32[0x%x] = 1\n" % addr)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "crashed" in r.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_hang_exits_3(target, tmp_path):
    r = run_on(target, tmp_path, "while True:\n    pass\n", timeout=5)
    assert r.returncode == 3
    assert "timed out" in r.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_get_fetches_a_file_the_script_wrote(target, tmp_path):
    code = "f = open('result.bin', 'wb'); f.write(bytes(range(256)) * 5); f.close()\n"
    got = tmp_path / "got"
    got.mkdir()
    script = tmp_path / "script.py"
    script.write_text(code)
    r = subprocess.run([RUN_ON, "--get", "result.bin", "--get-dir", str(got), target, str(script)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (got / "result.bin").read_bytes() == bytes(range(256)) * 5
    r = subprocess.run([RUN_ON, "--get", "missing.bin", "--get-dir", str(got), target, str(script)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "--get missing.bin" in r.stderr


@pytest.mark.parametrize("target", [t for t in TARGETS if not t.startswith("unix")])
def test_repl_soft_reset_keeps_the_files(target, tmp_path):
    """Ctrl-D at the REPL soft-resets the board; the FILEs are there after it.
    Each key goes in once the board has answered the one before."""
    import select
    import time
    data = tmp_path / "note.txt"
    data.write_text("still here")
    proc = subprocess.Popen([RUN_ON, "--repl", target, str(data)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""

    def wait_for(marker, timeout=60):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (marker, seen)
            if select.select([proc.stdout], [], [], left)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, "run-on ended: %r" % seen
                seen += chunk
        seen = seen[seen.index(marker) + len(marker):]

    def send(keys):
        proc.stdin.write(keys)
        proc.stdin.flush()

    try:
        wait_for(b">>> ")
        send(b"print(open('note.txt').read(), 1)\r")
        wait_for(b"still here 1")
        wait_for(b">>> ")
        send(b"\x04")
        wait_for(b"soft reboot")
        wait_for(b"files uploaded again")
        wait_for(b">>> ")
        send(b"print(open('note.txt').read(), 2)\r")
        wait_for(b"still here 2")
        send(b"\x18")
        proc.wait(timeout=30)
    finally:
        proc.kill()


def test_unix_asan_is_instrumented():
    """The unix-asan firmware the board tests run on has ASan and UBSan in it."""
    fw = os.path.join(ROOT, "build", "unix-asan", "micropython")
    need_build(os.path.exists(fw), "no unix-asan firmware built")
    syms = subprocess.run(["nm", fw], capture_output=True, text=True).stdout
    assert "__asan_report_load4" in syms and "__ubsan_handle_" in syms
    assert "anne_forward" in syms


@pytest.mark.parametrize("target", [t for t in TARGETS if not t.startswith("unix")])
def test_get_after_a_failed_script_shows_its_traceback_first(target, tmp_path):
    """The script raised before it wrote the file: its traceback comes
    first, then --get's complaint, and the status is the script's (1)."""
    script = tmp_path / "script.py"
    script.write_text("print('before')\nraise ValueError('boom')\nopen('out.bin', 'wb').write(b'x')\n")
    r = subprocess.run([RUN_ON, "--get", "out.bin", "--get-dir", str(tmp_path), target, str(script)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "ValueError: boom" in r.stderr and "--get out.bin" in r.stderr
    assert r.stderr.index("ValueError: boom") < r.stderr.index("--get out.bin")


@pytest.mark.parametrize("target", [t for t in TARGETS if not t.startswith("unix")])
def test_files_too_big_are_a_usage_error_naming_the_limit(target, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(1500 * 1024))
    r = run_on(target, tmp_path, "print('never')\n", big)
    assert r.returncode == 64, (r.returncode, r.stderr)
    limit = {"cortex-m3": 1441792, "cortex-m0": 851968, "riscv32": 1048576}[target]
    assert "run-on keeps %d bytes" % limit in r.stderr
    assert "never" not in r.stdout


def test_usage_errors_exit_64(tmp_path):
    r = subprocess.run([RUN_ON, "cortex-m3", str(tmp_path / "missing.py")], capture_output=True, text=True)
    assert r.returncode == 64 and "no such file" in r.stderr
    script = tmp_path / "s.py"
    script.write_text("pass\n")
    r = subprocess.run([RUN_ON, "--count", "unix", str(script)], capture_output=True, text=True)
    assert r.returncode == 64 and "--count" in r.stderr




@pytest.mark.parametrize("target", [t for t in TARGETS if not t.startswith("unix")])
def test_count_prints_the_instructions_a_script_took(target, tmp_path):
    """--count: an empty script takes 0 instructions (the wrapper's own cost
    is subtracted), a loop twice as long takes twice the instructions
    within a few ticks, and a second run gives the same count."""
    def count(code):
        script = tmp_path / "script.py"
        script.write_text(code)
        r = subprocess.run([RUN_ON, "--count", target, str(script)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r, int(r.stderr.split("run-on: the script took ")[1].split()[0])

    loop = "def f(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\nprint(f(%d))\n"
    r, empty = count("pass\n")
    assert abs(empty) <= 2 * 63, r.stderr
    r, one = count(loop % 2000)
    assert r.stdout.split() == [str(sum(range(2000)))]
    _, two = count(loop % 4000)
    _, again = count(loop % 2000)
    assert one > 2000 * 20
    assert abs((two - one) - one) < 0.02 * one, (one, two)
    assert abs(again - one) <= 63, (one, again)
