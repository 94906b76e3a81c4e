#!/usr/bin/perl
# NAME
#	sign_verify.pl - verify DKIM signatures with Mail::DKIM, DNS offline
# SYNOPSIS
#	perl tests/sign_verify.pl DNSFILE MESSAGE...
# DESCRIPTION
#	DNSFILE holds one TXT record per line: "NAME<TAB>TEXT" (NAME without
#	the trailing dot, any case). Every DNS query Mail::DKIM makes is
#	answered from that file only (Mail::DKIM::DNS::query is replaced, so
#	nothing leaves the process); a name not in the file is NXDOMAIN.
#	Each MESSAGE is read as bytes and given to Mail::DKIM::Verifier as it
#	is (it must already have CRLF line ends, as on the wire).
#	Prints first "ed25519 SUPPORTED" or "ed25519 UNSUPPORTED" (whether
#	this Mail::DKIM has an ed25519-sha256 algorithm module), then one line
#	per signature:
#		FILE<TAB>INDEX<TAB>RESULT<TAB>d=D<TAB>s=S<TAB>a=A<TAB>DETAIL
#	and "FILE<TAB>-<TAB>none" for a message without signatures.
#	Used by tests/sign_matrix.py as the second, independent verifier.
# EXIT STATUS
#	0 after printing, 2 on usage or unreadable files.
use strict;
use warnings;

use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

@ARGV >= 1 or die "usage: sign_verify.pl DNSFILE MESSAGE...\n";
my $dnsfile = shift @ARGV;

my %txt;
open( my $dfh, '<', $dnsfile ) or do { print STDERR "$dnsfile: $!\n"; exit 2 };
while ( my $line = <$dfh> ) {
    chomp $line;
    next if $line =~ /^\s*(#|$)/;
    my ( $name, $text ) = split /\t/, $line, 2;
    next unless defined $text;
    $name = lc $name;
    $name =~ s/\.$//;
    push @{ $txt{$name} }, $text;
}
close $dfh;

{
    no warnings 'redefine';
    # answer from %txt only; the same contract as the original (list of
    # RRs, rcode in $@)
    *Mail::DKIM::DNS::query = sub {
        my ( $domain, $type ) = @_;
        my $name = lc $domain;
        $name =~ s/\.$//;
        if ( uc $type ne 'TXT' || !$txt{$name} ) {
            $@ = 'NXDOMAIN';
            return;
        }
        my @rr;
        for my $t ( @{ $txt{$name} } ) {
            # character-strings of at most 255 octets, as on the wire
            my @chunks = unpack '(A255)*', $t;
            push @rr, Net::DNS::RR->new(
                name    => $name,
                type    => 'TXT',
                txtdata => \@chunks,
            );
        }
        $@ = 'NOERROR';
        return @rr;
    };
}

my $ed = eval { require Mail::DKIM::Algorithm::ed25519_sha256; 1 } ? 'SUPPORTED' : 'UNSUPPORTED';
print "ed25519 $ed\n";

my $rc = 0;
for my $file (@ARGV) {
    my $fh;
    unless ( open( $fh, '<:raw', $file ) ) {
        print STDERR "$file: $!\n";
        $rc = 2;
        next;
    }
    my $msg = do { local $/; <$fh> };
    close $fh;

    my $v = Mail::DKIM::Verifier->new();
    $v->PRINT($msg);
    $v->CLOSE;
    my @sigs = $v->signatures;
    if ( !@sigs ) {
        print "$file\t-\tnone\n";
        next;
    }
    my $i = 0;
    for my $s (@sigs) {
        my $detail = $s->result_detail // '';
        $detail =~ s/[\t\r\n]+/ /g;
        printf "%s\t%d\t%s\td=%s\ts=%s\ta=%s\t%s\n", $file, $i++,
          $s->result // 'none', $s->domain // '', $s->selector // '',
          $s->algorithm // '', $detail;
    }
}
exit $rc;
