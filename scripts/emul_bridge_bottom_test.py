#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host test of the bridge SPI emulator's frame-forwarding core, without Zephyr.

Compiles zephyr/src/w5500_emul_bridge_bottom.c (the native boards' host-side code) into a
shared library with the host C compiler, loads it with ctypes, and drives it:
  - against a `w5500-sim` process (in-memory LAN, simulated clock): HELLO, register frames with
    several segments (NULL tx = zeros, NULL rx = discarded), the clock following a given time,
    and a TCP echo exchange with the LAN's echo host done register by register (W5500
    datasheet v1.1.0: DS 2.2 SPI frame, 3.1 common registers, 3.2 socket registers, 4.2 TCP);
  - against fake bridges written here: nothing listening, a start-up delay, a bridge that never
    answers, one that hangs up, one that is not a w5500-sim bridge, one that refuses the version,
    one that answers with the wrong length: each a clear error, within its bound, never a hang.

Usage: emul_bridge_bottom_test.py W5500_SIM_BINARY [SCRATCH_DIR]
Exits 0 when every check passed; prints one line per check.
"""
import ctypes
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "zephyr", "src", "w5500_emul_bridge_bottom.c")

OK, E_CONNECT, E_TIMEOUT, E_CLOSED, E_PROTOCOL, E_REFUSED, E_ARG, E_NOMEM, E_DOWN = (
    0, -1, -2, -3, -4, -5, -6, -7, -8)
CLOCK_WALL, CLOCK_SIM = 0, 1
MAX_SEGS = 16


class Seg(ctypes.Structure):
    _fields_ = [("tx", ctypes.c_void_p), ("rx", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def build(scratch):
    cc = os.environ.get("CC", "cc")
    lib = os.path.join(scratch, "libw5500_bridge_bottom.so")
    subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-shared", "-fPIC",
                    "-o", lib, SRC], check=True)
    L = ctypes.CDLL(lib)
    L.w5500_bridge_new.restype = ctypes.c_void_p
    L.w5500_bridge_free.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32,
                                       ctypes.c_uint32]
    L.w5500_bridge_close.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_connected.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_clock.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_spi_hz.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_spi_hz.restype = ctypes.c_uint32
    L.w5500_bridge_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(Seg), ctypes.c_size_t]
    L.w5500_bridge_sync_clock.argtypes = [ctypes.c_void_p, ctypes.c_uint64,
                                          ctypes.POINTER(ctypes.c_uint64)]
    L.w5500_bridge_error.argtypes = [ctypes.c_void_p]
    L.w5500_bridge_error.restype = ctypes.c_char_p
    return L


class Bridge:
    """A handle of the C client."""

    def __init__(self, lib):
        self.L = lib
        self.h = lib.w5500_bridge_new()
        assert self.h, "w5500_bridge_new"

    def connect(self, path, wait_ms=0, timeout_ms=2000):
        return self.L.w5500_bridge_connect(self.h, path.encode(), wait_ms, timeout_ms)

    def error(self):
        return self.L.w5500_bridge_error(self.h).decode()

    def frame(self, pieces):
        """pieces: list of (tx bytes or None, rx length or None, len). Returns (status, [rx])."""
        segs = (Seg * max(1, len(pieces)))()
        keep = []
        for i, (tx, rx, n) in enumerate(pieces):
            t = ctypes.create_string_buffer(bytes(tx), n) if tx is not None else None
            r = ctypes.create_string_buffer(b"\xee" * n, n) if rx else None
            keep.append((t, r))
            segs[i].tx = ctypes.cast(t, ctypes.c_void_p) if t is not None else None
            segs[i].rx = ctypes.cast(r, ctypes.c_void_p) if r is not None else None
            segs[i].len = n
        st = self.L.w5500_bridge_frame(self.h, segs, len(pieces))
        return st, [r.raw if r is not None else None for _, r in keep]

    def sync(self, now_us):
        out = ctypes.c_uint64(0)
        st = self.L.w5500_bridge_sync_clock(self.h, now_us, ctypes.byref(out))
        return st, out.value

    def free(self):
        self.L.w5500_bridge_free(self.h)


# --- W5500 register access over the C client (DS 2.2: address, control byte, data) ---------

def ctrl(bsb, write):
    return (bsb << 3) | (4 if write else 0)  # OM = 00, variable-length data mode


def sreg(n):
    return 1 + 4 * n  # socket n register block


def stx(n):
    return 2 + 4 * n


def srx(n):
    return 3 + 4 * n


class Chip:
    def __init__(self, bridge):
        self.b = bridge

    def read(self, bsb, addr, n):
        st, rx = self.b.frame([(struct.pack(">HB", addr, ctrl(bsb, False)), None, 3),
                               (None, True, n)])
        assert st == OK, f"read {bsb}:{addr:#x}: {st} {self.b.error()}"
        return rx[1]

    def write(self, bsb, addr, data):
        st, _ = self.b.frame([(struct.pack(">HB", addr, ctrl(bsb, True)), None, 3),
                              (data, None, len(data))])
        assert st == OK, f"write {bsb}:{addr:#x}: {st} {self.b.error()}"

    def r8(self, bsb, addr):
        return self.read(bsb, addr, 1)[0]

    def r16(self, bsb, addr):
        return struct.unpack(">H", self.read(bsb, addr, 2))[0]

    def cmd(self, n, c):
        self.write(sreg(n), 0x0001, bytes([c]))  # Sn_CR
        for _ in range(1000):  # DS 3.2 Sn_CR: cleared once accepted
            if self.r8(sreg(n), 0x0001) == 0:
                return
        raise AssertionError(f"Sn_CR {c:#x} never accepted")


class SimClock:
    """Simulated microseconds handed to w5500_bridge_sync_clock (the image passes k_uptime)."""

    def __init__(self, b):
        self.b = b
        self.us = 0

    def advance(self, us):
        self.us += us
        st, chip = self.b.sync(self.us)
        assert st == OK, f"sync_clock: {st} {self.b.error()}"
        return chip


# --- servers ---------------------------------------------------------------------------------

def start_sim(binary, path, extra=()):
    p = subprocess.Popen([binary, "--listen", "unix:" + path, *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(500):
        if os.path.exists(path):
            return p
        if p.poll() is not None:
            raise AssertionError("w5500-sim exited: " + p.stderr.read().decode())
        time.sleep(0.01)
    p.kill()
    raise AssertionError("w5500-sim did not create its socket")


def stop(p):
    p.kill()
    p.wait(timeout=10)


class Fake:
    """A fake bridge on a Unix socket: `behave(conn)` plays one client, in a thread."""

    def __init__(self, path, behave):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(4)
        self.s.settimeout(10)
        self.path = path
        self.behave = behave
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            c, _ = self.s.accept()
        except OSError:
            return
        c.settimeout(10)
        try:
            self.behave(c)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.s.close()
        self.t.join(timeout=10)
        os.unlink(self.path)


def recv_exact(c, n):
    d = b""
    while len(d) < n:
        x = c.recv(n - len(d))
        if not x:
            raise OSError("eof")
        d += x
    return d


def read_req(c):
    op, n = struct.unpack(">BI", recv_exact(c, 5))
    return op, recv_exact(c, n)


def hello_ok(c, clock=1):
    op, p = read_req(c)
    assert op == 0x01 and p == b"W5SB\x00\x01", (op, p)
    c.sendall(struct.pack(">BI", 0, 11) + b"W5SB\x00\x01" + bytes([clock]) + struct.pack(">I", 1))


# --- checks ----------------------------------------------------------------------------------

CHECKS = []


def check(f):
    CHECKS.append(f)
    return f


def timed(f):
    t0 = time.monotonic()
    r = f()
    return r, time.monotonic() - t0


@check
def missing_bridge_is_a_connect_error(env):
    b = Bridge(env.lib)
    path = os.path.join(env.dir, "nobody.sock")
    st, _ = timed(lambda: b.connect(path, wait_ms=0))
    assert st == E_CONNECT, st
    e = b.error()
    assert "unix:" + path in e and "No such file" in e and "w5500-sim --listen" in e, e
    assert not env.lib.w5500_bridge_connected(b.h)
    st, _ = b.frame([(b"\x00\x39\x00", None, 3)])
    assert st == E_DOWN, st
    b.free()


@check
def bad_paths_and_arguments(env):
    b = Bridge(env.lib)
    assert b.connect("x" * 200) == E_CONNECT and "longer than" in b.error(), b.error()
    assert b.connect("unix:") == E_CONNECT, b.error()
    assert b.connect("whatever", timeout_ms=0) == E_ARG
    b.free()


@check
def waits_for_a_bridge_that_starts_later(env):
    """The image may start first: connect retries while nothing listens (bounded by wait_ms)."""
    path = os.path.join(env.dir, "late.sock")
    b = Bridge(env.lib)
    holder = {}

    def later():
        time.sleep(0.3)
        holder["p"] = start_sim(env.sim, path)

    t = threading.Thread(target=later)
    t.start()
    st = b.connect(path, wait_ms=10000)
    t.join()
    try:
        assert st == OK, b.error()
        assert env.lib.w5500_bridge_connected(b.h)
    finally:
        b.free()
        stop(holder["p"])


@check
def registers_and_a_tcp_echo_through_w5500_sim(env):
    path = os.path.join(env.dir, "sim.sock")
    p = start_sim(env.sim, path)
    b = Bridge(env.lib)
    try:
        assert b.connect(path, wait_ms=0, timeout_ms=5000) == OK, b.error()
        assert env.lib.w5500_bridge_clock(b.h) == CLOCK_SIM
        assert env.lib.w5500_bridge_spi_hz(b.h) == 20_000_000
        clock = SimClock(b)
        chip_us = clock.advance(300_000)  # past PLL lock and auto-negotiation
        assert chip_us >= 300_000, chip_us
        c = Chip(b)
        assert c.r8(0, 0x0039) == 0x04, "DS 3.1 VERSIONR"

        # One frame, several segments: header, then 4 bytes clocked out and read back in the
        # same frame is not possible, so: write GAR+SUBR (8 bytes in two segments), read them
        # back with a NULL-rx header segment and two rx segments.
        st, _ = b.frame([(struct.pack(">HB", 0x0001, ctrl(0, True)), None, 3),
                         (bytes([10, 77, 0, 1]), None, 4), (bytes([255, 255, 255, 0]), None, 4)])
        assert st == OK, b.error()
        st, rx = b.frame([(struct.pack(">HB", 0x0001, ctrl(0, False)), None, 3),
                          (None, True, 2), (None, True, 6)])
        assert st == OK and rx[1] + rx[2] == bytes([10, 77, 0, 1, 255, 255, 255, 0]), rx
        # A read frame with a NULL tx data segment clocks zeros (the chip ignores MOSI there).
        assert c.read(0, 0x0005, 4) == bytes([255, 255, 255, 0])
        c.write(0, 0x0009, bytes([0x02, 0x08, 0xDC, 0x13, 0x13, 0x01]))  # SHAR
        c.write(0, 0x000F, bytes([10, 77, 0, 50]))  # SIPR
        assert c.read(0, 0x0009, 6) == bytes([0x02, 0x08, 0xDC, 0x13, 0x13, 0x01])

        # DS 4.2 TCP client: socket 0 to the LAN's echo host 10.77.0.11:7.
        c.write(sreg(0), 0x0000, b"\x01")  # Sn_MR TCP
        c.write(sreg(0), 0x0004, struct.pack(">H", 40000))  # Sn_PORT
        c.cmd(0, 0x01)  # OPEN
        assert c.r8(sreg(0), 0x0003) == 0x13, "SOCK_INIT"
        c.write(sreg(0), 0x000C, bytes([10, 77, 0, 11]) + struct.pack(">H", 7))  # DIPR, DPORT
        c.cmd(0, 0x04)  # CONNECT
        for _ in range(2000):
            if c.r8(sreg(0), 0x0003) == 0x17:
                break
            clock.advance(1000)
        assert c.r8(sreg(0), 0x0003) == 0x17, "SOCK_ESTABLISHED"
        msg = bytes((i * 7 + 3) & 0xFF for i in range(1500))
        wr = c.r16(sreg(0), 0x0024)  # Sn_TX_WR
        c.write(stx(0), wr, msg)
        c.write(sreg(0), 0x0024, struct.pack(">H", (wr + len(msg)) & 0xFFFF))
        c.cmd(0, 0x20)  # SEND
        got = b""
        for _ in range(5000):
            n = c.r16(sreg(0), 0x0026)  # Sn_RX_RSR
            if n:
                rd = c.r16(sreg(0), 0x0028)
                got += c.read(srx(0), rd, n)
                c.write(sreg(0), 0x0028, struct.pack(">H", (rd + n) & 0xFFFF))
                c.cmd(0, 0x40)  # RECV
            if len(got) >= len(msg):
                break
            clock.advance(1000)
        assert got == msg, f"echo: {len(got)} bytes back of {len(msg)}"
        c.cmd(0, 0x08)  # DISCON
        env.note(f"echo of {len(msg)} bytes through the C client, chip clock "
                 f"{clock.us / 1e6:.3f} s")

        # The clock never goes back: an earlier time leaves it where it is.
        st, t = b.sync(1000)
        assert st == OK and t >= clock.us, (st, t)

        # Too many segments and oversize frames are refused before anything is sent; the
        # connection stays up.
        st, _ = b.frame([(b"\x00", None, 1)] * (MAX_SEGS + 1))
        assert st == E_ARG and env.lib.w5500_bridge_connected(b.h), b.error()
        assert c.r8(0, 0x0039) == 0x04

        # Reconnect: the chip's state lives in the server (SIPR written above survives).
        env.lib.w5500_bridge_close(b.h)
        assert not env.lib.w5500_bridge_connected(b.h)
        assert b.connect(path, timeout_ms=5000) == OK, b.error()
        assert Chip(b).read(0, 0x000F, 4) == bytes([10, 77, 0, 50])
    finally:
        b.free()
        stop(p)


@check
def a_bridge_that_never_answers_times_out(env):
    path = os.path.join(env.dir, "silent.sock")
    gate = threading.Event()
    f = Fake(path, lambda c: gate.wait(20))
    b = Bridge(env.lib)
    try:
        st, dt = timed(lambda: b.connect(path, timeout_ms=300))
        assert st == E_TIMEOUT, st
        assert "no reply to HELLO within 300 ms" in b.error(), b.error()
        assert dt < 10, f"connect took {dt:.1f} s"  # bounded: a hang would never return
        assert not env.lib.w5500_bridge_connected(b.h)
    finally:
        gate.set()
        b.free()
        f.close()


@check
def a_bridge_that_stalls_mid_session_times_out(env):
    path = os.path.join(env.dir, "stall.sock")
    gate = threading.Event()

    def behave(c):
        hello_ok(c)
        gate.wait(20)

    f = Fake(path, behave)
    b = Bridge(env.lib)
    try:
        assert b.connect(path, timeout_ms=300) == OK, b.error()
        st, _ = b.frame([(b"\x00\x39\x00", None, 3), (None, True, 1)])
        assert st == E_TIMEOUT and "no reply to SELECT" in b.error(), (st, b.error())
        st, _ = b.frame([(b"\x00\x39\x00", None, 3)])
        assert st == E_DOWN, st
    finally:
        gate.set()
        b.free()
        f.close()


@check
def a_bridge_that_hangs_up_is_reported(env):
    path = os.path.join(env.dir, "hangup.sock")

    def behave(c):
        hello_ok(c)
        read_req(c)  # SELECT, then hang up

    f = Fake(path, behave)
    b = Bridge(env.lib)
    try:
        assert b.connect(path, timeout_ms=2000) == OK, b.error()
        st, _ = b.frame([(b"\x00\x39\x00", None, 3), (None, True, 1)])
        assert st == E_CLOSED and "closed the connection" in b.error(), (st, b.error())
    finally:
        b.free()
        f.close()


@check
def not_a_bridge_and_wrong_versions_are_protocol_errors(env):
    b = Bridge(env.lib)
    cases = [
        # (reply to HELLO, expected status, text in the error)
        (struct.pack(">BI", 0, 11) + b"HTTP\x00\x01\x01\x00\x00\x00\x01", E_PROTOCOL,
         "not a w5500-sim bridge"),
        (struct.pack(">BI", 0, 11) + b"W5SB\x00\x02\x01\x00\x00\x00\x01", E_PROTOCOL,
         "version 2"),
        (struct.pack(">BI", 0, 11) + b"W5SB\x00\x01\x07\x00\x00\x00\x01", E_PROTOCOL,
         "clock byte 7"),
        (struct.pack(">BI", 5, 28) + b"this server speaks version 9", E_REFUSED,
         "status 5 (VERSION): this server speaks version 9"),
        (struct.pack(">BI", 0, 3) + b"W5S", E_PROTOCOL, "has 3 bytes, expected 11"),
        (struct.pack(">BI", 0, 0x7FFFFFFF), E_PROTOCOL, "above the protocol's 1 MiB"),
    ]
    try:
        for i, (reply, want, text) in enumerate(cases):
            path = os.path.join(env.dir, f"bad{i}.sock")

            def behave(c, reply=reply):
                read_req(c)
                c.sendall(reply)
                time.sleep(0.5)

            f = Fake(path, behave)
            try:
                st = b.connect(path, timeout_ms=2000)
                assert st == want and text in b.error(), (i, st, b.error())
            finally:
                f.close()
    finally:
        b.free()


@check
def a_refused_frame_carries_the_bridge_message(env):
    path = os.path.join(env.dir, "refuse.sock")

    def behave(c):
        hello_ok(c)
        read_req(c)
        msg = b"already selected"
        c.sendall(struct.pack(">BI", 2, len(msg)) + msg)
        time.sleep(0.5)

    f = Fake(path, behave)
    b = Bridge(env.lib)
    try:
        assert b.connect(path) == OK, b.error()
        st, _ = b.frame([(b"\x00\x39\x00", None, 3)])
        assert st == E_REFUSED, st
        assert b.error() == "SELECT refused: status 2 (BAD_STATE): already selected", b.error()
    finally:
        b.free()
        f.close()


class Env:
    def __init__(self, sim, scratch):
        self.sim = sim
        self.dir = scratch
        self.lib = build(scratch)
        self.notes = []

    def note(self, s):
        self.notes.append(s)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    own = len(sys.argv) < 3
    scratch = tempfile.mkdtemp(prefix="w5k-bottom-") if own else sys.argv[2]
    try:
        env = Env(sys.argv[1], scratch)
        for f in CHECKS:
            f(env)
            print(f"ok {f.__name__}")
        for n in env.notes:
            print(f"   {n}")
        print(f"{len(CHECKS)} checks passed")
    finally:
        if own:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
