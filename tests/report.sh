#!/bin/sh
# report.sh - mailauth-report end to end: history -> RFC 9990 reports -> mail
#
# Builds a DMARC history (SQLite backend) with `mailauth-check --record`
# on tests/data/msg and a few generated messages, DNS from tests/data/
# test.zone plus a zone written here, then checks:
#   - dry run: every .xml.gz validates against the RFC 9990 schema
#     (xmllint), counts per (source_ip, disposition) equal what was
#     recorded, attacker-controlled values are escaped;
#   - an independent reader, Perl Mail::DMARC::Report::Receive
#     (libmail-dmarc-perl): its XPath ("/feedback/record", no namespace)
#     finds nothing in a dmarc-2.0 document, which is asserted; with the
#     namespace removed its record parser reads the same counts;
#   - SMTP to a sink written here (python socketserver): well-formed
#     MIME, application/gzip attachment that gunzips to schema-valid XML,
#     RFC 9990 Subject; external destination verified by
#     <domain>._report._dmarc.<host>, unverified one skipped; suppressed
#     and over-!size destinations skipped; a period is not sent twice;
#     relay down -> exit 1, then sent on the next run; ReportSendmail.
# Prints "PASS name" / "FAIL name: why", then "report: N passed, N failed".
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SHARED_DIR:=$top_srcdir/../shared}"
CHECK=$top_builddir/mailauth-check
REPORT=$top_builddir/mailauth-report
XSD=$SHARED_DIR/conformance/dmarc/rfc9990-aggregate.xsd
PY=/usr/bin/python3
DATA=$top_srcdir/tests/data
pass=0
fail=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

for need in "$CHECK" "$REPORT"; do
	if [ ! -x "$need" ]; then
		echo "FAIL setup: $need not built"
		echo "report: 0 passed, 1 failed"
		exit 1
	fi
done
if ! "$CHECK" --help 2>&1 | grep -q -- --record; then
	echo "SKIP: mailauth-check has no --record"
	exit 77
fi
for tool in xmllint perl "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool missing"; exit 77; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/report-test.XXXXXX")
SINK_PID=
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# --- helpers ---------------------------------------------------------------
cat > "$T/sink.py" <<'EOF'
# a small SMTP sink: stores each message as DIR/N.eml; port in DIR/port
import os, socketserver, sys
d = sys.argv[1]
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 sink ESMTP")
        frm, rcpt = None, []
        while True:
            line = self.rfile.readline(2000)
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            u = cmd.upper()
            if u.startswith("EHLO"):
                w("250-sink"); w("250 8BITMIME")
            elif u.startswith("MAIL FROM:"):
                frm = cmd[10:]; w("250 ok")
            elif u.startswith("RCPT TO:"):
                rcpt.append(cmd[8:]); w("250 ok")
            elif u == "DATA":
                w("354 go")
                body = []
                while True:
                    l = self.rfile.readline(100000)
                    if not l or l == b".\r\n":
                        break
                    body.append(l[1:] if l.startswith(b"..") else l)
                n = len(os.listdir(d))
                with open(os.path.join(d, "%03d.eml" % n), "wb") as f:
                    f.write(b"X-Sink-From: " + frm.encode() + b"\r\n")
                    f.write(b"X-Sink-To: " + ",".join(rcpt).encode() + b"\r\n")
                    f.write(b"".join(body))
                w("250 queued")
            elif u == "QUIT":
                w("221 bye"); return
            else:
                w("502 no")
