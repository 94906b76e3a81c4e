#!/bin/sh
# tools.sh - mailauth-keygen and mailauth-testkey, end to end
#
# Generates RSA (1024, and 2048 once) and Ed25519 keys into a temporary
# directory; checks the private key's mode (also under a hostile umask),
# that the .txt record parses (owner, IN TXT, parentheses, strings of at
# most 255 bytes) and that python3-dkim verifies a message signed with the
# private key against the published value; that bad names, sizes and
# algorithms are refused before anything is written, and existing files
# without -f. Then turns the .txt files into one-line zone data and runs
# mailauth-testkey --dns-zone for matching, mismatched, missing, revoked
# and wrong-type records and a dead resolver, checking lines and exit codes.
#
# Run by make check (top_srcdir, top_builddir set). Prints "PASS name" or
# "FAIL name: why" per case and "tools: N passed, N failed"; exit 1 when
# any case failed. python3-dkim comes from /usr/bin/python3 (Debian).

builddir=${top_builddir:-.}
KEYGEN=${KEYGEN:-$builddir/mailauth-keygen}
TESTKEY=${TESTKEY:-$builddir/mailauth-testkey}
PY=/usr/bin/python3

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tools.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
tmp=$(cd "$tmp" && pwd -P)

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# --- helper: parse a .txt record, make zone lines, sign and verify -------
cat > "$tmp/txt.py" <<'EOF'
import base64, re, sys

def parse(path):
    """The .txt as keygen writes it: (owner, [strings]); raise on error."""
    text = open(path).read()
    m = re.match(r'^(\S+)\s+IN\s+TXT\s+\(\s*(.*?)\s*\)\s*(;[^\n]*)?\n?$',
                 text, re.S)
    if not m:
        raise ValueError('not "OWNER IN TXT ( ... )": %r' % text[:80])
    owner, body = m.group(1), m.group(2)
    if not owner.endswith('._domainkey.' + owner.split('._domainkey.')[-1]) \
            or not owner.endswith('.'):
        raise ValueError('owner %r' % owner)
    strings = re.findall(r'"([^"\\]*)"', body)
    if re.sub(r'"[^"\\]*"', '', body).strip():
        raise ValueError('junk between strings')
    for s in strings:
        if len(s) > 255:
            raise ValueError('string of %d bytes' % len(s))
    return owner, strings

def value(path):
    return ''.join(parse(path)[1])

def zone_line(owner, strings):
    return '%s 300 IN TXT %s' % (owner, ' '.join('"%s"' % s for s in strings))

def seed_b64(pem):
    """Ed25519 PKCS#8 (RFC 8410) -> base64 of the 32-byte seed (dkimpy)."""
    der = base64.b64decode(''.join(l for l in pem.splitlines()
                                   if not l.startswith('-----')))
    if len(der) != 48 or der[:16] != bytes.fromhex(
            '302e020100300506032b657004220420'):
        raise ValueError('not an Ed25519 PKCS#8 key')
    return base64.b64encode(der[16:])

def verify(txt, private, alg):
    import dkim
    owner, strings = parse(txt)
    rec = ''.join(strings).encode()
    sel, dom = owner.rstrip('.').split('._domainkey.')
    pem = open(private).read()
    msg = (b'From: a@' + dom.encode() + b'\r\nTo: b@example.net\r\n'
           b'Subject: tools\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n'
           b'Message-ID: <t@' + dom.encode() + b'>\r\n\r\nHello.\r\n')
    if alg == 'ed25519':
        key, a = seed_b64(pem), b'ed25519-sha256'
    else:
        key, a = pem.encode(), b'rsa-sha256'
    sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                    signature_algorithm=a, include_headers=[b'from', b'to',
                                                            b'subject'])
    def dnsfunc(name, timeout=5):
        return rec if name.decode().rstrip('.') == owner.rstrip('.') else None
    return dkim.verify(sig + msg, dnsfunc=dnsfunc)

cmd = sys.argv[1]
try:
    if cmd == 'value':
        print(value(sys.argv[2]))
    elif cmd == 'zone':        # owner of argv[2], strings of argv[3] or [2]
        owner = parse(sys.argv[2])[0]
        strings = parse(sys.argv[3] if len(sys.argv) > 3 else sys.argv[2])[1]
        print(zone_line(owner, strings))
    elif cmd == 'spaced':      # argv[2]'s record with spaces inside p=
        owner, strings = parse(sys.argv[2])
        v = ''.join(strings)
        head, p = v.split('p=')
        p = ' '.join(p[i:i + 40] for i in range(0, len(p), 40))
        print(zone_line(owner, [head, 'p= ' + p[:200], p[200:]]))
    elif cmd == 'verify':
        sys.exit(0 if verify(sys.argv[2], sys.argv[3], sys.argv[4]) else 1)
    else:
        sys.exit('unknown command')
