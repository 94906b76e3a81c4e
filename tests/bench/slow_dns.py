#!/usr/bin/python3
"""slow_dns.py - a slow authoritative DNS server for tests/bench/cold_dns.sh

usage: slow_dns.py [-d MS] [-s SELECTOR] [-l LOGFILE] ADDR PORT PUBKEY.pem

Answers on ADDR:PORT (UDP and TCP) for the zone "example." after a delay
of MS milliseconds (default 20) per answer. Every query is answered on its
own timer, concurrently, so the delay is latency, not a queue.

Names, for any N (decimal, no leading zero), Z = cold.example:
  sN.Z                   TXT "v=spf1 include:_spf.sN.Z -all"
  _spf.sN.Z              TXT "v=spf1 ip4:203.0.113.0/24 -all"
  _dmarc.sN.Z            TXT "v=DMARC1; p=reject"
  SELECTOR._domainkey.sN.Z  TXT the DKIM key of PUBKEY.pem (one key pair
                         shared by every domain; selector default "sel")
  mail.sN.Z              A 203.0.113.25, TXT "v=spf1 ip4:203.0.113.0/24 -all"
  example                SOA, NS ns.example; ns.example A ADDR
Other types of these names: NODATA; empty non-terminals (Z, _domainkey.sN.Z):
NODATA; every other name under example. (_dmarc.Z and _dmarc.example, which
the RFC 9989 tree walk asks, among them): NXDOMAIN with the SOA (negative
TTL 300). Names under in-addr.arpa.: NXDOMAIN as well; anything else REFUSED.
Positive TTL 3600, so a resolver's second look is a cache hit.

Counting: every query is counted by kind (spf, include, dmarc, dkim, helo,
parent = _dmarc above the sender domains, nx, refused) and type. SIGUSR1
prints one line "counts seq=K total=N udp=U tcp=T kind/TYPE=n ..." to
stdout; SIGTERM or SIGINT prints it once more and exits 0. With -l, one line
per query (ms since start, proto, name, type, rcode) goes to LOGFILE.
A line "slow_dns: listening on ADDR:PORT" says it is ready.
"""
import argparse
import asyncio
import re
import signal
import socket
import struct
import sys
import time

from dnslib import A, EDNS0, DNSHeader, NS, QTYPE, RCODE, RR, SOA, TXT, DNSRecord

APEX = "example"
ZONE = "cold.example"
TTL = 3600
NEG_TTL = 300
SENDER = re.compile(r"^(?:(_spf|_dmarc|mail|_domainkey|[^.]+\._domainkey)\.)?"
                    r"s([1-9][0-9]*)\.cold\.example$")
UDP_DEFAULT = 512
UDP_MAX = 4096


class Zone:
    """The answers: (rcode, kind, answer RRs, authority RRs) per question."""

    def __init__(self, addr, selector, dkim_txt):
        self.addr = addr
        self.selector = selector.lower()
        self.dkim = dkim_txt
        self.soa = RR(APEX + ".", QTYPE.SOA, ttl=NEG_TTL,
                      rdata=SOA("ns.example.", "hostmaster.example.",
                                (1, 3600, 600, 86400, NEG_TTL)))

    def rrs(self, name, qtype, data):
        """data: {type: [rdata]} of an existing name -> answer RRs."""
        return [RR(name + ".", qtype, ttl=TTL, rdata=r)
                for r in data.get(qtype, [])]

    def lookup(self, name, qtype):
        name = name.lower().rstrip(".")
        if name == APEX:
            data = {QTYPE.SOA: [self.soa.rdata], QTYPE.NS: [NS("ns.example.")]}
            return RCODE.NOERROR, "apex", self.rrs(name, qtype, data)
        if name == "ns." + APEX:
            return RCODE.NOERROR, "apex", self.rrs(name, qtype, {QTYPE.A: [A(self.addr)]})
        if name == ZONE:
            return RCODE.NOERROR, "ent", []
        m = SENDER.match(name)
        if m is not None:
            label, dom = m.group(1), "s%s.%s" % (m.group(2), ZONE)
            spf = "v=spf1 ip4:203.0.113.0/24 -all"
            if label is None:
                kind, data = "spf", {QTYPE.TXT: ["v=spf1 include:_spf.%s -all" % dom]}
            elif label == "_spf":
                kind, data = "include", {QTYPE.TXT: [spf]}
            elif label == "_dmarc":
                kind, data = "dmarc", {QTYPE.TXT: ["v=DMARC1; p=reject"]}
            elif label == "mail":
                kind, data = "helo", {QTYPE.TXT: [spf], QTYPE.A: ["203.0.113.25"]}
            elif label == "_domainkey":
                kind, data = "dkim", {}
            elif label == self.selector + "._domainkey":
                kind, data = "dkim", {QTYPE.TXT: [self.dkim]}
            else:
                return RCODE.NXDOMAIN, "nx", []
            out = []
            for r in data.get(qtype, []):
                rd = TXT(chunks(r)) if qtype == QTYPE.TXT else A(r)
                out.append(RR(name + ".", qtype, ttl=TTL, rdata=rd))
            return RCODE.NOERROR, kind, out
        if name.endswith("." + APEX):
            kind = "parent" if name.startswith("_dmarc.") else "nx"
            return RCODE.NXDOMAIN, kind, []
        if name == "in-addr.arpa" or name.endswith(".in-addr.arpa"):
            return RCODE.NXDOMAIN, "nx", []
        return RCODE.REFUSED, "refused", []

    def answer(self, wire, max_udp):
        """Reply packet for a query packet (None for garbage), kind, type,
        name, rcode. max_udp: None for TCP."""
        try:
            q = DNSRecord.parse(wire)
        except Exception:  # dnslib raises several kinds on bad input
            return None, "bad", "-", "-", "-"
        if not q.questions:
            return None, "bad", "-", "-", "-"
        qn = str(q.q.qname)
        qt = q.q.qtype
        rcode, kind, ans = self.lookup(qn, qt)
        r = q.reply(ra=0, aa=1 if rcode != RCODE.REFUSED else 0)
        r.header.rcode = rcode
        for rr in ans:
            r.add_answer(rr)
        if rcode != RCODE.REFUSED and not ans and not (kind == "apex" and qt == QTYPE.SOA):
            r.add_auth(self.soa)
        limit = UDP_DEFAULT
        opt = [a for a in q.ar if a.rtype == QTYPE.OPT]
        if opt:
            limit = max(UDP_DEFAULT, min(opt[0].rclass, UDP_MAX))
            r.add_ar(EDNS0(udp_len=UDP_MAX))
        out = r.pack()
        if max_udp is not None and len(out) > limit:
            t = DNSRecord(DNSHeader(id=r.header.id, bitmap=r.header.bitmap, tc=1), q=r.q)
            if opt:
                t.add_ar(EDNS0(udp_len=UDP_MAX))
            out = t.pack()
        return out, kind, QTYPE.get(qt, str(qt)), qn, RCODE.get(rcode, str(rcode))