socketserver.TCPServer.allow_reuse_address = True
s = socketserver.TCPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), H)
with open(os.path.join(d, "..", "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(d, "..", "port.tmp"), os.path.join(d, "..", "port"))
s.serve_forever()
EOF

# summarize XML reports: "domain ip disposition count" lines, sorted
cat > "$T/counts.py" <<'EOF'
import gzip, sys, xml.etree.ElementTree as ET
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
out = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    root = ET.fromstring(data)
    dom = root.find("d:policy_published/d:domain", ns).text
    for rec in root.findall("d:record", ns):
        out.append("%s %s %s %s" % (dom, rec.find("d:row/d:source_ip", ns).text,
            rec.find("d:row/d:policy_evaluated/d:disposition", ns).text,
            rec.find("d:row/d:count", ns).text))
print("\n".join(sorted(out)))
EOF

# the same through Mail::DMARC (namespace stripped: it knows RFC 7489 only)
cat > "$T/mdmarc.pl" <<'EOF'
use strict; use warnings;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use XML::LibXML;
use Mail::DMARC::Report::Receive;
my $mode = shift;     # "raw": as written; "stripped": without xmlns
my @out;
for my $f (@ARGV) {
    gunzip($f => \my $xml) or die $GunzipError;
    $xml =~ s/ xmlns="urn:ietf:params:xml:ns:dmarc-2.0"// if $mode eq 'stripped';
    my $r = Mail::DMARC::Report::Receive->new;
    my $dom = XML::LibXML->load_xml(string => $xml);
    if ($mode eq 'raw') {   # what handle_body() would find
        push @out, sprintf("%d %d", $dom->findnodes("/feedback/report_metadata")->size,
            $dom->findnodes("/feedback/record")->size);
        next;
    }
    $r->do_node_report_metadata($dom->findnodes("/feedback/report_metadata"));
    my $pol = $r->do_node_policy_published($dom->findnodes("/feedback/policy_published"));
    $r->do_node_record($_) for $dom->findnodes("/feedback/record");
    my $recs = $r->report->aggregate->record || [];
    push @out, sprintf("%s %s %s %s", $pol->domain // '-', $_->row->source_ip,
        $_->row->policy_evaluated->disposition, $_->row->count) for @$recs;
}
print join("\n", sort @out), "\n";
EOF

# check a delivered mail: MIME, Subject, gzip attachment; writes the XML
cat > "$T/mime.py" <<'EOF'
import email, email.policy, gzip, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
errs = []
if msg.get_content_type() != "multipart/mixed": errs.append("not multipart/mixed")
for h in ("From", "To", "Date", "Message-ID", "Subject"):
    if msg[h] is None: errs.append("no " + h)
subj = str(msg["Subject"])
m = re.match(r"Report Domain: (\S+) Submitter: (.+) Report-ID: <([^>]+)>$", subj)
if not m: errs.append("Subject: " + subj)
gz = [p for p in msg.iter_attachments() if p.get_content_type() == "application/gzip"]
if len(gz) != 1: errs.append("%d gzip parts" % len(gz))
else:
    fn = gz[0].get_filename() or ""
    parts = fn.split("!")
    if not fn.endswith(".xml.gz") or len(parts) != 5 or (m and parts[1] != m.group(1)):
        errs.append("file name " + fn)
    xml = gzip.decompress(gz[0].get_content())
    open(sys.argv[2], "wb").write(xml)
    if m and m.group(3).encode() not in xml: errs.append("Report-ID not the report_id")
print("; ".join(errs) if errs else "ok")
print(msg["X-Sink-To"], m.group(1) if m else "-")
EOF

# --- history -----------------------------------------------------------------
DAY1=1700006400			# 2023-11-15 00:00 UTC
DAY2=$((DAY1 + 86400))
DAY3=$((DAY2 + 86400))
cat > "$T/extra.zone" <<'EOF'
ext-ok.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.ext-ok.example. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:agg@reports.example.net"
ext-ok.example._report._dmarc.reports.example.net. 3600 IN TXT "v=DMARC1"
ext-bad.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.ext-bad.example. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:agg@reports.example.net"
suppressed.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.suppressed.example. 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:d@suppressed.example"
tiny.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.tiny.example. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:d@tiny.example!10,mailto:bad@@x,http://x.example/"
EOF
cat > "$T/test.conf" <<EOF
AuthservID mx.test.example
Hostname mx.test.example
ReportDatabase sqlite:$T/history.db
ReportSpool $T/history.spool
ReportOrgName Test <Org> & "Co"
ReportEmail dmarc-reports@mx.test.example
ReportSuppress suppressed.example
EOF
ZONES="--dns-zone $DATA/test.zone --dns-zone $T/extra.zone"

# record MSGFILE IP HELO MAILFROM TIME
record() {
	# shellcheck disable=SC2086
	"$CHECK" --record -c "$T/test.conf" $ZONES --client-ip "$2" --helo "$3" \
	    --mail-from "$4" --rcpt postmaster@mx.test.example --time "$5" "$1" \
	    > /dev/null 2>> "$T/record.err" || echo "record $1 failed" >> "$T/record.err"
}
# gen DOMAIN FILE: an unsigned message from DOMAIN with a hostile Subject
gen() {
	printf 'From: <a@%s>\r\nTo: <b@mx.test.example>\r\nSubject: <x>&\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\nMessage-ID: <%s@t>\r\n\r\nhi\r\n' "$1" "$1" > "$2"
}
M=$DATA/msg
GOOD="192.0.2.10 mail.football.example.com bounce@football.example.com"
BAD="198.51.100.1 evil.example.net bounce@football.example.com"
t=$((DAY1 + 3600))
for i in 1 2 3; do record $M/signed-rsa.eml $GOOD $t; done
for i in 1 2; do record $M/unsigned.eml $BAD $t; done
record $M/quarantine.eml 198.51.100.1 x.example a@quarantine.example $t
for d in ext-ok ext-ok ext-bad suppressed tiny; do
	gen $d.example "$T/$d.eml"
	record "$T/$d.eml" 192.0.2.5 x.example a@$d.example $t
done
record $M/signed-rsa.eml $GOOD $((DAY2 + 10))
record $M/signed-rsa.eml $GOOD $((DAY3 + 10))
# outside the day: must not be counted
record $M/unsigned.eml $BAD $((DAY1 - 1))
if [ -s "$T/record.err" ]; then
	bad record "$(head -3 "$T/record.err")"
else
	ok record-history
fi

RUN() {
	# shellcheck disable=SC2086
	"$REPORT" -c "$T/test.conf" $ZONES -v "$@"
}

# --- dry run -------------------------------------------------------------------
mkdir -p "$T/dry"
RUN --dry-run --output-dir "$T/dry" --begin $DAY1 --end $DAY2 > "$T/dry.log" 2>&1
rc=$?
n=$(ls "$T/dry" | grep -c '\.xml\.gz$')
if [ $rc -eq 0 ] && [ "$n" -eq 5 ]; then ok dry-run-reports
else bad dry-run-reports "rc=$rc, $n reports (want 5, suppressed.example none): $(tail -3 "$T/dry.log")"; fi

v=0
for f in "$T"/dry/*.xml.gz; do
	gunzip -c "$f" > "$T/one.xml"
	if ! xmllint --noout --schema "$XSD" "$T/one.xml" > "$T/xl.log" 2>&1; then
		v=1; bad "schema $(basename "$f")" "$(tail -2 "$T/xl.log")"
	fi
done
[ $v -eq 0 ] && ok schema-valid-rfc9990

case "$(ls "$T/dry")" in
*'mx.test.example!football.example.com!'$DAY1'!'$((DAY2 - 1))'!'*.xml.gz*) ok file-name ;;
*) bad file-name "$(ls "$T/dry" | head -2)" ;;
esac

want="ext-bad.example 192.0.2.5 none 1
ext-ok.example 192.0.2.5 none 2
football.example.com 192.0.2.10 pass 3
football.example.com 198.51.100.1 reject 2
quarantine.example 198.51.100.1 quarantine 1
tiny.example 192.0.2.5 none 1"
got=$($PY "$T/counts.py" "$T"/dry/*.xml.gz)
if [ "$got" = "$want" ]; then ok counts-per-source-disposition
else bad counts-per-source-disposition "got [$got] want [$want]"; fi

if gunzip -c "$T"/dry/*football*.xml.gz | grep -q '<org_name>Test &lt;Org&gt; &amp; &quot;Co&quot;</org_name>'
then ok xml-escaping
else bad xml-escaping "org_name not escaped"; fi

# independent reader: Mail::DMARC (RFC 7489, no namespace support)
# handle_body() looks up /feedback/report_metadata and /feedback/record
# without a namespace: in a dmarc-2.0 document both find 0 nodes (and
# do_node_report_metadata then dies on the undefined node).
raw=$(perl "$T/mdmarc.pl" raw "$T"/dry/*.xml.gz 2>&1 | sort -u)
if [ "$raw" = "0 0" ]; then
	ok "mail-dmarc-ignores-dmarc-2.0-namespace (0 metadata, 0 records found)"
else
	bad mail-dmarc-ignores-dmarc-2.0-namespace "got [$raw] (has it learnt the namespace?)"
fi
# Mail::DMARC maps disposition "pass" (RFC 9990 only) to "none"
want_md=$(echo "$want" | sed 's/ pass / none /' | sort)
got_md=$(perl "$T/mdmarc.pl" stripped "$T"/dry/*.xml.gz 2>&1)
if [ "$got_md" = "$want_md" ]; then ok mail-dmarc-reads-same-counts
else bad mail-dmarc-reads-same-counts "got [$got_md] want [$want_md]"; fi

n=$(ls "$T/dry" | grep -c '\.eml$')
if [ "$n" -eq 2 ]; then ok dry-run-mails
else bad dry-run-mails "$n .eml (want 2: football, ext-ok)"; fi
grep -q "skipping external destination agg@reports.example.net.*ext-bad" "$T/dry.log" \
    || grep -q "ext-bad.example: skipping external destination" "$T/dry.log" \
    && ok external-unverified-skipped || bad external-unverified-skipped "$(grep ext-bad "$T/dry.log")"
grep -q "suppressed.example: suppressed" "$T/dry.log" \
    && ok suppression || bad suppression "$(grep suppressed "$T/dry.log")"
grep -q "tiny.example: not sending to d@tiny.example: report is" "$T/dry.log" \
    && ok rua-size-limit || bad rua-size-limit "$(grep tiny "$T/dry.log")"

# --- SMTP ----------------------------------------------------------------------
start_sink() {
	rm -f "$T/port"
	$PY "$T/sink.py" "$T/sink" ${1:-} > "$T/sink.log" 2>&1 &
	SINK_PID=$!
	i=0
	while [ ! -f "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	PORT=$(cat "$T/port")
}
mkdir -p "$T/sink"
start_sink
RUN --relay 127.0.0.1:$PORT --begin $DAY1 --end $DAY2 > "$T/smtp1.log" 2>&1
rc=$?
n=$(ls "$T/sink" | wc -l)
if [ $rc -eq 0 ] && [ "$n" -eq 2 ]; then ok smtp-delivered
else bad smtp-delivered "rc=$rc, $n messages (want 2): $(tail -3 "$T/smtp1.log")"; fi
tos=""
for f in "$T"/sink/*.eml; do
	res=$($PY "$T/mime.py" "$f" "$T/mail.xml")
	if [ "$(echo "$res" | head -1)" = ok ] \
	    && xmllint --noout --schema "$XSD" "$T/mail.xml" > /dev/null 2>&1; then
		tos="$tos $(echo "$res" | sed -n 2p)"
	else
		bad "mime $(basename "$f")" "$res"
	fi
done
case "$tos" in
*"<agg@reports.example.net> ext-ok.example"*"<dmarc@football.example.com> football.example.com"* | \
*"<dmarc@football.example.com> football.example.com"*"<agg@reports.example.net> ext-ok.example"*)
	ok mime-gzip-xml-valid ;;
*) bad mime-gzip-xml-valid "deliveries:$tos" ;;
esac

RUN --relay 127.0.0.1:$PORT --begin $DAY1 --end $DAY2 > "$T/smtp2.log" 2>&1
rc=$?
n=$(ls "$T/sink" | wc -l)
if [ $rc -eq 0 ] && [ "$n" -eq 2 ]; then ok not-sent-twice
else bad not-sent-twice "rc=$rc, $n messages after the second run"; fi

# relay down, then up: retried
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null; SINK_PID=
RUN --relay 127.0.0.1:$PORT --smtp-timeout 5 --begin $DAY2 --end $DAY3 > "$T/down.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "delivery to dmarc@football.example.com failed" "$T/down.log"
then ok relay-down-fails
else bad relay-down-fails "rc=$rc: $(tail -2 "$T/down.log")"; fi
start_sink "$PORT"
RUN --relay 127.0.0.1:$PORT --begin $DAY2 --end $DAY3 > "$T/up.log" 2>&1
rc=$?
n=$(ls "$T/sink" | wc -l)
if [ $rc -eq 0 ] && [ "$n" -eq 3 ]; then ok retried-next-run
else bad retried-next-run "rc=$rc, $n messages (want 3): $(tail -2 "$T/up.log")"; fi

# ReportSendmail: sendmail -oi -f FROM -- TO
cat > "$T/sendmail" <<EOF
#!/bin/sh
echo "\$@" > "$T/sendmail.args"
cat > "$T/sendmail.msg"
EOF
chmod +x "$T/sendmail"
RUN --sendmail "$T/sendmail" --begin $DAY3 --end $((DAY3 + 86400)) > "$T/sm.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$T/sendmail.args" 2>/dev/null)" = "-oi -f dmarc-reports@mx.test.example -- dmarc@football.example.com" ] \
    && [ "$($PY "$T/mime.py" "$T/sendmail.msg" "$T/sm.xml" | head -1)" = ok ]
then ok sendmail-pipe
else bad sendmail-pipe "rc=$rc args=$(cat "$T/sendmail.args" 2>/dev/null): $(tail -2 "$T/sm.log")"; fi

# default period: yesterday plus the 7 days before it, still unsent.
# A row of 3 days ago, relay down: fails; the next default run sends it.
now=$(date +%s)
record $M/signed-rsa.eml $GOOD $((now - now % 86400 - 3 * 86400 + 60))
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null; SINK_PID=
RUN --relay 127.0.0.1:$PORT --smtp-timeout 5 > "$T/default1.log" 2>&1
rc1=$?
start_sink "$PORT"
RUN --relay 127.0.0.1:$PORT > "$T/default2.log" 2>&1
rc2=$?
RUN --relay 127.0.0.1:$PORT > "$T/default3.log" 2>&1
rc3=$?
n=$(ls "$T/sink" | wc -l)
if [ $rc1 -eq 1 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && [ "$n" -eq 4 ]; then
	ok default-run-catches-up-failed-day
else
	bad default-run-catches-up-failed-day "rc=$rc1/$rc2/$rc3, $n messages (want 4): $(tail -2 "$T/default2.log")"
fi

echo "report: $pass passed, $fail failed"
[ $fail -eq 0 ]