except Exception as e:
    sys.exit('%s: %s' % (sys.argv[2], e))
EOF

if ! $PY -c 'import dkim, nacl' 2>/dev/null; then
	echo "tools: python3-dkim or python3-nacl missing for $PY"
	exit 77
fi

# mode - octal permission bits of a file
mode() { stat -c %a "$1"; }

# --- keygen: good keys -----------------------------------------------------
# gen NAME DIR ARGS...: run keygen (umask $gen_umask when set), check exit,
# files, mode, record, dkim
gen() {
	name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	if ! out=$(if [ -n "$gen_umask" ]; then umask "$gen_umask"; fi
		   "$KEYGEN" -D "$dir" "$@" 2>&1); then
		fail "$name" "keygen exited non-zero: $out"
		return
	fi
	sel=$(echo "$out" | sed -n 's/^\([^ ]*\)\._domainkey\.\([^ ]*\) .*/\1/p')
	dom=$(echo "$out" | sed -n 's/^\([^ ]*\)\._domainkey\.\([^ ]*\) .*/\2/p')
	priv="$dir/$sel.private"
	alg=rsa
	case " $* " in *" ed25519 "*) alg=ed25519 ;; esac
	if [ -z "$sel" ] || [ ! -f "$priv" ] || [ ! -f "$dir/$sel.txt" ]; then
		fail "$name" "files or KeyTable line missing: $out"
	elif [ "$(mode "$priv")" != 600 ]; then
		fail "$name" "private key mode $(mode "$priv"), want 600"
	elif ! head -1 "$priv" | grep -q '^-----BEGIN PRIVATE KEY-----$'; then
		fail "$name" "private key is not PKCS#8 PEM"
	elif ! echo "$out" | grep -qx "$sel._domainkey.$dom $dom:$sel:$priv"; then
		fail "$name" "KeyTable line missing: $out"
	elif ! echo "$out" | grep -qx "\*@$dom $sel._domainkey.$dom"; then
		fail "$name" "SigningTable line missing: $out"
	elif ! v=$($PY "$tmp/txt.py" value "$dir/$sel.txt" 2>&1); then
		fail "$name" ".txt does not parse: $v"
	elif ! echo "$v" | grep -q "^v=DKIM1; k=$alg; p=[A-Za-z0-9+/=]*\$"; then
		fail "$name" "record value: $v"
	elif ! why=$($PY "$tmp/txt.py" verify "$dir/$sel.txt" "$priv" $alg 2>&1)
	then
		fail "$name" "python3-dkim does not verify: $why"
	else
		pass "$name"
	fi
}

K="$tmp/keys"
gen keygen-rsa1024 "$K" -d example.com -s r1024 -b 1024
gen keygen-rsa2048-default "$K" -d Example.COM. -s r2048
gen keygen-ed25519 "$K" -d example.com -s ed -a ed25519
gen keygen-other-rsa "$K" -d example.com -s other -b 1024
gen keygen-subdomain-selector "$K" -d mail.example.org -s 2024.jan -b 1024
gen_umask=0277 gen keygen-umask-0277 "$tmp/umask" -d example.com -s u \
	-a ed25519
gen_umask=0 gen keygen-umask-0 "$tmp/umask0" -d example.com -s u -b 1024
gen_umask=

v=$($PY "$tmp/txt.py" value "$K/r1024.txt")
case $v in
"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"*)
	pass keygen-rsa-spki ;;
