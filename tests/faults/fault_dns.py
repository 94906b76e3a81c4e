#!/usr/bin/python3
"""fault_dns.py - a misbehaving DNS server for tests/dns_faults.sh

usage: fault_dns.py [-p PORT] [-k DKIM_TXT_FILE] [-l LOGFILE]

Serves the zone faults.test on 127.0.0.1:PORT (UDP and TCP; PORT 0 or
absent: a free port). Prints "fault_dns: listening on 127.0.0.1:PORT"
when ready; SIGTERM or SIGINT end it. With -l, one line per query
(proto, name, type, case) goes to LOGFILE.

The fault is chosen by the CASE label, the one right above faults.test,
so one server serves every case; N.CASE.faults.test behaves as CASE does.
Good data (also what the faults "trunc", "delayNms" finally give):
  TXT  CASE.faults.test, spf.CASE.faults.test  "v=spf1 ip4:192.0.2.0/24 -all"
  TXT  _dmarc.CASE.faults.test                 "v=DMARC1; p=reject"
  TXT  sel._domainkey.CASE.faults.test         the key of -k (one line)
  A    any name                                192.0.2.10
  other names/types                            NODATA
Cases:
  ok            the good data
  timeout       never answered (UDP nor TCP)
  servfail      SERVFAIL                refused   REFUSED
  nx            NXDOMAIN (for void lookups)
  nospf         TXT "hello world" only (no SPF record); good DMARC/DKIM
  inc           TXT of F.inc.faults.test: "v=spf1 include:spf.F.faults.test -all"
  void          TXT: "v=spf1 a:v1.nx.faults.test a:v2.nx.faults.test
                a:v3.nx.faults.test ip4:192.0.2.0/24 -all" (3 void lookups)
  badkey        DKIM key "v=DKIM1; k=rsa; p=!!not*base64!!"
  trunc         UDP: empty answer with TC=1; TCP: the good data
  trunctcpclose UDP: TC=1; TCP: connection closed without an answer
  truncgarbage  UDP: TC=1; TCP: a length prefix and random bytes
  bigtxt        TXT: one RRset of 20 KiB (over MA_LIMIT_DNS_TXT_BYTES),
                UDP TC=1, whole over TCP
  manytxt       TXT: 150 records, 149 "filler N" and the SPF record
  manyspf       TXT: 120 SPF records (RFC 7208 4.5: permerror)
  cnameloop     every name N: CNAME b.N; b.N: CNAME N (a two-name loop)
  wrongtype     a TXT question answered with an A record (NOERROR)
  badid         the answer carries another message ID
  badq          the answer's question section names another name
  short         a 5-byte reply
  ptrloop       the answer's owner name is a compression pointer to itself
  delayNms      the good data after N milliseconds (e.g. delay200ms)
Under any case with good data, cK.CASE.faults.test (K > 0) has TXT
"v=spf1 include:c(K-1).CASE.faults.test -all" (c0: the good SPF record):
a chain of K includes that no resolver can fetch in parallel.
Anything outside faults.test, and names whose CASE label starts with "_"
(_dmarc.faults.test, which the DMARC tree walk asks): NXDOMAIN.
"""
import argparse
import os
import random
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

from dnslib import A, CNAME, DNSRecord, QTYPE, RCODE, RR, TXT

ZONE = "faults.test"
TTL = 60
GOOD_SPF = "v=spf1 ip4:192.0.2.0/24 -all"
GOOD_DMARC = "v=DMARC1; p=reject"
UDP_DEFAULT = 512
DELAY = re.compile(r"^delay([0-9]{1,5})ms$")
LOG = None
LOG_LOCK = threading.Lock()
DKIM_KEY = "v=DKIM1; k=rsa; p="


def txt_rr(name, text):
    """One TXT RR, the text split into strings of at most 255 bytes."""
    b = text.encode()
    return RR(name, QTYPE.TXT, ttl=TTL,
              rdata=TXT([b[i:i + 255] for i in range(0, len(b), 255)] or [b""]))


