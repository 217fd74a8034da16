"""The files run-on gives a qemu board: a ROMFS image of them, built on
the PC (`romfs_image`), and the RAM filesystem the board mounts over it at
"/" before the script runs (`RAMFS_SETUP`, MicroPython source that runs on
the board), so that the script reads the files in place, as from flash, and
can write files of its own.
"""
import os


# Mounted at "/" on the emulated boards before the script runs: a filesystem
# in RAM holding the FILEs (the qemu port has no filesystem of its own).
RAMFS_SETUP = r"""
import io as _io, vfs
class _Writer:
    def __init__(s, fs, name, text):
        s.fs, s.name, s.text, s.buf = fs, name, text, bytearray()
    def write(s, data):
        s.buf.extend(data.encode() if s.text else data)
        return len(data)
    def flush(s):
        # (the buffer itself, not a copy: a copy wants a second block of the
        # file's size, which a small fragmented heap may not have)
        if s.buf is not None:
            s.fs.files[s.name] = s.buf
    def close(s):
        # (the buffer goes: the writer stays listed for --get, and a copy of
        # every file written, mip's anne.mpy among them, would stay in the heap)
        s.flush()
        s.buf = None
    def __enter__(s):
        return s
    def __exit__(s, *a):
        s.close()
class _Reader(_io.IOBase):
    # A written file read in place, without the copy io.BytesIO makes (a
    # board's flash file is not copied into RAM either); a stream (IOBase:
    # readinto, ioctl) for import, as mip's anne.mpy is imported.
    def __init__(s, data):
        s.data, s.pos = data, 0
    def read(s, n=-1):
        end = len(s.data) if n is None or n < 0 else min(len(s.data), s.pos + n)
        out = bytes(memoryview(s.data)[s.pos:end]) if end > s.pos else b""
        s.pos = max(s.pos, end)
        return out
    def readinto(s, buf):
        # (an array's items may be 4 bytes: a BytesIO of at most that much)
        n = _io.BytesIO(memoryview(s.data)[s.pos:s.pos + 4 * len(buf)]).readinto(buf)
        s.pos += n
        return n
    def seek(s, off, whence=0):
        s.pos = max(0, (0, s.pos, len(s.data))[whence] + off)
        return s.pos
    def tell(s):
        return s.pos
    def ioctl(s, request, arg):
        return 0
    def close(s):
        s.data = b""
    def __enter__(s):
        return s
    def __exit__(s, *a):
        s.close()
class _RamFS:
    # The uploaded FILEs are a ROMFS image in RAM (read in place, like flash);
    # files written by the script are kept in a dict.
    def __init__(s, rom):
        s.rom, s.files, s.gone, s.writers, s.dirs = rom, {}, set(), [], set()
    def mount(s, readonly, mkfs):
        pass
    def umount(s):
        pass
    def chdir(s, path):
        pass
    def getcwd(s):
        return ""
    def _name(s, path):
        return path.strip("/")
    def _in_rom(s, n):
        if s.rom is None or n in s.gone or n in s.files:
            return False
        try:
            s.rom.stat(n)
            return True
        except OSError:
            return False
    def ilistdir(s, path):
        d = s._name(path)
        if d == "":
            for e in (s.rom.ilistdir("") if s.rom else ()):
                if e[0] not in s.gone and e[0] not in s.files:
                    yield e
        elif d not in s.dirs:
            raise OSError(2)
        pre = d + "/" if d else ""
        for n in s.dirs:
            if n.startswith(pre) and "/" not in n[len(pre):]:
                yield (n[len(pre):], 0x4000, 0, 0)
        for n, data in s.files.items():
            if n.startswith(pre) and "/" not in n[len(pre):]:
                yield (n[len(pre):], 0x8000, 0, len(data))
    def stat(s, path):
        n = s._name(path)
        if n == "" or n in s.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if n in s.files:
            return (0x8000, 0, 0, 0, 0, 0, len(s.files[n]), 0, 0, 0)
        if s._in_rom(n):
            return s.rom.stat(n)
        raise OSError(2)
    def statvfs(s, path):
        return (512, 512, 0, 0, 0, 0, 0, 0, 0, 255)
    def open(s, path, mode):
        n = s._name(path)
        if "w" in mode or "a" in mode:
            w = _Writer(s, n, "b" not in mode)
            s.writers.append(w)  # flushed by --get even if the script never closed it
            if "a" in mode:
                with s.open(n, "rb") as f:
                    w.buf.extend(f.read())
            return w
        if n in s.files:
            return _Reader(s.files[n]) if "b" in mode else _io.StringIO(bytes(s.files[n]).decode())
        if s._in_rom(n):
            return s.rom.open(n, mode)
        raise OSError(2)
    def remove(s, path):
        n = s._name(path)
        s.stat(n)
        s.files.pop(n, None)
        s.gone.add(n)
    def rename(s, a, b):
        with s.open(a, "rb") as f:
            s.files[s._name(b)] = f.read()
        s.remove(a)
    def mkdir(s, path):
        # (directories of written files only, as mip makes /lib)
        n = s._name(path)
        if n == "" or n in s.dirs or s._in_rom(n) or n in s.files:
            raise OSError(17)
        s.dirs.add(n)
"""

def romfs_image(files):
    """A ROMFS image (MicroPython's vfs.VfsRom format, as mpremote's romfs
    command writes it) of FILEs by base name, each file's data 4-aligned in
    the image, so that weight files can be used in place."""
    def uint(value, width=0):
        out = [value & 0x7F]
        value >>= 7
        while value:
            out.insert(0, 0x80 | (value & 0x7F))
            value >>= 7
        return bytes([0x80] * (width - len(out)) + out)

    def record(kind, payload):
        return uint(kind) + uint(len(payload)) + payload

    header_len = 8  # 3 magic bytes + the length, padded to 5 bytes
    body = bytearray()
    for path in files:
        name = os.path.basename(path).encode()
        with open(path, "rb") as f:
            data = f.read()
        for pad in (b"", record(1, b""), record(1, b"\0"), record(1, b"\0\0"), record(1, b"\0\0\0")):
            head = uint(5) + uint(len(uint(len(name)) + name + uint(2) + uint(len(data))) + len(data))
            head += uint(len(name)) + name + uint(2) + uint(len(data))
            if (header_len + len(body) + len(pad) + len(head)) % 4 == 0:
                break
        body += pad + head + data
    return b"\xd2\xcd\x31" + uint(len(body), 5) + bytes(body)