*)	fail keygen-rsa-spki "p= is not a 1024-bit SubjectPublicKeyInfo: $v" ;;
esac
v=$($PY "$tmp/txt.py" value "$K/ed.txt")
p=${v#*p=}
if [ "$(printf %s "$p" | base64 -d 2>/dev/null | wc -c)" = 32 ]; then
	pass keygen-ed25519-raw-key
else
	fail keygen-ed25519-raw-key "p= is not 32 raw bytes: $p"
fi
if [ "$(grep -c '^	"' "$K/r2048.txt")" -ge 2 ]; then
	pass keygen-split-strings
else
	fail keygen-split-strings "2048-bit p= not split: $(cat "$K/r2048.txt")"
fi

# --- keygen: refusals ------------------------------------------------------
# refuse NAME WANT ARGS...: keygen exits WANT and writes nothing
refuse() {
	name=$1 want=$2
	shift 2
	d="$tmp/refuse-$name"
	mkdir -p "$d"
	"$KEYGEN" -D "$d" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -ne "$want" ]; then
		fail "$name" "exit $rc, want $want: $(cat "$tmp/out")"
	elif [ -n "$(ls -A "$d")" ]; then
		fail "$name" "wrote files: $(ls -A "$d")"
	elif ! grep -q '^mailauth-keygen: ' "$tmp/out"; then
		fail "$name" "no message naming the problem"
	else
		pass "$name"
	fi
}
refuse refuse-domain-underscore 2 -d ex_ample.com -s s
refuse refuse-domain-hyphen 2 -d -bad.example -s s
refuse refuse-domain-empty-label 2 -d a..example -s s
refuse refuse-domain-long-label 2 -s s \
	-d aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com
refuse refuse-selector-slash 2 -d example.com -s ../etc
refuse refuse-selector-underscore 2 -d example.com -s sel_1
refuse refuse-selector-trailing-dot 2 -d example.com -s sel.
refuse refuse-bits-small 2 -d example.com -s s -b 512
refuse refuse-bits-large 2 -d example.com -s s -b 8192
refuse refuse-bits-junk 2 -d example.com -s s -b 2048x
refuse refuse-bits-ed25519 2 -d example.com -s s -a ed25519 -b 256
refuse refuse-algorithm 2 -d example.com -s s -a dsa
refuse refuse-missing-domain 2 -s s
refuse refuse-no-dir 1 -d example.com -s s -D "$tmp/nonexistent"

sum=$(cat "$K/r1024.private" "$K/r1024.txt" | cksum)
"$KEYGEN" -D "$K" -d example.com -s r1024 -b 1024 >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'exists' "$tmp/out" \
   && [ "$(cat "$K/r1024.private" "$K/r1024.txt" | cksum)" = "$sum" ]; then
	pass refuse-overwrite
else
	fail refuse-overwrite "exit $rc, files changed or no message"
fi
cp "$K/ed.private" "$tmp/ed.keep"
rm -f "$K/ed.txt"
"$KEYGEN" -D "$K" -d example.com -s ed -a ed25519 >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && cmp -s "$K/ed.private" "$tmp/ed.keep"; then
	pass refuse-overwrite-private-only
else
	fail refuse-overwrite-private-only "exit $rc or the private key changed"
fi
"$KEYGEN" -D "$K" -d example.com -s ed -a ed25519 -f >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! cmp -s "$K/ed.private" "$tmp/ed.keep" \
   && [ "$(mode "$K/ed.private")" = 600 ] && [ -f "$K/ed.txt" ] \
   && [ -z "$(ls -A "$K" | grep -v '\.private$\|\.txt$')" ]; then
	pass overwrite-with-f
else
	fail overwrite-with-f "exit $rc: $(cat "$tmp/out"); $(ls -A "$K")"
fi

# --- testkey -----------------------------------------------------------------
: > "$tmp/empty.conf"
zone() { $PY "$tmp/txt.py" zone "$@"; }
{
	zone "$K/r1024.txt"
	zone "$K/r2048.txt"
	zone "$K/ed.txt"
	zone "$K/2024.jan.txt"
	zone "$K/other.txt" "$K/r1024.txt"	# other's name, r1024's key
	echo 'ed._domainkey.example.net. 300 IN TXT "v=DKIM1; k=rsa; p="'
	echo "edrsa._domainkey.example.com. 300 IN TXT \"v=DKIM1; k=rsa; p=$p\""
	echo 'x._domainkey.example.com. 300 IN TXT "v=spf1 -all"'
} > "$tmp/zone"
$PY "$tmp/txt.py" spaced "$K/r2048.txt" | sed 's/^r2048\./spaced./' \
	>> "$tmp/zone"
# RFC 6376 3.6.1 names a bare RSAPublicKey as p=; compare keys, not text
bare=$(openssl pkey -in "$K/r1024.private" -pubout 2>/dev/null \
	| openssl rsa -pubin -RSAPublicKey_out -outform DER 2>/dev/null \
	| base64 -w0)
echo "bare._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=$bare\"" \
	>> "$tmp/zone"

keyline() { echo "$1._domainkey.$2 $2:$1:$3"; }

# testkey NAME WANT-EXIT PATTERN KEYTABLE-LINES: run with --dns-zone
testkey() {
	name=$1 want=$2 pat=$3
	shift 3
	printf '%s\n' "$@" > "$tmp/keytable"
	"$TESTKEY" -c "$tmp/empty.conf" -k "$tmp/keytable" \
		--dns-zone "$tmp/zone" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -ne "$want" ]; then
		fail "$name" "exit $rc, want $want: $(cat "$tmp/out")"
	elif ! grep -q "$pat" "$tmp/out"; then
		fail "$name" "no line like '$pat': $(cat "$tmp/out")"
	else
		pass "$name"
	fi
}

testkey testkey-ok-rsa1024 0 \
	'^OK   r1024._domainkey.example.com (rsa 1024 bits): published key matches$' \
	"$(keyline r1024 example.com "$K/r1024.private")"
testkey testkey-ok-rsa2048-two-strings 0 \
	'^OK   r2048._domainkey.example.com (rsa 2048 bits): published key matches$' \
	"$(keyline r2048 example.com "$K/r2048.private")"
