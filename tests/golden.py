#!/usr/bin/python3
"""golden.py - mailauth-check on tests/data/msg/*.eml against expected verdicts.

Each case names a message, the SMTP facts (client IP, HELO, MAIL FROM) and
what the verdict must say. For every DKIM signature the verdict reports,
python3-dkim (an independent implementation) verifies the same message with
DNS answered from the same zone file, and the two must agree on pass / not
pass (rsa-sha1 excepted: RFC 8301 forbids what dkimpy still accepts). For
SPF, pyspf (python3-spf) evaluates the same identity over the same zone data
and must give the same result.
Prints one line per case and "golden: N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys

import dkim
import spf

top_src = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), ".."))
top_build = os.environ.get("top_builddir", ".")
data = os.path.join(top_src, "tests", "data")
check = os.path.join(top_build, "mailauth-check")
zone = os.path.join(data, "test.zone")
conf = os.path.join(data, "test.conf")

GOOD = ("192.0.2.10", "mail.football.example.com", "bounce@football.example.com")
BAD = ("198.51.100.1", "evil.example.net", "bounce@football.example.com")


def facts(ip, helo, mf):
    return ["--client-ip", ip, "--helo", helo, "--mail-from", mf]


CASES = [
    # name, message, argv, expectations
    ("s2-signed-rsa-pass", "signed-rsa", facts(*GOOD),
     dict(action="accept", spf="pass", dkim=["pass"], dmarc="pass", policy="reject")),
    ("s2-signed-ed25519-pass", "signed-ed25519", facts(*GOOD),
     dict(action="accept", dkim=["pass"], dmarc="pass")),
    ("s2-dual-signature-both-pass", "signed-both", facts(*BAD),
     dict(action="accept", spf="fail", dkim=["pass", "pass"], dmarc="pass")),
    ("s2-tampered-body-spf-rescues", "tampered-body", facts(*GOOD),
     dict(action="accept", spf="pass", dkim=["fail"], dmarc="pass")),
    ("s2-tampered-body-rejected", "tampered-body", facts(*BAD),
     dict(action="reject", reply="550 5.7.1", spf="fail", dkim=["fail"], dmarc="fail")),
    ("s2-forged-unsigned-rejected", "unsigned", facts(*BAD),
     dict(action="reject", reply="550 5.7.1", dkim=[], dmarc="fail", disposition="reject")),
    ("rfc8301-rsa-sha1-not-pass", "signed-sha1", facts(*BAD),
     dict(action="reject", dkim_not_pass=True, dmarc="fail")),
    ("rfc8601-s5-forged-ar-removed", "forged-ar", facts(*GOOD),
     dict(action="accept", removed=[3, 1], dmarc="pass")),
    ("quarantine-policy", "quarantine", facts("198.51.100.1", "x.example", "a@quarantine.example"),
     dict(action="quarantine", dmarc="fail", disposition="quarantine")),
    ("rfc9989-testing-t-y-downgrades", "testing", facts("198.51.100.1", "x.example", "a@testing.example"),
     dict(dmarc="fail", policy="reject", testing=True, action_not="reject")),
    ("rfc9989-strict-rejects-subdomain", "strict-subdomain",
     facts("198.51.100.1", "x.example", "a@news.strict.example"),
     dict(action="reject", dkim=["pass"], dmarc="fail")),
    ("rfc9989-relaxed-accepts-subdomain", "relaxed-subdomain",
     facts("198.51.100.1", "x.example", "a@news.relaxed.example"),
     dict(action="accept", dkim=["pass"], dmarc="pass")),
    ("no-dmarc-record", "nodmarc", facts("198.51.100.1", "x.example", "a@nodmarc.example"),
     dict(action="accept", spf="fail", dmarc="none")),
    ("no-from-never-skipped", "no-from", facts(*BAD), dict(dmarc_not="pass")),
    ("two-from-never-pass", "two-from", facts(*GOOD), dict(dmarc_not="pass")),
    ("multi-address-from-never-pass", "multi-address-from", facts(*GOOD), dict(dmarc_not="pass")),
    ("display-name-not-the-author", "display-name-trick", facts(*GOOD),
     dict(from_domain="quarantine.example", dmarc_not="pass")),
    ("spf-lookup-limit-permerror", "loop", facts("198.51.100.1", "x.example", "a@loop.example"),
     dict(spf="permerror", dmarc="fail", action="reject")),
    ("spf-syntax-permerror", "broken-spf", facts("198.51.100.1", "x.example", "a@broken.example"),
     dict(spf="permerror")),
    ("lf-line-ends-verified", "lf-only", facts(*GOOD), dict(dkim=["pass"], dmarc="pass")),
    ("internal-client-not-judged", "unsigned", facts("127.0.0.1", "localhost", "a@football.example.com"),
     dict(action="accept", mode="outbound", ar=None)),
    ("monitor-mode-accepts", "unsigned", facts(*BAD) + ["-c", os.path.join(data, "test-monitor.conf")],
     dict(action="accept", dmarc="fail", disposition="reject")),
    ("t-in-future-not-pass", "signed-rsa", facts(*GOOD) + ["--time", "1600000000"],
     dict(dkim_not_pass=True, dmarc="pass", spf="pass")),
]


def zone_txt():
    """name -> list of TXT strings (joined) from test.zone, for the judges."""
    recs = {}
    for line in open(zone, encoding="ascii"):
        line = line.split(";", 1)[0] if not '"' in line else line
        m = re.match(r'^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$', line.strip())
        if not m:
            continue
        name, typ, rdata = m.group(1).rstrip(".").lower(), m.group(2), m.group(3)
        if typ == "TXT":
            val = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rdata))
        else:
            val = rdata.strip()
        recs.setdefault((name, typ), []).append(val)
    return recs


ZONE = zone_txt()


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    v = ZONE.get((name.rstrip(".").lower(), "TXT"))
    return v[0].encode() if v else None


def pyspf_lookup(name, qtype, strict=True, timeout=None, level=0):
    name = name.rstrip(".").lower()
    out = []
    for v in ZONE.get((name, qtype), []):
        if qtype == "TXT":
            out.append(((name, qtype), [v.encode()]))
        elif qtype == "A":
            out.append(((name, qtype), v))
    return out


spf.DNSLookup = pyspf_lookup


def judge_dkim(raw, verdict):
    """python3-dkim's opinion of each signature, in header order."""
    d = dkim.DKIM(raw)
    n = len([1 for h in d.headers if h[0].lower() == b"dkim-signature"])
    out = []
    for i in range(n):
        try:
            out.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
        except Exception:
            out.append(False)
    return out


