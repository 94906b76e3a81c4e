#!/usr/bin/python3
"""make-messages.py - regenerate tests/data/msg/*.eml (run from tests/data).

Signs with the published RFC 8463 Appendix A test keys (from
../shared/conformance/dkim/rfc8463/, located via SHARED_DIR or ../../../shared)
using Debian's python3-dkim, with the clock pinned to T so that the output is
deterministic (RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic).
The generated files are committed; this script documents how they were made.
"""
import os
import sys
import time

import dkim

T = 1700000000
time.time = lambda: float(T)

shared = os.environ.get("SHARED_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
keys = os.path.join(shared, "conformance", "dkim", "rfc8463")
RSA = open(os.path.join(keys, "rsa-private.pem"), "rb").read()
with open(os.path.join(keys, "ed25519-private-seed.b64"), "rb") as f:
    ED = f.read().strip()

HDRS = [b"from", b"to", b"subject", b"date", b"message-id"]


def message(frm, subject, extra=b"", body=b"Hello.\r\n\r\nThis is a test.\r\n"):
    return (extra +
            b"From: " + frm + b"\r\n"
            b"To: Suzie Q <suzie@shopping.example.net>\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            b"Message-ID: <" + subject.replace(b" ", b".") + b"@example>\r\n"
            b"\r\n" + body)


def sign(msg, domain, sel=b"test", key=None, alg=b"rsa-sha256"):
    sig = dkim.sign(msg, sel, domain, key or RSA, signature_algorithm=alg,
                    canonicalize=(b"relaxed", b"relaxed"), include_headers=HDRS)
    return sig + msg


def write(name, data):
    with open(os.path.join("msg", name + ".eml"), "wb") as f:
        f.write(data)


FB = b"Joe SixPack <joe@football.example.com>"
m = message(FB, b"signed rsa")
write("signed-rsa", sign(m, b"football.example.com"))
m = message(FB, b"signed ed25519")
write("signed-ed25519", sign(m, b"football.example.com", b"brisbane", ED, b"ed25519-sha256"))
m = message(FB, b"signed both")
write("signed-both", sign(sign(m, b"football.example.com", b"brisbane", ED, b"ed25519-sha256"),
                          b"football.example.com"))
m = message(FB, b"tampered")
s = sign(m, b"football.example.com")
write("tampered-body", s.replace(b"This is a test.", b"This is a TEST."))
write("unsigned", message(FB, b"unsigned"))
m = message(FB, b"sha1")
write("signed-sha1", sign(m, b"football.example.com", alg=b"rsa-sha1"))
write("forged-ar", message(FB, b"forged ar", extra=(
    b"Authentication-Results: mx.test.example; dkim=pass header.d=football.example.com;\r\n"
    b"\tdmarc=pass header.from=football.example.com\r\n"
    b"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y.example\r\n"
    b"Received: from somewhere by somewhere\r\n"
    b"Authentication-Results: (comment) MX.TEST.EXAMPLE; spf=pass\r\n")))
write("quarantine", message(b"news@quarantine.example", b"quarantine"))
write("testing", message(b"news@testing.example", b"testing"))
m = message(b"news@news.strict.example", b"strict")
write("strict-subdomain", sign(m, b"strict.example"))
m = message(b"news@news.relaxed.example", b"relaxed")
write("relaxed-subdomain", sign(m, b"relaxed.example"))
write("nodmarc", message(b"a@nodmarc.example", b"no dmarc"))
write("no-from", b"To: x@example.net\r\nSubject: no from\r\n\r\nbody\r\n")
write("two-from", b"From: a@football.example.com\r\nFrom: b@quarantine.example\r\n"
      b"Subject: two from\r\n\r\nbody\r\n")
write("multi-address-from", b"From: a@football.example.com, b@quarantine.example\r\n"
      b"Subject: two addresses\r\n\r\nbody\r\n")
write("display-name-trick", b"From: \"joe@football.example.com\" <x@quarantine.example>\r\n"
      b"Subject: display name\r\n\r\nbody\r\n")
write("loop", message(b"a@loop.example", b"loop"))
write("broken-spf", message(b"a@broken.example", b"broken spf"))
write("lf-only", sign(message(FB, b"lf only"), b"football.example.com").replace(b"\r\n", b"\n"))