testkey testkey-ok-ed25519 0 \
	'^OK   ed._domainkey.example.com (ed25519 [0-9]* bits): published key matches$' \
	"$(keyline ed example.com "$K/ed.private")"
testkey testkey-ok-spaces-in-p 0 \
	'^OK   spaced._domainkey.example.com (rsa 2048 bits): published key matches$' \
	"$(keyline spaced example.com "$K/r2048.private")"
if [ -n "$bare" ]; then
	testkey testkey-ok-bare-rsapublickey 0 \
	'^OK   bare._domainkey.example.com (rsa 1024 bits): published key matches$' \
	"$(keyline bare example.com "$K/r1024.private")"
fi
testkey testkey-ok-several 0 '^OK   2024.jan._domainkey.mail.example.org ' \
	"$(keyline r1024 example.com "$K/r1024.private")" \
	"$(keyline ed example.com "$K/ed.private")" \
	"$(keyline 2024.jan mail.example.org "$K/2024.jan.private")"
testkey testkey-mismatch 1 \
	'^FAIL other._domainkey.example.com (rsa 1024 bits): published key does not match the private key$' \
	"$(keyline other example.com "$K/other.private")"
testkey testkey-nxdomain 1 \
	'^FAIL nope._domainkey.example.com (rsa 1024 bits): no record (NXDOMAIN)$' \
	"$(keyline nope example.com "$K/r1024.private")"
testkey testkey-revoked 1 \
	'^FAIL ed._domainkey.example.net (rsa 1024 bits): record revoked (empty p=)$' \
	"$(keyline ed example.net "$K/r1024.private")"
testkey testkey-wrong-type 1 \
	'^FAIL edrsa._domainkey.example.com (ed25519 [0-9]* bits): k=rsa in DNS but the key is ed25519$' \
	"$(keyline edrsa example.com "$K/ed.private")"
testkey testkey-not-dkim 1 '^FAIL x._domainkey.example.com .*not a DKIM key record' \
	"$(keyline x example.com "$K/r1024.private")"
testkey testkey-one-bad-of-two 1 '^FAIL nope._domainkey' \
	"$(keyline r1024 example.com "$K/r1024.private")" \
	"$(keyline nope example.com "$K/r1024.private")"
if grep -q '^OK   r1024._domainkey' "$tmp/out"; then
	pass testkey-one-bad-of-two-ok-line
else
	fail testkey-one-bad-of-two-ok-line "$(cat "$tmp/out")"
fi

# single-key form on the command line, and KeyTable from a config file
"$TESTKEY" -c "$tmp/empty.conf" -d example.com -s ed -K "$K/ed.private" \
	--dns-zone "$tmp/zone" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^OK   ed._domainkey.example.com ' "$tmp/out"; then
	pass testkey-single-key-options
else
	fail testkey-single-key-options "exit $rc: $(cat "$tmp/out")"
fi
keyline r1024 example.com "$K/r1024.private" > "$tmp/keytable"
printf 'KeyTable %s\nDNSZoneFile %s\nDNSOffline yes\n' "$tmp/keytable" \
	"$tmp/zone" > "$tmp/cfg.conf"
"$TESTKEY" -c "$tmp/cfg.conf" -v >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^OK   r1024._domainkey.example.com ' "$tmp/out" \
   && grep -q '^     record: v=DKIM1; k=rsa; p=' "$tmp/out" \
   && ! grep -q 'PRIVATE' "$tmp/out"; then
	pass testkey-config-file
else
	fail testkey-config-file "exit $rc: $(cat "$tmp/out")"
fi

# a resolver nobody answers: TEMP, exit 1
printf 'KeyTable %s\nNameservers 127.0.0.1@9\nDNSTimeout 1\n' \
	"$tmp/keytable" > "$tmp/dead.conf"
"$TESTKEY" -c "$tmp/dead.conf" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q '^TEMP r1024._domainkey.example.com .*DNS temporary failure' "$tmp/out"; then
	pass testkey-temp
else
	fail testkey-temp "exit $rc: $(cat "$tmp/out")"
fi

# usage errors: exit 2
"$TESTKEY" -c "$tmp/empty.conf" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && pass testkey-no-keys || fail testkey-no-keys "exit $rc"
"$TESTKEY" -c "$tmp/empty.conf" -d example.com -s ed >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && pass testkey-usage || fail testkey-usage "exit $rc"
"$TESTKEY" -c "$tmp/empty.conf" -k "$tmp/nonexistent" \
	--dns-zone "$tmp/zone" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && pass testkey-bad-keytable \
	|| fail testkey-bad-keytable "exit $rc: $(cat "$tmp/out")"

echo "tools: $passed passed, $failed failed"
[ $failed -eq 0 ]