def chunks(value):
    """TXT character-strings of at most 255 bytes."""
    return [value[i:i + 255] for i in range(0, len(value), 255)] or [""]


class Server:
    def __init__(self, zone, delay, log):
        self.zone = zone
        self.delay = delay
        self.log = log
        self.counts = {}
        self.total = self.udp = self.tcp = 0
        self.seq = 0
        self.t0 = time.monotonic()

    def note(self, proto, kind, qtype, name, rcode):
        self.total += 1
        if proto == "udp":
            self.udp += 1
        else:
            self.tcp += 1
        key = "%s/%s" % (kind, qtype)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.log is not None:
            self.log.write("%.1f %s %s %s %s\n" % ((time.monotonic() - self.t0) * 1000,
                                                   proto, name, qtype, rcode))

    def report(self):
        self.seq += 1
        if self.log is not None:
            self.log.flush()
        parts = " ".join("%s=%d" % kv for kv in sorted(self.counts.items()))
        sys.stdout.write("counts seq=%d total=%d udp=%d tcp=%d %s\n"
                         % (self.seq, self.total, self.udp, self.tcp, parts))
        sys.stdout.flush()


class Udp(asyncio.DatagramProtocol):
    def __init__(self, server):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        out, kind, qt, qn, rc = self.server.zone.answer(data, UDP_MAX)
        if out is None:
            return
        self.server.note("udp", kind, qt, qn, rc)
        asyncio.get_running_loop().call_later(self.server.delay, self.send, out, addr)

    def send(self, out, addr):
        if not self.transport.is_closing():
            self.transport.sendto(out, addr)


async def tcp_client(server, reader, writer):
    """Every query of a connection answered on its own timer."""
    async def later(out):
        await asyncio.sleep(server.delay)
        if not writer.is_closing():
            writer.write(struct.pack(">H", len(out)) + out)
    tasks = set()
    try:
        while True:
            n = struct.unpack(">H", await asyncio.wait_for(reader.readexactly(2), 30))[0]
            data = await asyncio.wait_for(reader.readexactly(n), 30)
            out, kind, qt, qn, rc = server.zone.answer(data, None)
            if out is None:
                break
            server.note("tcp", kind, qt, qn, rc)
            t = asyncio.ensure_future(later(out))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass
    if tasks:
        await asyncio.wait(tasks, timeout=5)
    writer.close()


def dkim_record(path):
    """v=DKIM1 TXT value from a PEM public key (SubjectPublicKeyInfo)."""
    lines = open(path).read().split("\n")
    if not any(l.startswith("-----BEGIN PUBLIC KEY") for l in lines):
        raise SystemExit("slow_dns.py: %s is not a PEM public key" % path)
    b64 = "".join(l.strip() for l in lines if l.strip() and not l.startswith("-----"))
    return "v=DKIM1; k=rsa; p=" + b64


async def run(args):
    zone = Zone(args.addr, args.selector, dkim_record(args.pubkey))
    log = open(args.log, "a") if args.log else None
    server = Server(zone, args.delay / 1000.0, log)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    udp, _ = await loop.create_datagram_endpoint(lambda: Udp(server),
                                                 local_addr=(args.addr, args.port),
                                                 family=socket.AF_INET)
    tcp = await asyncio.start_server(lambda r, w: tcp_client(server, r, w),
                                     args.addr, args.port, family=socket.AF_INET,
                                     reuse_address=True)
    loop.add_signal_handler(signal.SIGUSR1, server.report)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(s, lambda: done.done() or done.set_result(None))
    print("slow_dns: listening on %s:%d, %g ms per answer" % (args.addr, args.port, args.delay),
          flush=True)
    await done
    udp.close()
    tcp.close()
    server.report()
    if log is not None:
        log.close()


def main():
    p = argparse.ArgumentParser(description="slow authoritative DNS for cold_dns.sh")
    p.add_argument("-d", "--delay", type=float, default=20.0, help="ms per answer (20)")
    p.add_argument("-s", "--selector", default="sel", help="DKIM selector (sel)")
    p.add_argument("-l", "--log", help="one line per query to this file")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("pubkey", help="PEM public key of the DKIM key pair")
    args = p.parse_args()
    if args.delay < 0:
        p.error("negative delay")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
