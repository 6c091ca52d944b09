"""Sends malformed dqlite traffic to a node, for bad_input.sh.

    python3 garbage_client.py PORT MODE

Connects to 127.0.0.1:PORT, sends what MODE says, reads whatever comes back
for at most 1 s, closes, and prints one line describing the outcome (the
outcome itself is not judged here: the test checks the node survived).

  random        4 KiB from a seeded generator, no handshake
  badversion    protocol version 0xdeadbeef, then a LEADER request
  truncated     a valid handshake, then half a request header
  shortbody     an OPEN request announcing 4 words and carrying 3 bytes
  unknowntype   a request of type 200 (1.11 never answers those)
  badopen       OPEN whose database name has no terminating NUL
  execnodb      EXEC_SQL on a database id that was never opened
  claim2g       a request header announcing a 2 GiB body, then nothing
  claim4g       a header announcing 4 GiB (0x20000000 words): a bare
                libdqlite 1.11.1 aborts (transport.c:15 alloc_cb assertion)
  claimmax      a header announcing 0xffffffff words: a bare libdqlite
                1.11.1 segfaults
  churn         200 connections opened and dropped at once
"""

import random
import socket
import struct
import sys


def hdr(words, rtype):
    return struct.pack("<IBBH", words, rtype, 0, 0)


HELLO = struct.pack("<Q", 1)

PAYLOADS = {
    "random": lambda: bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
    "badversion": lambda: struct.pack("<Q", 0xDEADBEEF) + hdr(1, 0) + b"\0" * 8,
    "truncated": lambda: HELLO + hdr(1, 3)[:4],
    "shortbody": lambda: HELLO + hdr(4, 3) + b"mk\0",
    "unknowntype": lambda: HELLO + hdr(1, 200) + b"\0" * 8,
    "badopen": lambda: HELLO + hdr(1, 3) + b"AAAAAAAA",
    "execnodb": lambda: HELLO + hdr(2, 8) + struct.pack("<II", 99, 0) + b"SELECT 1",
    "claim2g": lambda: HELLO + hdr(0x10000000, 3) + b"x" * 100,
    "claim4g": lambda: HELLO + hdr(0x20000000, 3) + b"x" * 100,
    "claimmax": lambda: HELLO + hdr(0xFFFFFFFF, 3) + b"x" * 100,
}


def one(port, payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        s.sendall(payload)
        data = s.recv(4096)
        return "closed by the node" if not data else "answered %d bytes" % len(data)
    except socket.timeout:
        return "no answer within 1 s"
    except OSError as e:
        return "connection error: %s" % e.strerror
    finally:
        s.close()


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "churn":
        socks = [socket.create_connection(("127.0.0.1", port), timeout=1) for _ in range(200)]
        for s in socks:
            s.close()
        print("200 connections opened and dropped")
        return
    print(one(port, PAYLOADS[mode]()))


if __name__ == "__main__":
    main()
