#!/usr/bin/python3
"""migrate.py - Debian's opendkim.conf and opendmarc.conf, run by mailauthd

SYNOPSIS
    /usr/bin/python3 tests/migrate.py BUILD_DIR SRC_DIR   (tests/migrate.sh)

DESCRIPTION
    Copies /etc/opendkim.conf and /etc/opendmarc.conf as Debian's opendkim
    and opendmarc packages install them and checks that mailauthd takes
    them as they are (-n, with the notes on ignored keys; --print-config
    gives a native file that loads back). Then it adjusts the copies the
    way an operator would to run them here: the sockets and PID files into
    a private directory, the commented Domain/Selector/KeyFile lines
    filled in with a fresh key, UserID left out (privilege dropping has
    its own test), and OpenDKIM's TestDNSData (mailauthd: DNSZoneFile in
    a third file) standing in for DNS. The real opendkim runs on one copy,
    mailauthd on the same copy plus opendmarc.conf, and the same messages
    go through both with miltertest (tests/migrate/send.lua):

    - signing from 127.0.0.1: the same a=, c=, d=, s= and bh=, From
      oversigned by both, and python3-dkim (an independent verifier)
      accepts both signatures;
    - verifying each other's signatures from outside: dkim=pass from both
      daemons; a changed body: dkim=fail from both;
    - DMARC: a p=reject failure is accepted with dmarc=fail, because
      Debian's opendmarc.conf leaves RejectFailures at OpenDMARC's default
      (false); with "RejectFailures true" written into opendmarc.conf and
      SIGHUP, the same message is rejected;
    - Mode v in opendkim.conf and SIGHUP: outbound mail passes unsigned;
    - LogFormat json (in the test's third file): one JSON object per
      judged message, parsed by Python's json.

    Keys must sit in directories only root can write (OpenDKIM checks the
    whole path), so as root the work directory is under /run; otherwise
    RequireSafeKeys is turned off in the copies.
    Prints "PASS name" / "FAIL name: why" and "migrate: N passed, N failed".
    Exit 0, 1 on a failure, 77 when opendkim, miltertest or the Debian
    files are missing.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD, SRC = sys.argv[1], sys.argv[2]
MAD = os.path.join(BUILD, "mailauthd")
LUA = os.path.join(SRC, "tests", "migrate", "send.lua")
ETC_DKIM, ETC_DMARC = "/etc/opendkim.conf", "/etc/opendmarc.conf"
WAIT = 20
PASSED, FAILED = [], []


def ok(name):
    print("PASS " + name)
    PASSED.append(name)


def bad(name, why):
    print("FAIL %s: %s" % (name, why))
    FAILED.append(name)


def check(name, cond, why):
    (ok(name) if cond else bad(name, why))
    return cond


def finish():
    print("migrate: %d passed, %d failed" % (len(PASSED), len(FAILED)))
    sys.exit(1 if FAILED else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    end = time.time() + WAIT
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def send(port, msg, ip):
    """one message through the milter on port: (reply, {field: [values]})"""
    r = subprocess.run(["miltertest", "-s", LUA, "-D",
                        "socket=inet:%d@127.0.0.1" % port, "-D", "ip=" + ip,
                        "-D", "msg=" + msg], capture_output=True, text=True,
                       timeout=60)
    reply, hdrs = None, {}
    for line in r.stdout.splitlines():
        if line.startswith("REPLY "):
            reply = line[6:]
        elif line.startswith("HDR "):
            name, _, value = line[4:].partition(":")
            hdrs.setdefault(name, []).append(value.strip())
    if reply is None:
        reply = "error(rc=%d %s)" % (r.returncode, r.stderr.strip()[-200:])
    return reply, hdrs


def tags(sig):
    return {k.strip(): re.sub(r"\s+", "", v) for k, v in
            (t.split("=", 1) for t in sig.split(";") if "=" in t)}


def dkim_result(ar_values):
    for v in ar_values or []:
        m = re.search(r"\bdkim=(\w+)", v)
        if m:
            return m.group(1)
    return None


def dmarc_result(ar_values):
    for v in ar_values or []:
        m = re.search(r"\bdmarc=(\w+)", v)
        if m:
            return m.group(1)
    return None


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    for need in ("opendkim", "miltertest"):
        if shutil.which(need) is None and not os.path.exists("/usr/sbin/" + need):
            print("migrate.py: %s not installed: skipped" % need)
            sys.exit(77)
    for f in (ETC_DKIM, ETC_DMARC):
        if not os.path.exists(f):
            print("migrate.py: %s missing (opendkim/opendmarc packages): "
                  "skipped" % f)
            sys.exit(77)
    try:
        import dkim  # noqa: F401  (python3-dkim, the independent judge)
    except ImportError:
        print("migrate.py: python3-dkim missing: skipped")
        sys.exit(77)
    root = os.geteuid() == 0
    d = tempfile.mkdtemp(prefix="mailauthd-migrate.",
                         dir="/run" if root else None)
    os.chmod(d, 0o700)
    procs = []
    try:
        run(d, root, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("KEEP") == "1":
            print("migrate.py: kept " + d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    finish()


def run(d, root, procs):
    import dkim
    # --- 1. the files as Debian ships them
    dk, dm = os.path.join(d, "opendkim.conf"), os.path.join(d, "opendmarc.conf")
    shutil.copy(ETC_DKIM, dk)
    shutil.copy(ETC_DMARC, dm)
    r = subprocess.run([MAD, "-n", "-c", dk, "-c", dm], capture_output=True,
                       text=True)
    out = r.stdout + r.stderr
    check("debian-files-load", r.returncode == 0, "mailauthd -n: rc %d: %s"
          % (r.returncode, out.strip()[-300:]))
    check("debian-files-notes", all(s in out for s in (
        "SyslogSuccess ignored", "UMask ignored", "PublicSuffixList ignored",
        "Socket ignored: already set at", "RejectFailures no: OpenDMARC's default")),
        "missing notes in: " + out[-600:])
    r = subprocess.run([MAD, "--print-config", "-c", dk, "-c", dm],
                       capture_output=True, text=True)
    native = os.path.join(d, "native.conf")
    write(native, r.stdout)
    r2 = subprocess.run([MAD, "-n", "-c", native], capture_output=True, text=True)
    check("print-config-loads-back", r.returncode == 0 and r2.returncode == 0
          and "\nRejectFailures no\n" in r.stdout
          and "\nCanonicalization relaxed/simple\n" in r.stdout
          and "note:" not in r2.stdout,
          "print-config rc %d, -n rc %d: %s" % (r.returncode, r2.returncode,
                                                (r.stdout + r2.stdout + r2.stderr)[-400:]))

    # --- 2. adjusted copies, a key, DNS data
    subprocess.run([os.path.join(BUILD, "mailauth-keygen"), "-d", "example.org",
                    "-s", "sel", "-D", d], check=True, capture_output=True)
    with open(os.path.join(d, "sel.txt")) as f:
        rec = re.sub(r'"\s*"', "", f.read())
    p = re.search(r'"(v=DKIM1;[^"]*)', rec).group(1)
    txt = {"sel._domainkey.example.org": p,
           "example.org": "v=spf1 ip4:192.0.2.0/24 -all",
           "_dmarc.example.org": "v=DMARC1; p=reject"}
    write(os.path.join(d, "dns.txt"),
          "".join("%s %s\n" % (k, v) for k, v in txt.items()))
    zone = []
    for k, v in txt.items():
        parts = " ".join('"%s"' % v[i:i + 250] for i in range(0, len(v), 250))
        zone.append("%s. 300 IN TXT %s" % (k, parts))
    write(os.path.join(d, "zone"), "\n".join(zone) + "\n")
    port_od, port_mad = free_port(), free_port()

    def adjust(text, port, pid):
        text = re.sub(r"(?m)^Socket\s.*$", "Socket inet:%d@127.0.0.1" % port, text)
        text = re.sub(r"(?m)^PidFile\s.*$", "PidFile " + pid, text)
        text = re.sub(r"(?m)^UserID\s.*$", "", text)
        text = re.sub(r"(?m)^#Domain\s.*$", "Domain\t\t\texample.org", text)
        text = re.sub(r"(?m)^#Selector\s.*$", "Selector\t\tsel", text)
        text = re.sub(r"(?m)^#KeyFile\s.*$", "KeyFile\t\t" +
                      os.path.join(d, "sel.private"), text)
        text += "TestDNSData\t\tfile:%s\n" % os.path.join(d, "dns.txt")
        if not root:
            text += "RequireSafeKeys\t\tfalse\n"
        return text

    with open(ETC_DKIM) as f:
        etc = f.read()
    od_conf = os.path.join(d, "od.conf")
    write(od_conf, adjust(etc, port_od, os.path.join(d, "opendkim.pid")))
    write(dk, adjust(etc, port_mad, os.path.join(d, "mailauthd.pid")))
    with open(ETC_DMARC) as f:
        etc_dmarc = f.read()
    write(dm, re.sub(r"(?m)^(PidFile|Socket|UserID)\s.*$", "", etc_dmarc))
    local = os.path.join(d, "local.conf")
    write(local, "# test only: DNS from the zone file, history in here\n"
          "DNSZoneFile %s\nDNSOffline yes\nReportDatabase sqlite:%s\n"
          "LogFormat json\n"
          "ReportSpool %s\n" % (os.path.join(d, "zone"),
                                os.path.join(d, "history.db"),
                                os.path.join(d, "history.spool")))
    od = subprocess.Popen(["opendkim", "-f", "-x", od_conf, "-l"],
                          stderr=open(os.path.join(d, "opendkim.err"), "w"))
    procs.append(od)
    mad_err = open(os.path.join(d, "mailauthd.err"), "w")
    mad = subprocess.Popen([MAD, "-f", "-c", dk, "-c", dm, "-c", local],
                           stderr=mad_err)
    procs.append(mad)
    if not check("opendkim-starts", wait_port(port_od, od),
                 open(os.path.join(d, "opendkim.err")).read()[-300:]):
        return
    if not check("mailauthd-starts", wait_port(port_mad, mad),
                 open(os.path.join(d, "mailauthd.err")).read()[-300:]):
        return

    def dnsfunc(name, timeout=5):
        return txt.get(name.decode().rstrip(".")).encode()

    # --- 3. signing
    m1 = os.path.join(d, "m1.txt")
    body = "Hello,\nthis is the body.\n\n-- \nAlice\n"
    head = ("From: Alice <alice@example.org>\nTo: bob@rcpt.example\n"
            "Subject: migrate test\nDate: Tue, 24 Nov 2026 05:00:00 +0000\n"
            "Message-ID: <m1@example.org>\n")
    write(m1, head + "\n" + body)
    r_od, h_od = send(port_od, m1, "127.0.0.1")
    r_mad, h_mad = send(port_mad, m1, "127.0.0.1")
    sig_od = (h_od.get("DKIM-Signature") or [None])[0]
    sig_mad = (h_mad.get("DKIM-Signature") or [None])[0]
    if not check("both-sign", sig_od and sig_mad,
                 "opendkim %s %r, mailauthd %s %r" % (r_od, sig_od, r_mad, sig_mad)):
        return
    t_od, t_mad = tags(sig_od), tags(sig_mad)
    same = [k for k in ("a", "c", "d", "s", "bh") if t_od.get(k) != t_mad.get(k)]
    check("same-signature-tags", not same, "differ in %s: %r vs %r" % (
        same, {k: t_od.get(k) for k in same}, {k: t_mad.get(k) for k in same}))
    check("both-oversign-from",
          all([x.lower() for x in t["h"].split(":")].count("from") == 2
              for t in (t_od, t_mad)), "h= %s / %s" % (t_od["h"], t_mad["h"]))

    def signed(sig, path):
        write(path, "DKIM-Signature: " + sig + "\n" + head + "\n" + body)
        return path

    for who, sig in (("opendkim", sig_od), ("mailauthd", sig_mad)):
        raw = ("DKIM-Signature: " + sig + "\n" + head + "\n" + body).replace(
            "\n", "\r\n").encode()
        check("python3-dkim-verifies-" + who,
              dkim.verify(raw, dnsfunc=dnsfunc), "python3-dkim: fails")

    # --- 4. verifying each other's signatures, from outside
    for who, sig in (("opendkim", sig_od), ("mailauthd", sig_mad)):
        path = signed(sig, os.path.join(d, "in-%s.txt" % who))
        res = []
        for port in (port_od, port_mad):
            reply, h = send(port, path, "192.0.2.10")
            res.append((reply, dkim_result(h.get("Authentication-Results"))))
        check("verify-%s-signature" % who,
              all(x == ("accept", "pass") or x == ("continue", "pass")
                  for x in res), "opendkim %r, mailauthd %r" % tuple(res))
        with open(path) as f:
            text = f.read()
        bad_path = os.path.join(d, "bad-%s.txt" % who)
        write(bad_path, text.replace("this is the body", "this is a body"))
        res = []
        for port in (port_od, port_mad):
            reply, h = send(port, bad_path, "192.0.2.10")
            res.append(dkim_result(h.get("Authentication-Results")))
        check("changed-body-%s-fails" % who, res == ["fail", "fail"],
              "dkim= opendkim %r, mailauthd %r" % tuple(res))

    # --- 5. DMARC: Debian's opendmarc.conf monitors; RejectFailures true acts
    unsigned = os.path.join(d, "unsigned.txt")
    write(unsigned, head + "\n" + body)
    reply, h = send(port_mad, unsigned, "198.51.100.7")
    ar = h.get("Authentication-Results")
    check("dmarc-fail-monitored", reply in ("accept", "continue")
          and dmarc_result(ar) == "fail", "reply %s, A-R %r" % (reply, ar))
    with open(dm, "a") as f:
        f.write("RejectFailures true\n")
    mad.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    reply, h = send(port_mad, unsigned, "198.51.100.7")
    check("dmarc-fail-rejected-after-reload", reply in ("reject", "replycode"),
          "reply %s" % reply)

    # --- 6. Mode v: outbound mail passes unsigned
    with open(dk) as f:
        text = f.read()
    write(dk, re.sub(r"(?m)^#Mode\s.*$", "Mode\t\t\tv", text))
    mad.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    reply, h = send(port_mad, m1, "127.0.0.1")
    check("mode-v-does-not-sign", reply in ("accept", "continue")
          and "DKIM-Signature" not in h, "reply %s, fields %r" % (reply, h))
    mad.send_signal(signal.SIGTERM)
    try:
        rc = mad.wait(timeout=40)
    except subprocess.TimeoutExpired:
        rc = None
    mad_err.close()
    with open(os.path.join(d, "mailauthd.err")) as f:
        err = f.read()
    check("mailauthd-stops-cleanly", rc == 0 and "Sanitizer" not in err
          and "runtime error" not in err, "rc %r: %s" % (rc, err[-400:]))
    # LogFormat json: one object per judged message, dkim an array
    objs = []
    for line in err.splitlines():
        i = line.find(": info: {")
        if i >= 0:
            try:
                objs.append(json.loads(line[i + 8:]))
            except ValueError as e:
                bad("json-log-lines", "not JSON (%s): %s" % (e, line))
                return
    verify = [o for o in objs if o.get("mode") == "verify"]
    check("json-log-lines", len(objs) == 8 and len(verify) == 6
          and objs[-1].get("passed") == "Mode"
          and all(isinstance(o.get("dkim"), list) and o.get("qid") == "MIGRATE1"
                  and o.get("action") for o in verify)
          and sum(o.get("dkim") == ["pass/example.org/sel"] for o in verify) == 2
          and sum(o.get("dmarc") == "fail" for o in verify) == 2,
          "%d objects: %r" % (len(objs), objs[:3]))


if __name__ == "__main__":
    main()
