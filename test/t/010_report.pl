# Issue 14 item 3: the billing history at a glance (scripts/report.sql, run
# by scripts/report.sh; make demo writes demo/report.html), on the demo
# history (scripts/demo.sql, 14 months), as of the demo's own last instant.
#
# What is checked against the views, independently of how the page computes
# it:
#   R13    revenue: each bar's exact amount = Σ of the lines (csp.invoice_lines)
#          of the documents of that month's billing periods and currency; the
#          label is that amount; bar heights are proportional to it
#   R13.4  per currency the bars sum to csp.account_balance.invoiced (only
#          the latest document of each period counts)
#   R13.3, R14.2 aging: the amounts due by days since the invoice date
#          (0-30, 31-60, 60+), as of the demo's day, not the wall clock; the
#          60+ column = account_balance.overdue, the total = balance
#   R14.3  the unallocated payments table = csp.unallocated_payments
#   R5, R11 seats: one point per product and month; the last point of each
#          product = the seats of its active subscriptions
#   and: the four titles, self-contained (no http:// or https://, nothing
#   fetched), HTML-escaped data, the same bytes for the same history, and a
#   headless Chromium screenshot that is not blank and shows the bar colours.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CspHistory;
use Compress::Zlib;

my $scripts = "$ENV{TESTDIR}/scripts";
my $node = CspHistory::demo_node('report');

# Queries "as of" the demo's last instant, as the report sees it.
my $as_of = $node->safe_psql('csp_demo', 'SELECT max(at) FROM demo.stream');
sub sq { return $node->safe_psql('csp_demo', "SET csp.clock = '$as_of'; SET lc_numeric = 'C';\n$_[0]"); }
my $today = sq('SELECT csp.utc_date(csp.now())');
like($today, qr/^\d{4}-\d\d-\d\d$/, "the demo's day: $today");

# The page, as make demo writes it: scripts/report.sh when the suite copies
# it next to report.sql, else the same psql command it runs.
sub report
{
	my ($file, $at) = @_;
	my $env = "PGDATABASE=csp_demo PGHOST='@{[$node->host]}' PGPORT=@{[$node->port]} REPORT_AS_OF='$at'";
	my $log = -f "$scripts/report.sh"
	  ? `$env bash $scripts/report.sh $file 2>&1`
	  : `$env psql -X -q -At -v ON_ERROR_STOP=1 -v as_of='$at' -f $scripts/report.sql >$file 2>&1`;
	my $ok = $? == 0;
	diag($log) unless $ok;
	open(my $fh, '<:raw', $file) or return ($ok, '');
	local $/;
	my $html = <$fh>;
	close $fh;
	return ($ok, $html);
}
my $file = "$ENV{TMPDIR}/report.html";
my ($ok, $html) = report($file, $as_of);
ok($ok && $html =~ /^<!DOCTYPE html>/ && $html =~ m{</html>\n?$}, 'the report is written, a whole page');
my (undef, $again) = report("$ENV{TMPDIR}/report-again.html", $as_of);
ok($html eq $again, 'deterministic: the same history gives the same bytes');

# -- the four sections, in order
my @titles = $html =~ m{<h2>([^<]*)</h2>}g;
is_deeply(\@titles, ['Revenue by month and currency', 'Invoice status and aging of amounts due',
		'Unallocated payments', 'Seats by product over time'], 'the four titles, in order');
like($html, qr{as of <strong>$today</strong>}, "reported as of the demo's day $today, not the wall clock");

