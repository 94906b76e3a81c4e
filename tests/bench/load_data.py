#!/usr/bin/python3
"""load_data.py - the data set of tests/bench/load.sh

usage: load_data.py DIR

Writes into DIR (which must exist):
  keys/signer.example.rsa.pem, keys/signer.example.ed25519.pem
                        outbound signing keys (RSA-2048, Ed25519), mode 0600
  keys/senderN.example.rsa.pem      DKIM keys of the inbound senders 1..4
  zone                  DNSZoneFile lines ("name TTL IN TYPE rdata"):
                        senderN.example SPF "include:_spf.senderN.example
                        -all", the include authorising 203.0.113.0/24,
                        DMARC p=reject, the DKIM keys; the same for
                        signer.example with both of its keys
  KeyTable, SigningTable.rsa, SigningTable.ed25519, SigningTable.dual
                        OpenDKIM format (dual: two lines for one domain)
  msg/verify-N.eml      inbound from senderN.example, about 4 KB of
                        multipart/alternative body, 15 header fields,
                        DKIM-signed rsa-sha256 relaxed/relaxed
  msg/sign-N.eml        outbound, From newsletter@signer.example, unsigned
  msg/reject.eml        verify-1.eml with its body altered after signing
                        (sent from an address SPF does not authorise: a
                        DMARC p=reject failure)
Every signature is checked against the published keys before writing.
Content is deterministic (fixed seed); keys are new on every run.
"""
import base64
import os
import random
import subprocess
import sys

import dkim

SENDERS = ["sender%d.example" % i for i in range(1, 5)]
SIGNER = "signer.example"
IN_SEL = "in2048"
OUT_RSA_SEL = "out2048"
OUT_ED_SEL = "out25519"
TTL = 3600
DATE = "Mon, 10 Nov 2025 09:30:00 +0000"
SIGN_FIELDS = [b"From", b"To", b"Subject", b"Date", b"Message-ID",
               b"MIME-Version", b"Content-Type", b"Reply-To", b"List-Id",
               b"List-Unsubscribe", b"List-Unsubscribe-Post", b"Feedback-ID"]
VOCAB = ("account after again always annual answer before between billing "
         "calendar change client contract customer delivery details document "
         "during estimate every feature follow further invoice item latest "
         "meeting member month notice number office order overview payment "
         "period please project question quarter receipt release reminder "
         "report request review schedule service shipment status summary "
         "support team thanks today update usage week welcome within year").split()


