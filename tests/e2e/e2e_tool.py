#!/usr/bin/python3
"""e2e_tool.py - helpers for tests/e2e/postfix.sh and sendmail.sh (run with
/usr/bin/python3).

  freeport [udp]                 print a free 127.0.0.1 port (TCP, or TCP+UDP)
  dnsq PORT NAME [TYPE]          query 127.0.0.1:PORT once; print the answers
  txtsplit TEXT                  TEXT as zone-file character-strings ("..." "...")
  mkmsg OUT --from A --subject S [--sign KEY --domain D --selector S]
        [--tamper] [--header "Name: value"]...
                                 write a CRLF message, optionally DKIM-signed
  mkmsgs                         mkmsg for each line of standard input
                                 (its arguments as shell words): one
                                 process for many messages
  send PORT --from A --to A --file F [--xclient-addr IP] [--helo H]
        [--file2 F2 --from2 A2] [--auth USER PASS] [--source ADDR]
        [--more FROM F3 [--more FROM F4 ...]] [--pause SECONDS] [--time]
        send over SMTP (after XCLIENT, SMTP AUTH when asked), from the
        local address ADDR (another loopback address, e.g. 127.0.0.2:
        the client address an MTA without XCLIENT sees); --more adds
        messages on the same connection, --pause waits between them;
        one line per message:
                                 "CODE TEXT" of the final reply (250 ...,
                                 550 5.7.1 ...). Exit 3 on connection trouble.
        --time adds a last line "time SECONDS": connect to QUIT's reply.

Only 127.0.0.1 is ever contacted (from 127.0.0.0/8 source addresses); every
socket has a timeout.
"""
import shlex
import socket
import smtplib
import sys
import time

HOST = "127.0.0.1"
TIMEOUT = 20


def freeport(udp=False):
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((HOST, 0))
        port = t.getsockname()[1]
        ok = True
        if udp:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind((HOST, port))
            except OSError:
                ok = False
            u.close()
        t.close()
        if ok and port > 1024:
            return port
    raise SystemExit("no free port")


def dnsq(port, name, qtype="TXT"):
    import dnslib
    q = dnslib.DNSRecord.question(name, qtype)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.sendto(q.pack(), (HOST, int(port)))
        r = dnslib.DNSRecord.parse(s.recv(65535))
    finally:
        s.close()
    for rr in r.rr:
        print(rr.rdata)
    return 0 if r.rr else 1


def txtsplit(text):
    parts = [text[i:i + 250] for i in range(0, len(text), 250)]
    return " ".join('"%s"' % p for p in parts)


def mkmsg(args):
    out = args.pop(0)
    opt = {"--header": []}
    while args:
        k = args.pop(0)
        if k == "--tamper":
            opt[k] = True
        elif k == "--header":
            opt[k].append(args.pop(0))
        else:
            opt[k] = args.pop(0)
    stamp = "%d.%d" % (int(time.time() * 1000), id(opt))
    subject = opt.get("--subject", "e2e")
    hdrs = [h.replace("\r\n", "\n").replace("\n", "\r\n")
            for h in opt["--header"]] + [
        "From: Sender <%s>" % opt["--from"],
        "To: Rcpt <user@rcpt.example>",
        "Subject: %s" % subject,
        "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        "Message-ID: <%s.%s@e2e.example>" % (subject.replace(" ", "-"), stamp),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    body = ("Hello,\r\n\r\nthis is the end-to-end test message '%s'.\r\n"
            "-- \r\nmailauthd e2e\r\n" % subject)
    msg = ("\r\n".join(hdrs) + "\r\n\r\n" + body).encode()
    if "--sign" in opt:
        import dkim
        key = open(opt["--sign"], "rb").read()
        sig = dkim.sign(msg, opt["--selector"].encode(), opt["--domain"].encode(),
                        key, canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=[b"from", b"to", b"subject", b"date",
                                         b"message-id", b"mime-version",
                                         b"content-type"])
        msg = sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + msg
    if opt.get("--tamper"):
        msg = msg.replace(b"this is the end-to-end", b"this is the TAMPERED")
    open(out, "wb").write(msg)
    return 0


