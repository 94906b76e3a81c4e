#!/usr/bin/python3
"""hostile.py - mailauth-check on hostile input and hostile DNS.

Every case must end with exit 0 and one valid JSON verdict (the message was
evaluated), within a time bound, and with the result the RFCs call for.
Under ASan/UBSan builds a crash or a sanitizer report fails the case.
Cases marked valgrind also run under valgrind when it is installed and the
build is not an ASan one: it sees writes out of bounds in libopendkim and
libcrypto, which ASan does not instrument.
DNS faults come from servers this script runs on 127.0.0.1: one that never
answers (timeout) and one that answers SERVFAIL (python3-dnslib).
Prints one line per case and "hostile: N passed, N failed".
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from dnslib import RCODE
from dnslib.server import BaseResolver, DNSLogger, DNSServer

top_src = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), ".."))
top_build = os.environ.get("top_builddir", ".")
data = os.path.join(top_src, "tests", "data")
check = os.path.join(top_build, "mailauth-check")
zone = os.path.join(data, "test.zone")
conf = os.path.join(data, "test.conf")
tmp = tempfile.mkdtemp(prefix="ma-hostile-")


def valgrind_argv():
    """valgrind for the cases that ask for it; none when absent or ASan."""
    if shutil.which("valgrind") is None:
        return []
    try:
        with open(check, "rb") as f:
            if b"__asan_init" in f.read():
                return []
    except OSError:
        return []
    return ["valgrind", "-q", "--error-exitcode=99"]


VALGRIND = valgrind_argv()

GOOD = ["--client-ip", "192.0.2.10", "--helo", "mail.football.example.com",
        "--mail-from", "bounce@football.example.com"]
SIGNED = open(os.path.join(data, "msg", "signed-rsa.eml"), "rb").read()
HDR, BODY = SIGNED.split(b"\r\n\r\n", 1)
SIG = HDR[:HDR.index(b"\r\nFrom:")]       # the DKIM-Signature field
REST = HDR[HDR.index(b"\r\nFrom:") + 2:]  # the signed fields


def msg(headers, body=b"body\r\n"):
    return headers + b"\r\n\r\n" + body


CASES = [
    ("nul-bytes-in-headers", msg(b"From: a\x00b@football.example.com\r\nSubject: x\x00y"), GOOD,
     dict(dmarc_not="pass")),
    ("malformed-header-lines", msg(b"From football.example.com\r\n:empty name\r\nX: \xff\xfe"), GOOD, {}),
    ("fold-without-field", msg(b" leading continuation\r\nFrom: a@football.example.com"), GOOD, {}),
    ("1500-header-fields", msg(b"\r\n".join([b"X-H%d: v" % i for i in range(1500)] +
                                            [b"From: a@football.example.com"])), GOOD, {}),
    ("10MB-header-block", msg(b"From: a@football.example.com\r\n" +
                              b"\r\n".join([b"X-Big: " + b"a" * 998] * 10240)), GOOD,
     dict(max_seconds=60)),
    ("one-1MB-folded-field", msg(b"From: a@football.example.com\r\nSubject: " +
                                 b"\r\n x" * 300000), GOOD, {}),
    ("50-dkim-signatures", msg(b"\r\n".join([SIG] * 50) + b"\r\n" + REST, BODY), GOOD,
     dict(dkim_max=10, dmarc="pass")),
    ("garbage-dkim-signature", msg(b"DKIM-Signature: v=1; a=rsa-sha256; b=;;;;=====; d=\r\n"
                                   b"DKIM-Signature: \x00\x01\x02\r\n"
                                   b"From: a@football.example.com"), GOOD,
     dict(dkim_all_not_pass=True)),
    ("huge-from-list", msg(b"From: " + b", ".join([b"u%d@d%d.example" % (i, i) for i in range(5000)])),
     GOOD, dict(dmarc_not="pass")),
    ("deep-comments-from", msg(b"From: " + b"(" * 10000 + b"a@football.example.com" + b")" * 10000),
     GOOD, dict(dmarc_not="pass")),
    ("ar-injection-in-from", msg(b"From: x@football.example.com; dkim=pass header.d=paypal.com"),
     GOOD, dict(ar_no="paypal")),
    ("empty-message", b"", GOOD, {}),
    ("body-only-no-header", b"\r\n\r\njust body\r\n", GOOD, {}),
    ("binary-garbage", bytes(range(256)) * 4000, GOOD, {}),
    ("bare-cr-everywhere", b"From: a@football.example.com\rSubject: x\r\rbody\r", GOOD, {}),
]


def h_names_all(nfields):
    """nfields header fields; the signature's h= names each, then one more.

    libopendkim 2.11 (dkim_canon_selecthdrs) wrote a pointer past the end
    of its array of one slot per field for such an h= list: glibc aborted
    for odd nfields, ASan stopped at random (doc/robustness.md, issue 6).
    """
    extra = [b"x-f%d" % i for i in range(nfields - 2)]
    h = b":".join([b"from"] + extra + [b"dkim-signature", b"from"])
    sig = (b"DKIM-Signature: v=1; a=rsa-sha256; d=football.example.com; s=test;\r\n"
           b" h=" + h + b"; bh=AAAA; b=AAAA")
    return msg(b"\r\n".join([sig, b"From: <joe@football.example.com>"] +
                             [b"X-F%d: v" % i for i in range(nfields - 2)]))


CASES += [("h-names-all-%d-fields" % n, h_names_all(n), GOOD,
           dict(dkim_all_not_pass=True, valgrind=n <= 3)) for n in range(2, 10)]


class ServfailResolver(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def run(name, data_bytes, argv, want, extra_conf=None, dns_zone=True):
    path = os.path.join(tmp, name + ".eml")
    with open(path, "wb") as f:
        f.write(data_bytes)
    args = (VALGRIND if want.get("valgrind") else []) + [check, "--json"]
    args += (["--dns-zone", zone] if dns_zone else []) + argv
    args += ["-c", extra_conf or conf]
    t0 = time.monotonic()
    try:
        p = subprocess.run(args + [path], capture_output=True, timeout=want.get("max_seconds", 30))
    except subprocess.TimeoutExpired:
        return "hung past %s s" % want.get("max_seconds", 30)
    took = time.monotonic() - t0
    if p.returncode != 0:
        return "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-500:])
    if b"runtime error" in p.stderr or b"Sanitizer" in p.stderr:
        return "sanitizer: %s" % p.stderr.decode(errors="replace")[-500:]
    v = json.loads(p.stdout)
    errs = []
    dm = v.get("dmarc") or {}
    dk = [s["result"] for s in v.get("dkim") or []]
    spfr = ((v.get("spf") or {}).get("mailfrom") or {}).get("result")
    for k, exp in want.items():
        if k == "dmarc" and dm.get("result") != exp:
            errs.append("dmarc: got %r, want %r" % (dm.get("result"), exp))
        if k == "dmarc_not" and dm.get("result") == exp:
            errs.append("dmarc: got %r" % exp)
        if k == "spf" and spfr != exp:
            errs.append("spf: got %r, want %r" % (spfr, exp))
        if k == "action" and v["action"] != exp:
            errs.append("action: got %r, want %r" % (v["action"], exp))
        if k == "dkim_max":
            evaluated = [s for s in v.get("dkim") or []
                         if not (s["result"] == "policy" and s["reason"].startswith("not evaluated"))]
            if len(evaluated) > exp:
                errs.append("dkim: %d signatures evaluated, limit %d" % (len(evaluated), exp))
        if k == "dkim_all_not_pass" and "pass" in dk:
            errs.append("dkim: a garbage signature passed")
        if k == "ar_no" and exp in (v.get("authentication_results") or ""):
            errs.append("A-R carries injected text: %r" % v["authentication_results"])
        if k == "within" and took > exp:
            errs.append("took %.1f s, budget %.1f s" % (took, exp))
    ar = v.get("authentication_results") or ""
    if "\r\n" in ar.replace("\r\n\t", "") or "\n" in ar.replace("\r\n\t", "").replace("\r\n", ""):
        errs.append("A-R has a line break not followed by a tab")
    return "; ".join(errs)


def main():
    passed = failed = 0
    results = []
    for name, d, argv, want in CASES:
        results.append((name, run(name, d, argv, want)))
    # DNS that never answers: every lookup times out; bounded by DNSTimeout
    sock, port = free_udp_port()
    cfg = os.path.join(tmp, "timeout.conf")
    with open(cfg, "w") as f:
        f.write("AuthservID mx.test.example\nNameservers 127.0.0.1@%d\n"
                "DNSTimeout 300ms\nMessageDNSTimeout 3\n" % port)
    results.append(("dns-timeout-temperror", run("dns-timeout", SIGNED, GOOD,
                    dict(spf="temperror", dmarc="temperror", action="accept", within=10),
                    extra_conf=cfg, dns_zone=False)))
    cfg2 = os.path.join(tmp, "timeout-tempfail.conf")
    with open(cfg2, "w") as f:
        f.write("AuthservID mx.test.example\nNameservers 127.0.0.1@%d\n"
                "DNSTimeout 300ms\nTemperrorAction tempfail\n" % port)
    results.append(("dns-timeout-tempfail-action", run("dns-timeout2", SIGNED, GOOD,
                    dict(dmarc="temperror", action="tempfail", within=15),
                    extra_conf=cfg2, dns_zone=False)))
    sock.close()
    # DNS that answers SERVFAIL to everything
    srv = DNSServer(ServfailResolver(), port=0, address="127.0.0.1",
                    logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data"))
    srv.start_thread()
    sport = srv.server.server_address[1]
    cfg3 = os.path.join(tmp, "servfail.conf")
    with open(cfg3, "w") as f:
        f.write("AuthservID mx.test.example\nNameservers 127.0.0.1@%d\nDNSTimeout 2\n" % sport)
    results.append(("dns-servfail-temperror", run("dns-servfail", SIGNED, GOOD,
                    dict(spf="temperror", dmarc="temperror", within=15),
                    extra_conf=cfg3, dns_zone=False)))
    srv.stop()
    for name, why in results:
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
        else:
            passed += 1
            print("PASS %s" % name)
    print("hostile: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
