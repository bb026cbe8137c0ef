#!/usr/bin/env python3
"""Minimal w5500-sim bridge client (standard library only).

Usage:
  bridge_client.py ADDR                 read VERSIONR; prints "VERSIONR=0xNN", exit 0 when 0x04
  bridge_client.py ADDR inbound [PORT]  make a LAN host connect to the chip (LAN_CLIENT) and
                                        echo what it sends through the chip's registers; prints
                                        the LAN's report, exit 0 when it says "ok"
ADDR is unix:PATH or tcp:127.0.0.1:PORT. Written from the protocol description in the
w5500_sim::bridge module docs (version 1, big-endian framing: request = op:u8 len:u32 payload,
reply = status:u8 len:u32 payload) and the W5500 datasheet (DS 2.2 SPI frames, 4.2 socket
registers). Needs the simulated clock (the default of w5500-sim).
"""
import socket
import struct
import sys

HELLO, BYE, SELECT, TRANSFER, DESELECT = 0x01, 0x02, 0x10, 0x11, 0x12
ADVANCE, LAN_CLIENT, LAN_REPORTS = 0x41, 0x50, 0x51

# Common registers (DS 3.1) and socket registers (DS 3.2), socket 0.
GAR, SUBR, SHAR, SIPR = 0x0001, 0x0005, 0x0009, 0x000F
SN_MR, SN_CR, SN_SR, SN_PORT = 0x0000, 0x0001, 0x0003, 0x0004
SN_TX_WR, SN_RX_RSR, SN_RX_RD = 0x0024, 0x0026, 0x0028
S0_REG, S0_TX, S0_RX = 1, 2, 3  # block select bits of socket 0
OPEN, LISTEN, DISCON, SEND, RECV = 0x01, 0x02, 0x08, 0x20, 0x40
SOCK_INIT, SOCK_LISTEN, SOCK_ESTABLISHED, SOCK_CLOSE_WAIT = 0x13, 0x14, 0x17, 0x1C
OUTCOMES = ["ok", "refused", "reset", "closed-early", "mismatch", "bad-response", "timeout",
            "no-address", "heap-short", "accepted"]


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    elif addr.startswith("tcp:"):
        host, port = addr[4:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    else:
        raise SystemExit("address must be unix:PATH or tcp:127.0.0.1:PORT")
    s.settimeout(5)
    return s


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("bridge closed the connection")
        data += chunk
    return data


def call(s, op, payload=b""):
    s.sendall(struct.pack(">BI", op, len(payload)) + payload)
    status, length = struct.unpack(">BI", recv_exact(s, 5))
    body = recv_exact(s, length)
    if status != 0:
        raise RuntimeError(f"op 0x{op:02x} failed: status {status}: {body.decode(errors='replace')}")
    return body


def read(s, bsb, addr, n):
    """DS 2.2: address, control byte (BSB, read, variable length), then n data bytes."""
    call(s, SELECT)
    call(s, TRANSFER, struct.pack(">HB", addr, bsb << 3))
    data = call(s, TRANSFER, bytes(n))
    call(s, DESELECT)
    return data


def write(s, bsb, addr, data):
    call(s, SELECT)
    call(s, TRANSFER, struct.pack(">HB", addr, (bsb << 3) | 0x04) + data)
    call(s, DESELECT)


def read16(s, bsb, addr):
    return struct.unpack(">H", read(s, bsb, addr, 2))[0]


def command(s, cmd):
    write(s, S0_REG, SN_CR, bytes([cmd]))
    for _ in range(100):  # Sn_CR reads 0 once the chip accepted the command
        if read(s, S0_REG, SN_CR, 1)[0] == 0:
            return
    raise RuntimeError(f"command 0x{cmd:02x} not accepted")


def advance_ms(s, ms):
    call(s, ADVANCE, struct.pack(">Q", ms * 1000))


def reports(s):
    """LAN_REPORTS: pending:u32 count:u16, then the reports; returns (pending, [(outcome, text)])."""
    body = call(s, LAN_REPORTS)
    pending, count = struct.unpack(">IH", body[:6])
    at, out = 6, []
    for _ in range(count):
        outcome = body[at + 12]
        at += 4 + 4 + 4 + 1 + 1 + 4 + 8 + 8 + 8 + 8 + 6 + 6
        (n,) = struct.unpack(">H", body[at:at + 2])
        out.append((outcome, body[at + 2:at + 2 + n].decode()))
        at += 2 + n
    return pending, out


def versionr(s):
    # VERSIONR: common block (BSB 0), address 0x0039, read, variable-length mode (DS 2.2).
    call(s, SELECT)
    header = call(s, TRANSFER, bytes([0x00, 0x39, 0x00]))
    data = call(s, TRANSFER, b"\x00")
    call(s, DESELECT)
    assert len(header) == 3
    print(f"VERSIONR=0x{data[0]:02x}")
    return 0 if data[0] == 0x04 else 1


def inbound(s, port):
    # The chip at 10.77.0.50/24 on the simulated LAN, socket 0 listening on `port`.
    write(s, 0, GAR, bytes([10, 77, 0, 1]))
    write(s, 0, SUBR, bytes([255, 255, 255, 0]))
    write(s, 0, SHAR, bytes([0x02, 0x08, 0xdc, 0x00, 0x00, 0x42]))
    write(s, 0, SIPR, bytes([10, 77, 0, 50]))
    write(s, S0_REG, SN_MR, b"\x01")  # TCP
    write(s, S0_REG, SN_PORT, struct.pack(">H", port))
    command(s, OPEN)
    assert read(s, S0_REG, SN_SR, 1)[0] == SOCK_INIT
    command(s, LISTEN)
    assert read(s, S0_REG, SN_SR, 1)[0] == SOCK_LISTEN
    spec = f"tcp name=py port={port} send=text:hello%20from%20python%0A expect=echo timeout=5s"
    ids = call(s, LAN_CLIENT, spec.encode())
    assert struct.unpack(">H", ids[:2])[0] == 1, ids
    echoed, done = 0, []
    for _ in range(2000):  # at most 2 s of simulated time
        advance_ms(s, 1)
        sr = read(s, S0_REG, SN_SR, 1)[0]
        if sr in (SOCK_ESTABLISHED, SOCK_CLOSE_WAIT):
            n = read16(s, S0_REG, SN_RX_RSR)
            if n:
                rd = read16(s, S0_REG, SN_RX_RD)
                data = read(s, S0_RX, rd, n)  # the chip maps the pointer into the buffer
                write(s, S0_REG, SN_RX_RD, struct.pack(">H", (rd + n) & 0xFFFF))
                command(s, RECV)
                wr = read16(s, S0_REG, SN_TX_WR)
                write(s, S0_TX, wr, data)
                write(s, S0_REG, SN_TX_WR, struct.pack(">H", (wr + n) & 0xFFFF))
                command(s, SEND)
                echoed += n
            elif sr == SOCK_CLOSE_WAIT:
                command(s, DISCON)
        pending, got = reports(s)
        done += got
        if done and pending == 0:
            break
    for outcome, text in done:
        print(text)
    print(f"echoed {echoed} bytes through the chip")
    return 0 if done and all(o == 0 for o, _ in done) else 1


def main():
    args = sys.argv[1:]
    s = connect(args[0] if args else "unix:w5500-sim.sock")
    info = call(s, HELLO, b"W5SB" + struct.pack(">H", 1))
    assert info[:4] == b"W5SB", info
    if len(args) > 1 and args[1] == "inbound":
        rc = inbound(s, int(args[2]) if len(args) > 2 else 5000)
    else:
        rc = versionr(s)
    call(s, BYE)
    s.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