# -- self-contained
unlike($html, qr{https?://}i, 'offline: no http:// or https:// reference');
unlike($html, qr{(?:src|href)\s*=|<script|<link|\@import|url\(}i,
	'nothing fetched: no src, href, script, link, import or url()');

# -- R13 revenue by month and currency
sub plain { (my $s = $_[0]) =~ s/,//g; return $s; }
my %want = map { my ($c, $m, $a) = split /\|/; ("$c $m" => $a) } split /\n/, sq(q{
	SELECT o.currency, to_char(date_trunc('month', o.period_start), 'YYYY-MM'), sum(l.amount)
	  FROM csp.billing_overview o JOIN csp.invoice_lines l USING (invoice_number)
	 GROUP BY 1, 2});
my (%got, %labels, %bars);
while ($html =~ m{<rect class="bar" data-currency="([A-Z]{3})" data-month="(\d{4}-\d\d)" data-amount="(-?[\d.]+)" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"[^>]*><title>[^<]*</title></rect><text class="label amount"[^>]*>([^<]*)</text>}g)
{
	$got{"$1 $2"} = $3;
	$labels{"$1 $2"} = plain($5);
	push @{ $bars{$1} }, [ $3, $4 ];
}
ok(keys %want > 20, scalar(keys %want) . ' months x currencies with documents (the test is not vacuous)');
is(scalar(() = $html =~ /<rect class="bar"/g), scalar(keys %want), 'R13: one bar per month and currency with documents');
is_deeply(\%got, \%want, 'R13: each bar is Σ of its documents\' lines, exactly (the numeric text)');
is_deeply(\%labels, \%want, 'R13: each bar\'s label is that exact amount');
my $bad = 0;
for my $c (keys %bars)
{
	my ($top) = sort { abs($b->[0]) <=> abs($a->[0]) } @{ $bars{$c} };
	for my $bar (@{ $bars{$c} })
	{
		$bad++ if abs($bar->[1] - abs($bar->[0]) / abs($top->[0]) * $top->[1]) > 0.15;
	}
}
is($bad, 0, 'bar heights are proportional to the amounts, per currency');
my %invoiced = map { split /\|/ } split /\n/, sq(q{SELECT currency, sum(invoiced) FROM csp.account_balance GROUP BY 1});
my %sum;
for my $k (keys %got) { my ($c) = split / /, $k; $sum{$c} = ($sum{$c} // 0) + $got{$k}; }
is_deeply({ map { ($_ => sprintf('%.2f', $sum{$_})) } keys %sum },
	{ map { ($_ => sprintf('%.2f', $invoiced{$_})) } keys %invoiced },
	'R13.4: per currency the bars sum to account_balance.invoiced (a voided and rebilled period counts once)');

# -- R13.3, R14.2 invoice status and aging, as of the demo's day
my %status = map { split /\|/ } split /\n/, sq(q{SELECT status, count(*) FROM csp.billing_overview GROUP BY 1});
my %shown = $html =~ m{<rect class="status-bar" data-status="(\w+)" data-count="(\d+)"}g;
is(scalar(keys %shown), 5, 'one bar per status: unpaid, partially_paid, overdue, paid, void');
is_deeply({ map { ($_ => $shown{$_}) } grep { $shown{$_} > 0 } keys %shown }, \%status,
	'each status bar counts the documents of that status as of the demo\'s day');
ok(($status{overdue} // 0) > 0 && ($status{unpaid} // 0) > 0,
	'the demo has overdue and not yet due documents (the aging test is not vacuous)');
my %due = map { my ($c, $b, $v) = split /\|/; ("$c $b" => $v) } split /\n/, sq(qq{
	SELECT currency, b, to_char(v, 'FM999G999G999G990D00')
	  FROM (SELECT currency,
	               sum(amount_due) FILTER (WHERE '$today'::date - invoice_date <= 30) AS b0,
	               sum(amount_due) FILTER (WHERE '$today'::date - invoice_date BETWEEN 31 AND 60) AS b1,
	               (SELECT sum(overdue) FROM csp.account_balance a WHERE a.currency = o.currency) AS b2,
	               (SELECT sum(balance) FROM csp.account_balance a WHERE a.currency = o.currency) AS total
	          FROM csp.billing_overview o GROUP BY currency) x,
	       LATERAL (VALUES ('0-30', coalesce(b0, 0)), ('31-60', coalesce(b1, 0)), ('60+', b2), ('total', total)) v(b, v)});
my %cells = map { my ($c, $b, $v) = @$_; ("$c $b" => $v) }
  map { [ /data-currency="(\w+)" data-bucket="([\w+-]+)">([^<]*)$/ ] } $html =~ m{<td class="num due"[^>]*>[^<]*}g;
is_deeply(\%cells, \%due, 'R14.2 aging: 0-30 and 31-60 days since the invoice date, 60+ = account_balance.overdue (R13.3), total = balance');

# -- R14.3 unallocated payments
my @rows = $html =~ m{<tr class="payment">.*?</tr>}g;
is(scalar(@rows), sq('SELECT count(*) FROM csp.unallocated_payments'), 'R14.3: one row per unallocated payment');
is(join(' ', map { /data-currency="(\w+)">([^<]*)</ ? "$1 " . plain($2) : '?' } @rows),
	sq(q{SELECT string_agg(currency || ' ' || unallocated, ' ' ORDER BY received_at, payment_id) FROM csp.unallocated_payments}),
	'R14.3: with the unallocated amount of csp.unallocated_payments');

# -- R5, R11 seats by product over time
my %points;
while ($html =~ m{<circle class="point" data-sku="([^"]+)" data-month="(\d{4}-\d\d)" data-seats="(-?\d+)"}g)
{
	push @{ $points{$1} }, [ $2, $3 ];
}
my ($products, $months) = split /\|/, sq(q{
	SELECT count(DISTINCT sku_id),
	       (SELECT count(*) FROM generate_series(date_trunc('month', min(charge_start)),
	                                              date_trunc('month', csp.utc_date(csp.now())), interval '1 month'))
	  FROM csp.line_items WHERE charge_type <> 'usage'});
ok($products >= 5 && $months >= 12, "$products licensed products over $months months");
is(scalar(keys %points), $products, 'one line per licensed product');
is(scalar(() = $html =~ /<circle class="point"/g), $products * $months, 'one point per product and month');
my %active = map { split /\|/ } split /\n/, sq(q{
	SELECT sku_id, sum(quantity) FROM csp.subscriptions
	 WHERE status = 'active' AND NOT is_trial
	   AND sku_id IN (SELECT sku_id FROM csp.line_items WHERE charge_type <> 'usage') GROUP BY 1});
is_deeply({ map { ($_ => $points{$_}[-1][1]) } keys %points }, \%active,
	'R5: the last point of each product = the seats of its active subscriptions');
is(join(',', map { $_->[0] } @{ (values %points)[0] }), join(',', split /\n/, sq(q{
	SELECT to_char(m, 'YYYY-MM') FROM generate_series(
	       (SELECT date_trunc('month', min(charge_start)) FROM csp.line_items WHERE charge_type <> 'usage'),
	       date_trunc('month', csp.utc_date(csp.now())), interval '1 month') m ORDER BY m})),
	'the points run month by month up to the demo\'s month');

# -- every text from the database is escaped: a payment with a hostile
# reference stays unallocated and shows in the table
my $later = sq(q{SELECT max(at) + interval '1 hour' FROM demo.stream});
$node->safe_psql('csp_demo', qq{SET csp.clock = '$later';
	SELECT csp.record_payment(3, 10.00, 'EUR', reference => '<script>alert(1)</script> & "x" ''y''')});
my (undef, $hostile) = report("$ENV{TMPDIR}/report-hostile.html", $later);
like($hostile, qr{&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;}, 'the payment reference is escaped');
unlike($hostile, qr{<script}, 'no markup from the data survives');
is(scalar(() = $hostile =~ /<tr class="payment">/g), scalar(@rows) + 1, 'and the payment is listed');

# -- the screenshot: headless Chromium, offline (the flags of
# scripts/invoice-pdfs.sh, a fresh profile), then the PNG decoded here
my $chromium = (grep { -x } '/usr/bin/chromium', '/usr/bin/chromium-browser')[0];
SKIP:
{
	skip 'chromium is not installed (apt-get install chromium): no screenshot', 5 unless $chromium;
	my $png = "$ENV{TMPDIR}/report.png";
	my $profile = "$ENV{TMPDIR}/chromium-profile";
	mkdir $profile;
	$ENV{HOME} = $ENV{TMPDIR};
	system("$chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
		  . ' --disable-background-networking --disable-component-update --disable-sync'
		  . " --user-data-dir=$profile --hide-scrollbars --screenshot=$png --window-size=1280,2400"
		  . " file://$file </dev/null >/dev/null 2>&1");
	ok(-s $png, 'Chromium took a screenshot of the report');
	my ($w, $h, $colours) = read_png($png);
	is($w ? "${w}x$h" : 'not a PNG we read', '1280x2400', 'the screenshot is a 1280x2400 PNG');
	my $pixels = ($w // 0) * ($h // 0);
	my $white = $colours->{0xffffff} // 0;
	ok($pixels && ($pixels - $white) / $pixels > 0.05 && keys %$colours > 50,
		sprintf('rendered, not blank: %.1f%% non-white pixels, %d colours',
			$pixels ? 100 * ($pixels - $white) / $pixels : 0, scalar(keys %{ $colours // {} })));
	# the first two series colours of the revenue chart (EUR, SEK), as solid
	# areas: the SVG bars were drawn
	ok(($colours->{0x2f6db5} // 0) > 10000, 'the EUR bars are drawn (' . ($colours->{0x2f6db5} // 0) . ' pixels)');
	ok(($colours->{0xd9822b} // 0) > 10000, 'the SEK bars are drawn (' . ($colours->{0xd9822b} // 0) . ' pixels)');
}

$node->stop;
done_testing();

# A PNG reader for what Chromium writes (8-bit RGB or RGBA, not interlaced):
# returns width, height and a hash colour (0xRRGGBB) => pixel count.
sub read_png
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return;
	local $/;
	my $data = <$fh>;
	close $fh;
	return unless length($data) > 8 && substr($data, 0, 8) eq "\x89PNG\r\n\x1a\n";
	my ($pos, $idat, $w, $h, $depth, $ctype, $interlace) = (8, '');
	while ($pos + 8 <= length $data)
	{
		my ($len, $type) = unpack('N a4', substr($data, $pos, 8));
		my $body = substr($data, $pos + 8, $len);
		$pos += 12 + $len;
		($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('N N C C C C C', $body) if $type eq 'IHDR';
		$idat .= $body if $type eq 'IDAT';
		last if $type eq 'IEND';
	}
	return unless $w && $depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace;
	my $bpp = $ctype == 6 ? 4 : 3;
	my $stride = $w * $bpp;
	my $raw = uncompress($idat);
	return unless defined $raw && length($raw) == $h * ($stride + 1);
	my @prev = (0) x $stride;
	my %colours;
	for my $y (0 .. $h - 1)
	{
		# undo the row's filter (PNG spec: None, Sub, Up, Average, Paeth)
		my $f = ord(substr($raw, $y * ($stride + 1), 1));
		my @c = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
		if ($f == 1) { $c[$_] = ($c[$_] + $c[$_ - $bpp]) & 255 for $bpp .. $stride - 1; }
		elsif ($f == 2) { $c[$_] = ($c[$_] + $prev[$_]) & 255 for 0 .. $stride - 1; }
		elsif ($f == 3)
		{
			$c[$_] = ($c[$_] + (($_ >= $bpp ? $c[$_ - $bpp] : 0) + $prev[$_] >> 1)) & 255 for 0 .. $stride - 1;
		}
		elsif ($f == 4)
		{
			for my $i (0 .. $stride - 1)
			{
				my ($l, $u, $ul) = $i >= $bpp ? ($c[$i - $bpp], $prev[$i], $prev[$i - $bpp]) : (0, $prev[$i], 0);
				my $p = $l + $u - $ul;
				my ($pl, $pu, $pul) = (abs($p - $l), abs($p - $u), abs($p - $ul));
				$c[$i] = ($c[$i] + ($pl <= $pu && $pl <= $pul ? $l : $pu <= $pul ? $u : $ul)) & 255;
			}
		}
		for (my $i = 0; $i < $stride; $i += $bpp)
		{
			$colours{ ($c[$i] << 16) | ($c[$i + 1] << 8) | $c[$i + 2] }++;
		}
		@prev = @c;
	}
	return ($w, $h, \%colours);
}
