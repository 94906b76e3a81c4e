#!/usr/bin/python3
"""sign_matrix.py - outbound DKIM signatures of mailauth-check --sign, verified twice.

For a matrix of keys (RSA 2048, Ed25519, and RSA + Ed25519 for one domain
through two SigningTable lines) x canonicalizations (relaxed/relaxed,
simple/simple, relaxed/simple, simple/relaxed) x awkward messages, runs

    mailauth-check --sign --json -c CONF --time NOW MESSAGE

takes the "signatures" it prints, and puts them on top of the message as
the MTA delivers it (CRLF on the wire: bare LF ends become CRLF and a last
line without an end gets one, as Postfix's smtpd/cleanup/smtp do). That
delivered copy is then verified by two independent implementations, with
DNS answered offline from the keys made for this run:

  - python3-dkim (dkimpy): every signature, dkim.DKIM(msg).verify(idx=i);
  - Perl Mail::DKIM through tests/sign_verify.pl: every RSA signature, and
    Ed25519 too when the installed Mail::DKIM has ed25519-sha256 (Debian
    12's 1.20230212 does not: those are reported as not checked by Perl).

And per signature: v=1, a= matches the key type, c= as configured, d=/s=
from the key table, t= equals --time, no l=, x= = t= + SignatureTTL only
when SignatureTTL is set, From oversigned (h= names From once more than
the message has it, and a From added after signing makes dkimpy fail),
and a changed body makes dkimpy fail (the verifiers are not vacuous).
Then a few configuration cases: the single Domain/Selector/KeyFile form, a
file: SigningTable, a From domain without a key (no signature, exit 0),
RequireSafeKeys refusing a group-readable key, plain (non-JSON) output.

Keys are made at run time with openssl (mode 600) in a temporary directory
that is removed at exit. Prints "PASS name" / "FAIL name: why" per case
and finally "sign_matrix: N passed, N failed"; exit 1 on any failure.

Environment: top_srcdir, top_builddir (set by make check);
MAILAUTH_CHECK overrides the program; SIGN_MATRIX_STUB=1 signs with dkimpy
instead of mailauth-check (to test this harness alone; x= not supported);
SIGN_MATRIX_KEEP=1 keeps the temporary directory.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import dkim

TOP_SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TOP_BUILD = os.environ.get("top_builddir", ".")
CHECK = os.environ.get("MAILAUTH_CHECK", os.path.join(TOP_BUILD, "mailauth-check"))
PERL_VERIFY = os.path.join(TOP_SRC, "tests", "sign_verify.pl")
STUB = os.environ.get("SIGN_MATRIX_STUB") == "1"
TIMEOUT = 60

NOW = int(time.time())
TTL = 86400

npass = 0
nfail = 0


def ok(name):
    global npass
    npass += 1
    print("PASS %s" % name, flush=True)


def bad(name, why):
    global nfail
    nfail += 1
    why = " ".join(str(why).split())
    print("FAIL %s: %s" % (name, why[:600]), flush=True)


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=TIMEOUT, **kw)


# ------------------------------------------------------------------ keys
class Key:
    def __init__(self, name, kind, domain, selector, path):
        self.name, self.kind, self.domain, self.selector, self.path = \
            name, kind, domain, selector, path
        self.alg = "rsa-sha256" if kind == "rsa" else "ed25519-sha256"


def make_key(d, name, kind, domain, selector):
    path = os.path.join(d, name + ".pem")
    if kind == "rsa":
        argv = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    else:
        argv = ["openssl", "genpkey", "-algorithm", "ED25519"]
    old = os.umask(0o077)
    try:
        r = run(argv + ["-out", path])
    finally:
        os.umask(old)
    if r.returncode != 0:
        raise SystemExit("openssl genpkey %s: %s" % (kind, r.stderr.decode(errors="replace")))
    os.chmod(path, 0o600)
    return Key(name, kind, domain, selector, path)


def public_record(k):
    der = run(["openssl", "pkey", "-in", k.path, "-pubout", "-outform", "DER"]).stdout
    if k.kind == "rsa":
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    # RFC 8463 4.2: the raw 32-byte key (the end of the SubjectPublicKeyInfo)
    return "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()


# ------------------------------------------------------------------ messages
def hdrs(frm, extra_before=(), extra_after=(), nl="\r\n"):
    lines = list(extra_before) + [
        "From: Alice Sender <alice@%s>" % frm,
        "To: Bob Rcpt <bob@rcpt.example>",
        "Subject: sign matrix",
        "Date: Mon, 01 Jan 2024 12:00:00 +0000",
        "Message-ID: <matrix.%d@%s>" % (NOW, frm),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ] + list(extra_after)
    return nl.join(lines) + nl


BODY = "Hello,\r\n\r\nthis is the sign matrix.\r\n-- \r\nmailauthd\r\n"


def messages(dom):
    """(name, bytes as handed to mailauth-check / to the MTA)"""
    m = []
    m.append(("plain", (hdrs(dom) + "\r\n" + BODY).encode()))
    m.append(("no-trailing-crlf", (hdrs(dom) + "\r\nline one\r\nlast line without end").encode()))
    m.append(("empty-body", (hdrs(dom) + "\r\n").encode()))
    long_subj = "Subject: " + " ".join("word%03d" % i for i in range(110))  # ~880 chars, one line
    folded = ["To: Bob Rcpt <bob@rcpt.example>,\r\n\tCarol <carol@rcpt.example>,\r\n"
              "   Dave  <dave@rcpt.example>",
              "References: " + "\r\n ".join("<ref%02d.%d@%s>" % (i, NOW, dom) for i in range(12)),
              "X-Long-Folded: start\r\n\t\r\n continues after a whitespace-only line\r\n\t  end"]
    h = hdrs(dom).replace("Subject: sign matrix", long_subj).replace(
        "To: Bob Rcpt <bob@rcpt.example>\r\n", "")
    m.append(("long-folded-headers", (h + "\r\n".join(folded) + "\r\n\r\n" + BODY).encode()))
    m.append(("8bit-utf8", (hdrs(dom).replace("us-ascii", "utf-8") + "Content-Transfer-Encoding: 8bit\r\n\r\n"
                            "Grüße aus Köln — naïve café ✓\r\n€ 100\r\n").encode("utf-8")))
    m.append(("8bit-latin1", (hdrs(dom).replace("us-ascii", "iso-8859-1") + "Content-Transfer-Encoding: 8bit\r\n\r\n"
                              "Gr\xfc\xdfe aus K\xf6ln, na\xefve caf\xe9\r\n\xa9 \xbd \xff\r\n").encode("latin-1")))
    lf = hdrs(dom, extra_after=["X-Folded: one\n\ttwo\n  three"], nl="\n") + "\n" + BODY.replace("\r\n", "\n")
    m.append(("bare-lf", lf.encode()))
    mixed = (hdrs(dom) + "\r\nline crlf\r\nline lf\nline crlf again\r\nend lf\n")
    m.append(("mixed-line-ends", mixed.encode()))
    m.append(("duplicate-headers", (hdrs(dom, extra_after=["Subject: second subject",
                                                           "To: Second <second@rcpt.example>"])
                                    + "\r\n" + BODY).encode()))
    rcvd = ["Received: from hop%02d.%s (hop%02d.%s [192.0.2.%d])\r\n\tby hop%02d.%s with ESMTP id %04d;\r\n"
            "\tMon, 01 Jan 2024 12:%02d:00 +0000" % (i, dom, i, dom, i + 1, i + 1, dom, i, i % 60)
            for i in range(40)]
    m.append(("many-received", (hdrs(dom, extra_before=rcvd) + "\r\n" + BODY).encode()))
    odd = (hdrs(dom).replace("From:", "fROM:").replace("Subject:", "sUbJeCt:")
           .replace("To:", "TO:").replace("Message-ID:", "message-id:")
           .replace("Date:", "DATE:").replace("MIME-Version:", "Mime-version:"))
    m.append(("odd-case-names", (odd + "\r\n" + BODY).encode()))
    ws = (hdrs(dom).replace("Subject: sign matrix", "Subject:   sign \t matrix \t ")
          .replace("Date: Mon, 01 Jan 2024 12:00:00 +0000", "Date:\tMon, 01 Jan 2024 12:00:00 +0000  ")
          + "X-Trailing: value   \r\n\r\n"
          + "trailing spaces   \r\ntrailing tab\t\r\n  inner    spaces  \t here \r\n \t \r\nend\r\n")
    m.append(("trailing-whitespace", ws.encode()))
    m.append(("blank-lines-body", (hdrs(dom) + "\r\n" + "\r\n" * 5).encode()))
    return m


def to_wire(raw):
    """What Postfix delivers: every line ends in CRLF (bare LF -> CRLF),
    and a last line without a line end gets one."""
    if not raw:
        return raw
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out = []
    for ln in lines:
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        out.append(ln + b"\r\n")
    return b"".join(out)


def sig_field_to_wire(s):
    """'DKIM-Signature: ...' as printed (CRLF or LF folds) -> header bytes with CRLF"""
    b = s.encode() if isinstance(s, str) else s
    b = b.replace(b"\r\n", b"\n").rstrip(b"\n").replace(b"\n", b"\r\n")
    return b + b"\r\n"


def tags(field):
    """tag -> value of a DKIM-Signature field (FWS removed)"""
    v = field.split(":", 1)[1]
    v = re.sub(r"\r?\n[ \t]", " ", v)
    out = {}
    for part in v.split(";"):
        if "=" not in part:
            continue
        k, val = part.split("=", 1)
        out[k.strip()] = re.sub(r"\s+", "", val)
    return out


def norm_c(c):
    if c is None:
        return "simple/simple"
    return c if "/" in c else c + "/simple"


def count_from(wire):
    head = wire.split(b"\r\n\r\n", 1)[0]
    return len(re.findall(rb"(?im)^from[ \t]*:", head))


# ------------------------------------------------------------------ setup
class Env:
    pass


def setup(d):
    e = Env()
    e.d = d
    kd = os.path.join(d, "keys")
    os.mkdir(kd, 0o700)
    e.keys = {
        "rsa": make_key(kd, "rsakey", "rsa", "rsa.example", "rsa2048"),
        "ed": make_key(kd, "edkey", "ed25519", "ed.example", "ed1"),
        "dual-rsa": make_key(kd, "dualrsa", "rsa", "dual.example", "duo-rsa"),
        "dual-ed": make_key(kd, "duald", "ed25519", "dual.example", "duo-ed"),
        "single": make_key(kd, "single", "rsa", "single.example", "sgl"),
        "filetab": make_key(kd, "filekey", "rsa", "filetab.example", "ft"),
    }
    e.dns = {}
    for k in e.keys.values():
        e.dns["%s._domainkey.%s" % (k.selector, k.domain)] = public_record(k)
    e.dnsfile = os.path.join(d, "dns.txt")
    with open(e.dnsfile, "w") as f:
        for n, t in e.dns.items():
            f.write("%s\t%s\n" % (n, t))
    # OpenDKIM format: KeyTable "keyname domain:selector:path",
    # SigningTable (refile:) "pattern keyname"; two lines for dual.example
    e.keytable = os.path.join(d, "KeyTable")
    with open(e.keytable, "w") as f:
        f.write("# KeyTable (OpenDKIM format)\n")
        for k in e.keys.values():
            if k.name not in ("single",):
                f.write("%s %s:%s:%s\n" % (k.name, k.domain, k.selector, k.path))
    e.signtable = os.path.join(d, "SigningTable")
    with open(e.signtable, "w") as f:
        f.write("# SigningTable (OpenDKIM refile: format)\n"
                "*@rsa.example rsakey\n"
                "*@ed.example edkey\n"
                "*@dual.example dualrsa\n"
                "*@dual.example duald\n")
    e.filetable = os.path.join(d, "SigningTable.file")
    with open(e.filetable, "w") as f:
        f.write("filetab.example filekey\n")
    return e


def write_conf(e, name, body):
    path = os.path.join(e.d, name + ".conf")
    with open(path, "w") as f:
        f.write("# sign_matrix %s\nAuthservID matrix.example\nDNSOffline yes\n%s" % (name, body))
    return path


def table_conf(e, canon, ttl=None):
    c = ("KeyTable %s\nSigningTable refile:%s\nRequireSafeKeys yes\n" % (e.keytable, e.signtable))
    if canon is not None:
        c += "Canonicalization %s\n" % canon
    if ttl is not None:
        c += "SignatureTTL %d\n" % ttl
    return write_conf(e, "t-%s-%s" % ((canon or "default").replace("/", "_"), ttl), c)


# ------------------------------------------------------------------ signing
def stub_sign(e, conf, raw):
    """dkimpy stands in for mailauth-check --sign (harness self-test)"""
    text = open(conf).read()
    m = re.search(r"(?m)^Canonicalization (\S+)", text)
    c = (m.group(1) if m else "relaxed/relaxed").split("/")
    wire = to_wire(raw)
    frm = re.search(rb"(?im)^from:.*@([a-z0-9.-]+)", wire)
    dom = frm.group(1).decode().lower() if frm else ""
    keys = [k for k in e.keys.values() if k.domain == dom and k.name != "single"]
    keys.sort(key=lambda k: k.kind != "rsa")
    out = []
    for k in keys:
        pem = open(k.path, "rb").read()
        if k.kind == "rsa":
            priv, alg = pem, b"rsa-sha256"
        else:
            der = run(["openssl", "pkey", "-in", k.path, "-outform", "DER"]).stdout
            priv, alg = base64.b64encode(der[-32:]), b"ed25519-sha256"
        d = dkim.DKIM(wire)
        h = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
             b"content-type"]
        h += [b"from"] * (count_from(wire) - 1 + 1)  # every instance + one
        sig = d.sign(k.selector.encode(), k.domain.encode(), priv, signature_algorithm=alg,
                     canonicalize=(c[0].encode(), c[1].encode()), include_headers=h)
        out.append(sig.decode().rstrip("\r\n"))
    return 0, {"signatures": out}, ""


def sign(e, conf, path, raw, json_out=True):
    if STUB:
        return stub_sign(e, conf, raw)
    argv = [CHECK, "--sign", "-c", conf, "--time", str(NOW)] + (["--json"] if json_out else []) + [path]
    r = run(argv)
    out = r.stdout.decode(errors="replace")
    if not json_out:
        return r.returncode, out, r.stderr.decode(errors="replace")
    try:
        j = json.loads(out) if r.returncode == 0 else None
    except ValueError as ex:
        return r.returncode, None, "bad JSON (%s): %s" % (ex, out[:300])
    return r.returncode, j, r.stderr.decode(errors="replace")


def dnsfunc_for(e):
    def f(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        t = e.dns.get(n.rstrip(".").lower())
        return t.encode() if t is not None else None
    return f


def py_verify(e, msg, idx):
    try:
        d = dkim.DKIM(msg)
        return bool(d.verify(idx=idx, dnsfunc=dnsfunc_for(e)))
    except Exception as ex:  # dkimpy raises on malformed input
        return False


# ------------------------------------------------------------------ checks
def check_case(e, name, conf, canon, ttl, raw, want_keys, perl_jobs):
    """sign raw, check tags, verify with dkimpy; queue the copy for Perl.
    Returns a list of problems (empty: fine)."""
    path = os.path.join(e.d, "msg", name + ".in")
    with open(path, "wb") as f:
        f.write(raw)
    rc, j, err = sign(e, conf, path, raw)
    if rc != 0 or j is None:
        return ["mailauth-check exit %d: %s" % (rc, err.strip()[:300])]
    sigs = j.get("signatures")
    if not isinstance(sigs, list):
        return ["no \"signatures\" array in the JSON: %s" % json.dumps(j)[:300]]
    probs = []
    if len(sigs) != len(want_keys):
        return ["want %d signature(s), got %d: %s" % (len(want_keys), len(sigs), sigs)]
    wire = to_wire(raw)
    signed = b"".join(sig_field_to_wire(s) for s in sigs) + wire
    out = os.path.join(e.d, "msg", name + ".eml")
    with open(out, "wb") as f:
        f.write(signed)
    nfrom = count_from(wire)
    seen = set()
    for i, s in enumerate(sigs):
        if not re.match(r"(?i)^DKIM-Signature:", s):
            probs.append("sig %d does not start with DKIM-Signature: %r" % (i, s[:40]))
            continue
        t = tags(s)
        k = next((k for k in want_keys if k.alg == t.get("a") and k.selector == t.get("s")), None)
        if k is None:
            probs.append("sig %d a=%s s=%s matches no expected key" % (i, t.get("a"), t.get("s")))
            continue
        seen.add(k.name)
        if t.get("v") != "1":
            probs.append("sig %d v=%s" % (i, t.get("v")))
        if t.get("d", "").lower() != k.domain:
            probs.append("sig %d d=%s, want %s" % (i, t.get("d"), k.domain))
        want_c = canon or "relaxed/relaxed"
        if norm_c(t.get("c")) != want_c:
            probs.append("sig %d c=%s, want %s" % (i, t.get("c"), want_c))
        if "t" not in t:
            probs.append("sig %d: no t=" % i)
        elif t["t"] != str(NOW) and not STUB:
            probs.append("sig %d t=%s, want %d (--time)" % (i, t["t"], NOW))
        if "l" in t:
            probs.append("sig %d has l=" % i)
        if ttl:
            if t.get("x") != str(NOW + ttl):
                probs.append("sig %d x=%s, want t+%d=%d" % (i, t.get("x"), ttl, NOW + ttl))
        elif "x" in t:
            probs.append("sig %d has x= without SignatureTTL" % i)
        if not t.get("bh") or not t.get("b"):
            probs.append("sig %d lacks bh= or b=" % i)
        h = [x.strip().lower() for x in t.get("h", "").split(":")]
        if h.count("from") != nfrom + 1:
            probs.append("sig %d h= names from %d times, message has %d (want oversigned: %d)"
                         % (i, h.count("from"), nfrom, nfrom + 1))
        if "dkim-signature" in h:
            probs.append("sig %d signs DKIM-Signature" % i)
        # verifier 1: dkimpy
        if not py_verify(e, signed, i):
            probs.append("python3-dkim: sig %d (%s) does not verify" % (i, k.alg))
        else:
            # oversigning: a From added after signing breaks it
            forged = b"From: Mallory <mallory@evil.example>\r\n" + signed
            # the added From sits above the signatures: indices unchanged
            if py_verify(e, forged, i):
                probs.append("python3-dkim: sig %d still verifies with a From added" % i)
            tampered = signed + b"tampered\r\n"
            if py_verify(e, tampered, i):
                probs.append("python3-dkim: sig %d still verifies with the body changed" % i)
    missing = [k.name for k in want_keys if k.name not in seen]
    if missing and not probs:
        probs.append("no signature by key(s) %s" % ", ".join(missing))
    perl_jobs.append((name, out, want_keys))
    return probs


def perl_results(e, jobs):
    """{file: [(result, d, s, a, detail)]}, ed25519 supported?"""
    files = [p for _, p, _ in jobs]
    if not files:
        return {}, False, ""
    r = run(["perl", PERL_VERIFY, e.dnsfile] + files)
    res = {}
    ed = False
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("ed25519 "):
            ed = line.split()[1] == "SUPPORTED"
            continue
        f = line.split("\t")
        if len(f) >= 3 and f[1] == "-":
            res.setdefault(f[0], [])
        elif len(f) >= 6:
            res.setdefault(f[0], []).append((f[2], f[3][2:], f[4][2:], f[5][2:],
                                             f[6] if len(f) > 6 else ""))
    err = r.stderr.decode(errors="replace") if r.returncode != 0 else ""
    return res, ed, err


# ------------------------------------------------------------------ main
KEYSETS = [("rsa", "rsa.example", ["rsa"]),
           ("ed25519", "ed.example", ["ed"]),
           ("dual", "dual.example", ["dual-rsa", "dual-ed"])]
CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]


def main():
    if not STUB and not os.access(CHECK, os.X_OK):
        print("FAIL setup: %s not built" % CHECK)
        print("sign_matrix: 0 passed, 1 failed")
        return 1
    if not STUB:
        r = run([CHECK, "--help"])
        if b"--sign" not in r.stdout + r.stderr:
            print("FAIL setup: %s does not know --sign (mailauth-check --help)" % CHECK)
            print("sign_matrix: 0 passed, 1 failed")
            return 1
    d = tempfile.mkdtemp(prefix="sign-matrix.")
    try:
        return body(d)
    finally:
        if os.environ.get("SIGN_MATRIX_KEEP") == "1":
            print("sign_matrix: kept %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def body(d):
    e = setup(d)
    os.mkdir(os.path.join(d, "msg"))
    cases = []  # (name, problems, perl job index range)
    jobs = []

    # the matrix
    for canon in CANONS:
        conf = table_conf(e, canon)
        for kname, dom, kids in KEYSETS:
            for mname, raw in messages(dom):
                name = "%s/%s/%s" % (kname, canon, mname)
                fname = name.replace("/", "_")
                n0 = len(jobs)
                probs = check_case(e, fname, conf, canon, None, raw,
                                   [e.keys[x] for x in kids], jobs)
                cases.append((name, probs, jobs[n0:]))

    # Canonicalization absent: relaxed/relaxed; SignatureTTL: x=
    conf = table_conf(e, None)
    for kname, dom, kids in KEYSETS[:2]:
        name = "%s/default-canon/plain" % kname
        n0 = len(jobs)
        probs = check_case(e, name.replace("/", "_"), conf, None, None,
                           messages(dom)[0][1], [e.keys[x] for x in kids], jobs)
        cases.append((name, probs, jobs[n0:]))
    if not STUB:
        conf = table_conf(e, "relaxed/relaxed", TTL)
        for kname, dom, kids in KEYSETS:
            name = "%s/signature-ttl/plain" % kname
            n0 = len(jobs)
            probs = check_case(e, name.replace("/", "_"), conf, "relaxed/relaxed", TTL,
                               messages(dom)[0][1], [e.keys[x] for x in kids], jobs)
            cases.append((name, probs, jobs[n0:]))

    # single-key form; file: SigningTable
    if not STUB:
        k = e.keys["single"]
        conf = write_conf(e, "single", "Domain %s\nSelector %s\nKeyFile %s\nRequireSafeKeys yes\n"
                          % (k.domain, k.selector, k.path))
        for mname, raw in messages(k.domain)[:3]:
            name = "single-form/%s" % mname
            n0 = len(jobs)
            probs = check_case(e, name.replace("/", "_"), conf, None, None, raw, [k], jobs)
            cases.append((name, probs, jobs[n0:]))
        conf = write_conf(e, "filetab", "KeyTable file:%s\nSigningTable file:%s\n"
                          % (e.keytable, e.filetable))
        name = "file-signingtable/plain"
        n0 = len(jobs)
        probs = check_case(e, name.replace("/", "_"), conf, None, None,
                           messages("filetab.example")[0][1], [e.keys["filetab"]], jobs)
        cases.append((name, probs, jobs[n0:]))

    # Perl Mail::DKIM over every delivered copy, one process
    pres, ed_ok, perr = perl_results(e, jobs)
    for name, probs, js in cases:
        for _, path, want_keys in js:
            got = pres.get(path)
            if got is None:
                probs.append("Perl Mail::DKIM gave no result%s" % (": " + perr.strip() if perr else ""))
                continue
            for k in want_keys:
                r = [x for x in got if x[3] == k.alg and x[2] == k.selector]
                if not r:
                    probs.append("Perl Mail::DKIM did not see the %s signature" % k.alg)
                elif k.kind == "ed25519" and not ed_ok:
                    pass  # this Mail::DKIM cannot check Ed25519 (noted at the end)
                elif r[0][0] != "pass":
                    probs.append("Perl Mail::DKIM: %s signature %s (%s)" % (k.alg, r[0][0], r[0][4]))
        if probs:
            bad(name, "; ".join(probs))
        else:
            ok(name)

    if not STUB:
        extra_cases(e)
    if not ed_ok:
        print("note: Perl Mail::DKIM %s has no ed25519-sha256: Ed25519 signatures verified by "
              "python3-dkim only" % perl_version())
    print("sign_matrix: %d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


def perl_version():
    r = run(["perl", "-MMail::DKIM", "-e", "print $Mail::DKIM::VERSION"])
    return r.stdout.decode(errors="replace") or "?"


def extra_cases(e):
    raw = (hdrs("nokey.example") + "\r\n" + BODY).encode()
    path = os.path.join(e.d, "msg", "nokey.in")
    with open(path, "wb") as f:
        f.write(raw)
    conf = table_conf(e, "relaxed/relaxed")
    rc, j, err = sign(e, conf, path, raw)
    if rc != 0 or j is None:
        bad("no-key-domain", "exit %d: %s" % (rc, err.strip()))
    elif j.get("signatures", []) != []:
        bad("no-key-domain", "signed anyway: %s" % j.get("signatures"))
    else:
        ok("no-key-domain")

    # plain output carries the same field(s) as the JSON
    raw = (hdrs("dual.example") + "\r\n" + BODY).encode()
    path = os.path.join(e.d, "msg", "plain-out.in")
    with open(path, "wb") as f:
        f.write(raw)
    rc, out, err = sign(e, conf, path, raw, json_out=False)
    n = len(re.findall(r"(?im)^DKIM-Signature:", out))
    if rc != 0:
        bad("plain-output", "exit %d: %s" % (rc, err.strip()))
    elif n != 2:
        bad("plain-output", "want 2 DKIM-Signature fields, got %d: %s" % (n, out[:300]))
    else:
        ok("plain-output")

    # RequireSafeKeys: a group/other-readable key is refused at load
    unsafe = os.path.join(e.d, "unsafe.pem")
    shutil.copy(e.keys["rsa"].path, unsafe)
    os.chmod(unsafe, 0o644)
    conf = write_conf(e, "unsafe", "Domain rsa.example\nSelector rsa2048\nKeyFile %s\n"
                      "RequireSafeKeys yes\n" % unsafe)
    raw = (hdrs("rsa.example") + "\r\n" + BODY).encode()
    path = os.path.join(e.d, "msg", "unsafe.in")
    with open(path, "wb") as f:
        f.write(raw)
    r = run([CHECK, "--sign", "-c", conf, "--json", path])
    if r.returncode == 2 and b"unsafe.pem" in r.stderr:
        ok("require-safe-keys-refuses-0644")
    else:
        bad("require-safe-keys-refuses-0644", "want exit 2 naming the key file, got %d: %s %s"
            % (r.returncode, r.stderr.decode(errors="replace").strip(),
               r.stdout.decode(errors="replace")[:200]))
    conf = write_conf(e, "unsafe-ok", "Domain rsa.example\nSelector rsa2048\nKeyFile %s\n"
                      "RequireSafeKeys no\n" % unsafe)
    rc, j, err = sign(e, conf, path, raw)
    if rc == 0 and j is not None and len(j.get("signatures", [])) == 1:
        ok("require-safe-keys-no-accepts-0644")
    else:
        bad("require-safe-keys-no-accepts-0644", "exit %d: %s %s" % (rc, err.strip(), j))


if __name__ == "__main__":
    sys.exit(main())