def split(qname):
    """(prefix labels, case) of a name under faults.test, or None."""
    n = qname.lower().rstrip(".")
    if n != ZONE and not n.endswith("." + ZONE):
        return None
    labels = n[:-len(ZONE)].rstrip(".").split(".") if n != ZONE else []
    if not labels or labels == [""]:
        return [], ""
    return labels[:-1], labels[-1]


def good(reply, qname, qtype, prefix, case):
    """The good data of a name into reply."""
    if qtype in (QTYPE.A, QTYPE.ANY):
        reply.add_answer(RR(qname, QTYPE.A, ttl=TTL, rdata=A("192.0.2.10")))
    if qtype not in (QTYPE.TXT, QTYPE.ANY):
        return
    chain = re.match(r"^c([0-9]{1,2})$", prefix[0]) if len(prefix) == 1 else None
    if chain and int(chain.group(1)) > 0:
        reply.add_answer(txt_rr(qname, "v=spf1 include:c%d.%s.%s -all"
                                % (int(chain.group(1)) - 1, case, ZONE)))
    elif prefix in ([], ["spf"]) or chain:
        text = GOOD_SPF
        if case == "nospf":
            text = "hello world"
        elif case == "void":
            text = ("v=spf1 a:v1.nx.faults.test a:v2.nx.faults.test "
                    "a:v3.nx.faults.test ip4:192.0.2.0/24 -all")
        reply.add_answer(txt_rr(qname, text))
    elif prefix == ["_dmarc"]:
        reply.add_answer(txt_rr(qname, GOOD_DMARC))
    elif prefix == ["sel", "_domainkey"]:
        key = DKIM_KEY
        if case == "badkey":
            key = "v=DKIM1; k=rsa; p=!!not*base64!!"
        reply.add_answer(txt_rr(qname, key))


def answer(req, proto):
    """(action, bytes or None): action "send", "drop", "close", "delay:S"."""
    q = req.q
    qname = str(q.qname)
    qtype = q.qtype
    where = split(qname)
    reply = req.reply()
    if where is None or where[1].startswith("_"):
        # the RFC 9989 tree walk asks _dmarc.faults.test and _dmarc.test
        reply.header.rcode = RCODE.NXDOMAIN
        return "send", reply.pack(), "nxdomain"
    prefix, case = where
    m = DELAY.match(case)
    if case == "timeout":
        return "drop", None, case
    if case in ("servfail", "refused", "nx"):
        reply.header.rcode = {"servfail": RCODE.SERVFAIL, "refused": RCODE.REFUSED,
                              "nx": RCODE.NXDOMAIN}[case]
        return "send", reply.pack(), case
    if case == "inc" and prefix and qtype == QTYPE.TXT:
        if len(prefix) == 1:
            reply.add_answer(txt_rr(qname, "v=spf1 include:spf.%s.%s -all"
                                    % (prefix[0], ZONE)))
        return "send", reply.pack(), case
    if case in ("trunc", "trunctcpclose", "truncgarbage") and proto == "udp":
        reply.header.tc = 1
        return "send", reply.pack(), case
    if case == "trunctcpclose":
        return "close", None, case
    if case == "truncgarbage":
        junk = bytes(random.getrandbits(8) for _ in range(40))
        return "raw", struct.pack("!H", 200) + junk, case
    if case == "bigtxt" and qtype == QTYPE.TXT:
        reply.add_answer(txt_rr(qname, "v=spf1 " + "x" * (20 * 1024) + " -all"))
        return "send", reply.pack(), case
    if case == "manytxt" and qtype == QTYPE.TXT:
        for i in range(149):
            reply.add_answer(txt_rr(qname, "filler %d" % i))
        reply.add_answer(txt_rr(qname, GOOD_SPF))
        return "send", reply.pack(), case
    if case == "manyspf" and qtype == QTYPE.TXT:
        for i in range(120):
            reply.add_answer(txt_rr(qname, "v=spf1 ip4:198.51.100.%d -all" % (i % 250)))
        return "send", reply.pack(), case
    if case == "cnameloop":
        n = qname.rstrip(".")
        target = n[2:] if n.lower().startswith("b.") else "b." + n
        reply.add_answer(RR(qname, QTYPE.CNAME, ttl=TTL, rdata=CNAME(target + ".")))
        return "send", reply.pack(), case
    if case == "wrongtype":
        reply.add_answer(RR(qname, QTYPE.A, ttl=TTL, rdata=A("192.0.2.99")))
        return "send", reply.pack(), case
    if case == "badid":
        good(reply, qname, qtype, prefix, case)
        reply.header.id = (req.header.id + 1) & 0xffff
        return "send", reply.pack(), case
    if case == "badq":
        good(reply, qname, qtype, prefix, case)
        reply.questions[0].qname = "other." + qname
        return "send", reply.pack(), case
    if case == "short":
        return "raw", struct.pack("!H", req.header.id) + b"\x81\x80\x00", case
    if case == "ptrloop":
        # header (answer count 1), the question, then an owner name that is
        # a pointer to its own offset: a loop for any decompressor
        wire = bytearray(reply.pack())
        wire[6:8] = struct.pack("!H", 1)
        off = len(wire)
        wire += struct.pack("!H", 0xc000 | off)
        wire += struct.pack("!HHIH", qtype, 1, TTL, 4) + bytes([192, 0, 2, 1])
        return "raw", bytes(wire), case
    good(reply, qname, qtype, prefix, case)
    if m:
        return "delay:%f" % (int(m.group(1)) / 1000.0), reply.pack(), case
    return "send", reply.pack(), case


