#!/usr/bin/python3
"""sign_tool.py - signing helpers for tests/e2e/postfix.sh (run with /usr/bin/python3).

  verify FILE (--dns-port PORT | --records FILE) [--want-d D]... [--count N]
        verify every DKIM-Signature of FILE (a delivered copy) with
        python3-dkim; DNS from the test name server on 127.0.0.1:PORT, or
        from the zone-file lines of FILE. Prints one line per signature,
        "IDX pass|fail d=D s=S a=A", and exits 0 only when there are N
        signatures (default: at least one), each with a wanted d= (when
        --want-d is given), and all pass.
  count FILE    print the number of DKIM-Signature fields in FILE's header

Sending (also with SMTP AUTH) is e2e_tool.py's "send".

Only 127.0.0.1 is contacted; every socket has a timeout.
"""
import re
import socket
import sys

import dkim

HOST = "127.0.0.1"
TIMEOUT = 20


def header_of(msg):
    m = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)
    return m[0]


def sig_fields(msg):
    """the DKIM-Signature fields of the header, unfolded"""
    out = []
    cur = None
    for line in re.split(rb"\r?\n", header_of(msg)):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur += b" " + line.strip()
            continue
        if cur is not None:
            out.append(cur)
            cur = None
        if line.lower().startswith(b"dkim-signature:"):
            cur = line
    if cur is not None:
        out.append(cur)
    return out


def tags(field):
    v = field.split(b":", 1)[1].decode(errors="replace")
    t = {}
    for part in v.split(";"):
        if "=" in part:
            k, val = part.split("=", 1)
            t[k.strip()] = re.sub(r"\s+", "", val)
    return t


def records_dns(path):
    recs = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.split(None, 4)
        if len(f) == 5 and f[3].upper() == "TXT":
            text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', f[4])) or f[4].strip()
            recs.setdefault(f[0].rstrip(".").lower(), text)

    def get(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        t = recs.get(n.rstrip(".").lower())
        return t.encode() if t is not None else None
    return get


def server_dns(port):
    import dnslib

    def get(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        q = dnslib.DNSRecord.question(n, "TXT")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2.0)
        try:
            s.sendto(q.pack(), (HOST, int(port)))
            r = dnslib.DNSRecord.parse(s.recv(65535))
        except OSError:
            return None
        finally:
            s.close()
        for rr in r.rr:
            if rr.rtype == dnslib.QTYPE.TXT:
                return b"".join(rr.rdata.data)
        return None
    return get


def verify(args):
    path = args.pop(0)
    want_d, count, dnsfunc = [], None, None
    while args:
        k = args.pop(0)
        if k == "--dns-port":
            dnsfunc = server_dns(args.pop(0))
        elif k == "--records":
            dnsfunc = records_dns(args.pop(0))
        elif k == "--want-d":
            want_d.append(args.pop(0).lower())
        elif k == "--count":
            count = int(args.pop(0))
        else:
            raise SystemExit("verify: unknown option " + k)
    if dnsfunc is None:
        raise SystemExit("verify: need --dns-port or --records")
    msg = open(path, "rb").read()
    sigs = sig_fields(msg)
    ok = bool(sigs) if count is None else len(sigs) == count
    if not sigs:
        print("no DKIM-Signature")
    for i, f in enumerate(sigs):
        t = tags(f)
        try:
            res = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
        except Exception as e:  # dkimpy raises on malformed input
            print("exception %s" % e)
            res = False
        d = t.get("d", "").lower()
        if not res or (want_d and d not in want_d):
            ok = False
        print("%d %s d=%s s=%s a=%s" % (i, "pass" if res else "fail", d, t.get("s"), t.get("a")))
    if count is not None and len(sigs) != count:
        print("want %d signature(s), have %d" % (count, len(sigs)))
    return 0 if ok else 1


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a.pop(0)
    if cmd == "verify":
        return verify(a)
    if cmd == "count":
        print(len(sig_fields(open(a[0], "rb").read())))
        return 0
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())