def send(args):
    port = int(args.pop(0))
    opt = {}
    while args:
        k = args.pop(0)
        if k == "--auth":       # --auth USER PASSWORD: SMTP AUTH PLAIN/LOGIN
            opt[k] = (args.pop(0), args.pop(0))
        elif k == "--time":
            opt[k] = True
        elif k == "--more":     # --more FROM FILE: one more message
            opt.setdefault(k, []).append((args.pop(0), args.pop(0)))
        else:
            opt[k] = args.pop(0)
    msgs = [(opt["--from"], opt["--file"])]
    if "--file2" in opt:
        msgs.append((opt.get("--from2", opt["--from"]), opt["--file2"]))
    msgs += opt.get("--more", [])
    helo = opt.get("--helo", "client.e2e.example")
    source = (opt["--source"], 0) if "--source" in opt else None
    start = time.monotonic()
    try:
        s = smtplib.SMTP(HOST, port, local_hostname=helo, timeout=TIMEOUT,
                         source_address=source)
        s.ehlo(helo)
        if "--xclient-addr" in opt:
            code, text = s.docmd("XCLIENT", "ADDR=%s NAME=[UNAVAILABLE] HELO=%s"
                                 % (opt["--xclient-addr"], helo))
            if code != 220:
                print("%d %s" % (code, text.decode(errors="replace")))
                return 3
            s.ehlo(helo)
        if "--auth" in opt:
            try:
                s.login(*opt["--auth"])
            except (smtplib.SMTPException, OSError) as e:
                print("000 AUTH: %s" % e)
                return 3
    except smtplib.SMTPConnectError as e:      # a 4xx/5xx greeting
        print("%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace")))
        return 3
    except (OSError, smtplib.SMTPException) as e:
        print("000 connection: %s" % e)
        return 3
    rc = 0
    for n, (mfrom, path) in enumerate(msgs):
        if n > 0 and "--pause" in opt:
            time.sleep(float(opt["--pause"]))
        data = open(path, "rb").read()
        try:
            s.sendmail(mfrom, [opt.get("--to", "user@rcpt.example")], data)
            print("250 accepted")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            print("%d %s" % (code, text.decode(errors="replace")))
            s.rset()
        except smtplib.SMTPResponseException as e:
            print("%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace")))
            try:
                s.rset()
            except (OSError, smtplib.SMTPException):
                rc = 3
                break
        except (OSError, smtplib.SMTPException) as e:
            print("000 %s" % e)
            rc = 3
            break
    try:
        s.quit()
    except (OSError, smtplib.SMTPException):
        pass
    if "--time" in opt:
        print("time %.6f" % (time.monotonic() - start))
    return rc


def reportcheck(path, xsd):
    """A delivered DMARC report mail: MIME with one gzip attachment whose
    content is XML that validates against the RFC 9990 schema."""
    import email
    import email.policy
    import gzip
    import subprocess
    import tempfile
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    if not msg.is_multipart():
        print("not a multipart message")
        return 1
    parts = [p for p in msg.walk()
             if p.get_content_type() in ("application/gzip", "application/x-gzip")]
    if len(parts) != 1:
        print("want one gzip attachment, found %d" % len(parts))
        return 1
    name = parts[0].get_filename() or ""
    if not name.endswith(".xml.gz") or "!" not in name:
        print("attachment name %r is not RFC 9990's" % name)
        return 1
    xml = gzip.decompress(parts[0].get_payload(decode=True))
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(xml)
        f.flush()
        r = subprocess.run(["xmllint", "--noout", "--schema", xsd, f.name],
                           capture_output=True, timeout=60)
    if r.returncode != 0:
        print("xmllint: %s" % r.stderr.decode(errors="replace")[-300:])
        return 1
    if b"<record>" not in xml:
        print("report has no record")
        return 1
    return 0


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a.pop(0)
    if cmd == "freeport":
        print(freeport(bool(a and a[0] == "udp")))
        return 0
    if cmd == "dnsq":
        return dnsq(*a)
    if cmd == "txtsplit":
        print(txtsplit(a[0]))
        return 0
    if cmd == "mkmsg":
        return mkmsg(a)
    if cmd == "mkmsgs":
        for line in sys.stdin:
            words = shlex.split(line)
            if words and mkmsg(words) != 0:
                return 1
        return 0
    if cmd == "send":
        return send(a)
    if cmd == "reportcheck":
        return reportcheck(a[0], a[1])
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())
