#!/usr/bin/python3
"""milter_proto.py - protocol edge cases against a running mailauthd.

usage: milter_proto.py PORT AUTHSERV-ID CLIENT-IP SENDER-DOMAIN

Plays the MTA side of the milter protocol (version 6) over TCP to
127.0.0.1:PORT, offering no protocol flags (so every step is answered and
header values go without their leading space), and checks:

  milter-raw-close       TCP connect and close, nothing sent
  milter-close-no-conn   option negotiation, then QUIT without a connect
  milter-empty-msg       null sender, no header, no body: a final
                         reply (whatever the engine decides), no crash
  milter-abort-body      ABORT in the middle of the body, then a full
                         message on the same connection is evaluated
  milter-three-msgs      three messages on one connection each get one
                         Authentication-Results of ours, no leading space
Prints "PASS name" / "FAIL name: why" per case. Every socket has a timeout.
"""
import socket
import struct
import sys

HOST = "127.0.0.1"
TIMEOUT = 20
FINAL = set(b"acrtdy")          # accept continue reject tempfail discard reply
FINAL_BYTES = [bytes([c]) for c in FINAL]


class Milter:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=TIMEOUT)

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _recvn(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("milter closed the connection")
            buf += chunk
        return buf

    def reply(self):
        """Read packets up to a final one; return (final, [modifications])."""
        mods = []
        for _ in range(1000):
            (n,) = struct.unpack(">I", self._recvn(4))
            pkt = self._recvn(n)
            cmd, data = pkt[:1], pkt[1:]
            if cmd == b"p":             # progress
                continue
            if cmd[0] in FINAL:
                return cmd, data, mods
            mods.append((cmd, data))
        raise RuntimeError("no final reply")

    def negotiate(self):
        self.send(b"O", struct.pack(">III", 6, 0x1FF, 0))
        (n,) = struct.unpack(">I", self._recvn(4))
        pkt = self._recvn(n)
        if pkt[:1] != b"O":
            raise RuntimeError("negotiation answered %r" % pkt[:1])
        return struct.unpack(">III", pkt[1:13])

    def connect(self, ip, name="client.e2e.example"):
        self.send(b"D", b"C" + b"{daemon_name}\0MX\0")
        self.send(b"C", name.encode() + b"\0" + b"4" + struct.pack(">H", 25)
                  + ip.encode() + b"\0")
        return self.reply()

    def step(self, cmd, data=b"", macros=None):
        if macros:
            self.send(b"D", cmd + b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                                           for k, v in macros.items()))
        self.send(cmd, data)
        return self.reply()

    def message(self, helo, mfrom, headers, body, qid, abort_in_body=False):
        self.step(b"H", helo.encode() + b"\0")
        self.step(b"M", b"<" + mfrom.encode() + b">\0", {"i": qid})
        self.step(b"R", b"<user@rcpt.example>\0")
        for name, value in headers:
            self.step(b"L", name.encode() + b"\0" + value.encode() + b"\0")
        self.step(b"N")
        self.step(b"B", body[: len(body) // 2])
        if abort_in_body:
            self.send(b"A")
            return None
        self.step(b"B", body[len(body) // 2:])
        return self.step(b"E", b"", {"i": qid})

    def quit(self):
        try:
            self.send(b"Q")
        finally:
            self.s.close()


def headers_for(domain, n):
    return [("From", "Sender <alice@%s>" % domain),
            ("To", "user@rcpt.example"),
            ("Subject", "milter protocol test %d" % n),
            ("Message-ID", "<proto-%d@e2e.example>" % n),
            ("Date", "Tue, 1 Jan 2030 00:00:00 +0000")]


BODY = b"hello\r\nthis is a milter protocol test\r\n" * 20


def our_ar(mods, authserv):
    """A-R values of ours inserted ('i') or added ('h')."""
    out = []
    for cmd, data in mods:
        if cmd in (b"i", b"h"):
            if cmd == b"i":
                data = data[4:]
            name, _, rest = data.partition(b"\0")
            value = rest.rstrip(b"\0").decode(errors="replace")
            if name.lower() == b"authentication-results" and authserv in value:
                out.append(value)
    return out


def main():
    port, authserv, ip, domain = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    results = []

    def case(name, fn):
        try:
            why = fn()
        except Exception as e:           # noqa: BLE001 - report, never crash
            why = "%s: %s" % (type(e).__name__, e)
        results.append((name, why))
        print("PASS %s" % name if not why else "FAIL %s: %s" % (name, why))

    def raw_close():
        socket.create_connection((HOST, port), timeout=TIMEOUT).close()

    def close_no_conn():
        m = Milter(port)
        m.negotiate()
        m.quit()

    def empty_msg():
        m = Milter(port)
        m.negotiate()
        m.connect(ip)
        m.step(b"H", b"mail.e2e.example\0")
        m.step(b"M", b"<>\0", {"i": "PROTOE"})
        m.step(b"R", b"<user@rcpt.example>\0")
        m.step(b"N")
        cmd, data, _ = m.step(b"E", b"", {"i": "PROTOE"})
        m.quit()
        if cmd not in FINAL_BYTES:
            return "no final reply: %r" % cmd
        return None

    def abort_body():
        m = Milter(port)
        m.negotiate()
        m.connect(ip)
        m.message("mail." + domain, "bounce@" + domain, headers_for(domain, 1),
                  BODY, "PROTO1", abort_in_body=True)
        cmd, data, mods = m.message("mail." + domain, "bounce@" + domain,
                                    headers_for(domain, 2), BODY, "PROTO2")
        m.quit()
        if cmd not in (b"a", b"c"):
            return "second message: want accept, got %r %r" % (cmd, data[:60])
        if len(our_ar(mods, authserv)) != 1:
            return "second message: want one A-R of ours, got %r" % mods
        return None

    def three_msgs():
        m = Milter(port)
        m.negotiate()
        m.connect(ip)
        for n in range(3):
            cmd, data, mods = m.message("mail." + domain, "bounce@" + domain,
                                        headers_for(domain, 10 + n), BODY,
                                        "PROTO3%d" % n)
            ar = our_ar(mods, authserv)
            if cmd not in (b"a", b"c"):
                return "message %d: got %r %r" % (n, cmd, data[:60])
            if len(ar) != 1:
                return "message %d: want one A-R of ours, got %r" % (n, mods)
            if ar[0][:1] in (" ", "\t"):
                return "message %d: leading space without SMFIP_HDR_LEADSPC" % n
            if "\r" in ar[0]:
                return "message %d: CR in the header value" % n
        m.quit()
        return None

    case("milter-raw-close", raw_close)
    case("milter-close-no-conn", close_no_conn)
    case("milter-empty-msg", empty_msg)
    case("milter-abort-body", abort_body)
    case("milter-three-msgs", three_msgs)
    return 1 if any(w for _, w in results) else 0


if __name__ == "__main__":
    sys.exit(main())