def log(proto, req, case):
    if LOG is None:
        return
    with LOG_LOCK:
        LOG.write("%s %s %s %s\n" % (proto, req.q.qname, QTYPE.get(req.q.qtype), case))
        LOG.flush()


def udp_limit(req):
    for rr in req.ar:
        if rr.rtype == QTYPE.OPT:
            return max(UDP_DEFAULT, rr.rclass)
    return UDP_DEFAULT


def handle_udp(sock, data, peer):
    try:
        req = DNSRecord.parse(data)
    except Exception:
        return
    if not req.questions:
        return
    action, wire, case = answer(req, "udp")
    log("udp", req, case)
    if action in ("drop", "close"):
        return
    if action.startswith("delay:"):
        time.sleep(float(action[6:]))
    if action != "raw" and len(wire) > udp_limit(req):
        r = DNSRecord.parse(wire)
        r.rr = []
        r.auth = []
        r.header.tc = 1
        wire = r.pack()
    sock.sendto(wire, peer)


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        threading.Thread(target=handle_udp, args=(sock, data, peer), daemon=True).start()


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        while True:
            head = recv_all(s, 2)
            if head is None:
                return
            data = recv_all(s, struct.unpack("!H", head)[0])
            if data is None:
                return
            try:
                req = DNSRecord.parse(data)
            except Exception:
                return
            if not req.questions:
                return
            action, wire, case = answer(req, "tcp")
            log("tcp", req, case)
            if action == "close":
                return
            if action == "drop":
                continue
            if action.startswith("delay:"):
                time.sleep(float(action[6:]))
            if action == "raw" and case == "truncgarbage":
                s.sendall(wire)
                return
            s.sendall(struct.pack("!H", len(wire)) + wire)


def recv_all(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG, DKIM_KEY
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--port", type=int, default=0)
    ap.add_argument("-k", "--dkim-txt")
    ap.add_argument("-l", "--log")
    a = ap.parse_args()
    if a.dkim_txt:
        DKIM_KEY = open(a.dkim_txt).read().strip()
    if a.log:
        LOG = open(a.log, "a")
    # one port for both: bind UDP, then TCP on the same number (retry)
    for _ in range(20):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", a.port))
        port = u.getsockname()[1]
        try:
            t = TCPServer(("127.0.0.1", port), TCPHandler)
            break
        except OSError:
            u.close()
            if a.port:
                raise
    else:
        sys.exit("fault_dns: no free port")
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    threading.Thread(target=t.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("fault_dns: listening on 127.0.0.1:%d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