def openssl(*args):
    return subprocess.run(("openssl",) + args, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout


def new_key(path, algo):
    """Generate a key (mode 0600); return the p= value of its DKIM record."""
    old = os.umask(0o077)
    try:
        if algo == "rsa":
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", path)
        else:
            openssl("genpkey", "-algorithm", "ED25519", "-out", path)
    finally:
        os.umask(old)
    der = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    # RSA: the whole SubjectPublicKeyInfo; Ed25519 (RFC 8463): the raw 32 bytes
    return base64.b64encode(der if algo == "rsa" else der[-32:]).decode()


def txt(value):
    """TXT rdata: quoted strings of at most 250 bytes."""
    return " ".join('"%s"' % value[i:i + 250] for i in range(0, len(value), 250))


def zone_lines(domain, keys, dmarc):
    out = ['%s. %d IN TXT "v=spf1 include:_spf.%s -all"' % (domain, TTL, domain),
           '_spf.%s. %d IN TXT "v=spf1 ip4:203.0.113.0/24 -all"' % (domain, TTL),
           'mail.%s. %d IN A 203.0.113.25' % (domain, TTL),
           'mail.%s. %d IN TXT "v=spf1 ip4:203.0.113.0/24 -all"' % (domain, TTL),
           '_dmarc.%s. %d IN TXT "%s"' % (domain, TTL, dmarc)]
    for sel, kind, pub in keys:
        out.append("%s._domainkey.%s. %d IN TXT %s"
                   % (sel, domain, TTL, txt("v=DKIM1; k=%s; p=%s" % (kind, pub))))
    return out


def paragraph(rng):
    words = [rng.choice(VOCAB) for _ in range(rng.randint(30, 55))]
    words[0] = words[0].capitalize()
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + len(w) + 1 > 70:
            lines.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    lines.append(cur + ".")
    return lines


def body(rng, boundary, size=4096):
    text, html = [], []
    while sum(len(x) + 2 for x in text + html) < size - 450:
        p = paragraph(rng)
        text += p + [""]
        html += ["<p>"] + p + ["</p>"]
    return "\n".join(
        ["This is a multi-part message in MIME format.", "", "--" + boundary,
         "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: 7bit", ""] + text +
        ["--" + boundary, "Content-Type: text/html; charset=utf-8",
         "Content-Transfer-Encoding: 7bit", "", "<html><body>"] + html +
        ["</body></html>", "", "--%s--" % boundary, ""])


def message(rng, n, domain, user):
    """14 header fields (+ the DKIM-Signature for inbound: 15) and a body."""
    boundary = "----=_Part_%d_%08x" % (n, rng.getrandbits(32))
    head = [
        "Received: from app%d.internal.%s (app%d.internal.%s [10.20.%d.5])" % (n, domain, n, domain, n),
        "\tby mail.%s (Postfix) with ESMTPS id 4Vb%07X" % (domain, rng.getrandbits(28)),
        "\tfor <user%d@rcpt.example>; %s" % (n, DATE),
        'From: "%s at %s" <%s@%s>' % (user.capitalize(), domain, user, domain),
        "To: <user%d@rcpt.example>" % n,
        "Subject: %s" % " ".join(rng.choice(VOCAB) for _ in range(7)).capitalize(),
        "Date: " + DATE,
        "Message-ID: <%08x.%d@mail.%s>" % (rng.getrandbits(32), n, domain),
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative;\n\tboundary="%s"' % boundary,
        "Reply-To: <help@%s>" % domain,
        "List-Id: Announcements <news.%s>" % domain,
        "List-Unsubscribe: <mailto:leave-%d@%s>,\n <https://www.%s/leave?id=%012x>"
        % (n, domain, domain, rng.getrandbits(48)),
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Feedback-ID: %d:news:bench:%s" % (n, domain),
        "X-Mailer: load_data.py",
    ]
    return "\n".join(head) + "\n\n" + body(rng, boundary)


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def sign(text, domain, sel, key, algo=b"rsa-sha256"):
    sig = dkim.sign(crlf(text), sel.encode(), domain.encode(), key,
                    canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=algo,
                    include_headers=SIGN_FIELDS + [b"From"])
    return sig.decode().replace("\r\n", "\n") + text


def check(text, records):
    def dnsfunc(name, timeout=5):
        return records.get(name.decode() if isinstance(name, bytes) else name)
    if not dkim.DKIM(crlf(text)).verify(dnsfunc=dnsfunc):
        raise SystemExit("load_data.py: a signature of ours does not verify")


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        raise SystemExit("usage: load_data.py DIR")
    d = sys.argv[1]
    for sub in ("keys", "msg"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    rng = random.Random(20251110)
    zone = []
    users = ["alice", "bob", "carol", "dave"]
    for n, dom in enumerate(SENDERS, 1):
        kp = os.path.join(d, "keys", "%s.rsa.pem" % dom)
        pub = new_key(kp, "rsa")
        zone += zone_lines(dom, [(IN_SEL, "rsa", pub)],
                           "v=DMARC1; p=reject; rua=mailto:dmarc@%s" % dom)
        msg = sign(message(rng, n, dom, users[n - 1]), dom, IN_SEL,
                   open(kp, "rb").read())
        check(msg, {"%s._domainkey.%s." % (IN_SEL, dom):
                    ("v=DKIM1; k=rsa; p=" + pub).encode()})
        with open(os.path.join(d, "msg", "verify-%d.eml" % n), "w") as f:
            f.write(msg)
        if n == 1:
            bad = msg.replace("\n\n", "\n\nAltered after signing.\n", 1)
            with open(os.path.join(d, "msg", "reject.eml"), "w") as f:
                f.write(bad)
    rsa = os.path.join(d, "keys", SIGNER + ".rsa.pem")
    ed = os.path.join(d, "keys", SIGNER + ".ed25519.pem")
    zone += zone_lines(SIGNER, [(OUT_RSA_SEL, "rsa", new_key(rsa, "rsa")),
                                (OUT_ED_SEL, "ed25519", new_key(ed, "ed25519"))],
                       "v=DMARC1; p=reject")
    for n in range(1, 5):
        with open(os.path.join(d, "msg", "sign-%d.eml" % n), "w") as f:
            f.write(message(rng, 100 + n, SIGNER, "newsletter"))
    with open(os.path.join(d, "zone"), "w") as f:
        f.write("\n".join(zone) + "\n")
    with open(os.path.join(d, "KeyTable"), "w") as f:
        f.write("rsa._domainkey.%s %s:%s:%s\n" % (SIGNER, SIGNER, OUT_RSA_SEL, rsa))
        f.write("ed._domainkey.%s %s:%s:%s\n" % (SIGNER, SIGNER, OUT_ED_SEL, ed))
    tables = {"rsa": ["rsa"], "ed25519": ["ed"], "dual": ["rsa", "ed"]}
    for name, keys in tables.items():
        with open(os.path.join(d, "SigningTable." + name), "w") as f:
            for k in keys:
                f.write("*@%s %s._domainkey.%s\n" % (SIGNER, k, SIGNER))


if __name__ == "__main__":
    main()
