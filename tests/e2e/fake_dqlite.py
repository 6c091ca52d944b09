"""A fake dqlite server that misbehaves on purpose, for bad_input.sh.

    python3 fake_dqlite.py MODE PORT

Listens on 127.0.0.1:PORT, prints "listening" once it accepts connections,
and serves each connection in a thread until killed.  The client speaks
first (8-byte protocol version, then requests: an 8-byte header -- u32 body
length in words, u8 type, u8 schema, u16 extra -- and the body); MODE decides
what comes back:

  silent      reads everything, never answers
  close       closes every connection at once
  random      answers every request with 256 bytes from a seeded generator
  huge        a header claiming a 32 GiB body, then nothing
  truncated   a header announcing 32 bytes, 12 of them, then closes
  badtype     a well-formed message of unknown type 238
  badserver   a SERVER response whose address has no terminating NUL
  fakeleader  names itself leader (a valid SERVER), then answers every other
              request with the expected response type and a body of 0xff
              bytes (counts and lengths far beyond the message)

Everything is deterministic, so a failure reproduces.
"""

import random
import socket
import struct
import sys
import threading

LEADER = 0
# request type -> the response type a client expects for it
EXPECT = {3: 4, 8: 6, 9: 7, 5: 6, 6: 7, 4: 5, 16: 3, 15: 9, 18: 10}
EMPTY = 8


def header(words, rtype):
    return struct.pack("<IBBH", words, rtype, 0, 0)


def text(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 8)


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve(conn, mode, me):
    rng = random.Random(1)
    try:
        if mode == "close":
            return
        recv_exact(conn, 8)  # protocol version
        while True:
            words, rtype, _, _ = struct.unpack("<IBBH", recv_exact(conn, 8))
            recv_exact(conn, words * 8)
            if mode == "silent":
                continue
            if mode == "random":
                conn.sendall(bytes(rng.getrandbits(8) for _ in range(256)))
            elif mode == "huge":
                conn.sendall(header(0xFFFFFFFF, 1))
            elif mode == "truncated":
                conn.sendall(header(4, 1) + b"\1" * 12)
                return
            elif mode == "badtype":
                conn.sendall(header(1, 238) + b"\0" * 8)
            elif mode == "badserver":
                conn.sendall(header(2, 1) + struct.pack("<Q", 1) + b"A" * 8)
            elif mode == "fakeleader":
                if rtype == LEADER:
                    body = struct.pack("<Q", 1) + text(me)
                    conn.sendall(header(len(body) // 8, 1) + body)
                else:
                    conn.sendall(header(2, EXPECT.get(rtype, EMPTY)) + b"\xff" * 16)
    except (EOFError, OSError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    print("listening", flush=True)
    me = "127.0.0.1:%d" % port
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, mode, me), daemon=True).start()


if __name__ == "__main__":
    main()
