#!/usr/bin/env python3
"""Minimal w5500-sim bridge client (standard library only): reads VERSIONR through the bridge.

Usage: bridge_client.py unix:PATH | tcp:127.0.0.1:PORT
Prints "VERSIONR=0xNN" and exits 0 when the reply is 0x04. Written from the protocol
description in the w5500_sim::bridge module docs (version 1, big-endian framing:
request = op:u8 len:u32 payload, reply = status:u8 len:u32 payload).
"""
import socket
import struct
import sys

HELLO, BYE, SELECT, TRANSFER, DESELECT = 0x01, 0x02, 0x10, 0x11, 0x12


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


def main():
    s = connect(sys.argv[1] if len(sys.argv) > 1 else "unix:w5500-sim.sock")
    info = call(s, HELLO, b"W5SB" + struct.pack(">H", 1))
    assert info[:4] == b"W5SB", info
    # VERSIONR: common block (BSB 0), address 0x0039, read, variable-length mode (DS 2.2).
    call(s, SELECT)
    header = call(s, TRANSFER, bytes([0x00, 0x39, 0x00]))
    data = call(s, TRANSFER, b"\x00")
    call(s, DESELECT)
    call(s, BYE)
    s.close()
    assert len(header) == 3
    print(f"VERSIONR=0x{data[0]:02x}")
    return 0 if data[0] == 0x04 else 1


if __name__ == "__main__":
    sys.exit(main())