def run(name, msgfile, argv, want):
    path = os.path.join(data, "msg", msgfile + ".eml")
    args = [check, "--json", "--dns-zone", zone] + argv
    if "-c" not in argv:
        args += ["-c", conf]
    p = subprocess.run(args + [path], capture_output=True, timeout=60)
    if p.returncode != 0:
        return "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())
    v = json.loads(p.stdout)
    errs = []

    def expect(what, got, exp):
        if got != exp:
            errs.append("%s: got %r, want %r" % (what, got, exp))
    dm = v.get("dmarc") or {}
    dk = [s["result"] for s in v.get("dkim") or []]
    for k, exp in want.items():
        if k == "action":
            expect(k, v["action"], exp)
        elif k == "action_not":
            if v["action"] == exp:
                errs.append("action: got %r" % exp)
        elif k == "reply":
            if not (v["reply"] or "").startswith(exp):
                errs.append("reply: got %r, want %r..." % (v["reply"], exp))
        elif k == "spf":
            expect(k, ((v.get("spf") or {}).get("mailfrom") or {}).get("result"), exp)
        elif k == "dkim":
            expect(k, dk, exp)
        elif k == "dkim_not_pass":
            if "pass" in dk or not dk:
                errs.append("dkim: got %r, want signatures that do not pass" % dk)
        elif k in ("dmarc",):
            expect(k, dm.get("result"), exp)
        elif k == "dmarc_not":
            if dm.get("result") == exp:
                errs.append("dmarc: got %r" % exp)
        elif k in ("policy", "disposition", "from_domain", "testing"):
            expect(k, dm.get(k), exp)
        elif k == "removed":
            expect(k, v["removed_authentication_results"], exp)
        elif k == "mode":
            expect(k, v["mode"], exp)
        elif k == "ar":
            expect(k, v["authentication_results"], exp)
    ar = v.get("authentication_results")
    if v["mode"] == "verify":
        if not ar or not ar.startswith("Authentication-Results: mx.test.example;"):
            errs.append("A-R header missing or without our authserv-id: %r" % ar)
        # the A-R must carry each result the JSON gives
        if ar and dm and ("dmarc=%s" % dm["result"]) not in ar:
            errs.append("A-R lacks dmarc=%s" % dm["result"])
        if ar and dm.get("policy") in ("none", "quarantine", "reject") and "policy.dmarc=" not in ar:
            errs.append("A-R lacks policy.dmarc")
    # independent judges
    raw = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if "--time" not in argv and v["mode"] == "verify":
        theirs = judge_dkim(raw, v)
        ours = [s["result"] == "pass" for s in v.get("dkim") or []]
        algs = [s["algorithm"] for s in v.get("dkim") or []]
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a != b and algs[i] != "rsa-sha1":
                errs.append("dkim sig %d: we say pass=%s, python3-dkim says %s" % (i, a, b))
        ip, helo, mf = argv[1], argv[3], argv[5]
        r, _ = spf.check2(i=ip, s=mf, h=helo)
        ours = ((v.get("spf") or {}).get("mailfrom") or {}).get("result")
        if r != ours:
            errs.append("spf: we say %s, pyspf says %s" % (ours, r))
    return "; ".join(errs)


def main():
    passed = failed = 0
    for name, msg, argv, want in CASES:
        try:
            why = run(name, msg, argv, want)
        except Exception as e:   # a crash of the runner is a failure too
            why = "runner: %r" % e
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
        else:
            passed += 1
            print("PASS %s" % name)
    print("golden: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
