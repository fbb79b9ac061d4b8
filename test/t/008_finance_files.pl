# Issue 14: the files a finance team uses, on the demo history
# (scripts/demo.sql, 14 months, 42 documents including a void note and a
# rebill).
#
# R13.2 reconciliation files: for every document, Σ Total of
# csp.recon_invoice_line_items = the document's total, and Σ BillingPreTaxTotal
# of csp.recon_daily_rated_usage = its usage lines; the columns are spelled as
# Partner Center's files; the CSV with header round-trips through COPY FROM;
# a finance user limited to one billing profile reads its profile's files and
# gets NC404 for another's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CspHistory;

my $scripts = "$ENV{TESTDIR}/scripts";
my $node = CspHistory::demo_node('finance');
my ($rc, $out, $err);

sub sq { return $node->safe_psql('csp_demo', $_[0]); }

# -- R13.2 positive: every document ties out
is(sq(q{SELECT count(*) FROM csp.invoice}), '42', 'the demo has 42 documents');
is(sq(q{
	SELECT coalesce(string_agg(i.invoice_number || ' ' || i.total || ' <> ' || coalesce(r.t::text, 'none'), ', '), '')
	  FROM csp.invoice i
	 CROSS JOIN LATERAL (SELECT sum("Total") AS t FROM csp.recon_invoice_line_items(i.invoice_number)) r
	 WHERE r.t IS DISTINCT FROM i.total}),
	'', 'R13.2: for every document, Σ Total of its line-item file = its total');
is(sq(q{
	SELECT count(*) FROM csp.invoice i
	 WHERE (SELECT count(*) FROM csp.recon_invoice_line_items(i.invoice_number))
	     <> (SELECT count(*) FROM csp.invoice_lines l WHERE l.invoice_number = i.invoice_number)}),
	'0', 'one file row per document line');
is(sq(q{SELECT sum("Total") FROM csp.recon_invoice_line_items(
	(SELECT invoice_number FROM csp.invoice WHERE document_type = 'void_note'))}),
	sq(q{SELECT total FROM csp.invoice WHERE document_type = 'void_note'}),
	'R13.4: a void note\'s file carries its lines negated');
ok(sq(q{SELECT total FROM csp.invoice WHERE document_type = 'void_note'}) < 0, 'the void note is negative');
is(sq(q{
	SELECT count(*) FROM csp.invoice i
	 WHERE (SELECT coalesce(sum("BillingPreTaxTotal"), 0) FROM csp.recon_daily_rated_usage(i.invoice_number))
	    <> (SELECT coalesce(sum(amount), 0) FROM csp.invoice_lines l
	         WHERE l.invoice_number = i.invoice_number AND l.charge_type = 'usage')}),
	'0', 'daily rated usage: Σ BillingPreTaxTotal = the usage lines of every document');
ok(sq(q{SELECT count(*) FROM csp.invoice i, csp.recon_daily_rated_usage(i.invoice_number)}) > 0,
	'the demo has usage rows (the test above is not vacuous)');
is(sq(q{SELECT count(*) FROM csp.invoice i, csp.recon_daily_rated_usage(i.invoice_number) u
	WHERE u."ChargeType" <> 'usage' OR u."UsageDate" <> u."ChargeStartDate"}), '0',
	'usage file: usage lines only, one usage day each');

# -- column names exactly as Partner Center's
is(sq(q{SELECT string_agg(a, ',' ORDER BY n) FROM pg_proc p,
	unnest(p.proargnames, p.proargmodes) WITH ORDINALITY x(a, m, n)
	WHERE p.oid = 'csp.recon_invoice_line_items(text)'::regprocedure AND m = 't'}),
	'PartnerId,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,InvoiceNumber,MpnId,ResellerMpnId,OrderId,OrderDate,ProductId,SkuId,AvailabilityId,SkuName,ProductName,ChargeType,UnitPrice,Quantity,Subtotal,TaxTotal,Total,Currency,PriceAdjustmentDescription,PublisherName,PublisherId,SubscriptionDescription,SubscriptionId,ChargeStartDate,ChargeEndDate,TermAndBillingCycle,EffectiveUnitPrice,UnitType,AlternateId,BillableQuantity,BillingFrequency,PricingCurrency,PCToBCExchangeRate,PCToBCExchangeRateDate,MeterDescription,ReservationOrderId,CreditReasonCode,SubscriptionStartDate,SubscriptionEndDate,ReferenceId,ProductQualifiers,PromotionId',
	'BilledOneTimeInvoiceLineItems columns, spelled and ordered as Partner Center');
is(sq(q{SELECT count(*) FROM csp.invoice i, csp.recon_invoice_line_items(i.invoice_number) r
	WHERE num_nonnulls(r."CustomerDomainName", r."MpnId", r."AvailabilityId", r."TaxTotal",
	      r."PriceAdjustmentDescription", r."PublisherId", r."ReservationOrderId",
	      r."CreditReasonCode", r."ProductQualifiers") > 0}), '0',
	'unmodelled columns are present and empty');

# -- the unbilled variant: February 2026 is not invoiced yet
my $unbilled = sq(q{SELECT count(*) || ' ' || coalesce(sum("Total"), 0) || ' ' || count("InvoiceNumber")
	FROM csp.billing_profile b, csp.recon_unbilled_line_items(b.billing_profile_id, '2026-02-15')});
is($unbilled, sq(q{SELECT count(*) || ' ' || coalesce(sum(amount), 0) || ' 0' FROM csp.line_items
	WHERE invoice_number IS NULL AND posted_at < '2026-03-01'}),
	'unbilled variant: every unbilled line up to the period end, InvoiceNumber empty');
ok((split / /, $unbilled)[0] > 0, 'there are unbilled lines');

# -- CSV with header round-trips through COPY FROM
my $inv = sq(q{SELECT invoice_number FROM csp.invoice WHERE document_type = 'rebill'});
my $csv = sq(qq{COPY (SELECT * FROM csp.recon_invoice_line_items('$inv')) TO STDOUT WITH (FORMAT csv, HEADER)});
like($csv, qr/^PartnerId,CustomerId,CustomerName,/, 'the CSV starts with Partner Center\'s header');
my $csvfile = "$ENV{TMPDIR}/recon.csv";
open(my $fh, '>', $csvfile) or die $!;
print $fh "$csv\n";
close $fh;
chmod 0644, $csvfile;
sq(qq{CREATE TABLE recon AS SELECT * FROM csp.recon_invoice_line_items('$inv') WITH NO DATA;
	COPY recon FROM '$csvfile' WITH (FORMAT csv, HEADER)});
is(sq(qq{SELECT (SELECT count(*) FROM recon) || ' ' ||
	(SELECT count(*) FROM (SELECT * FROM recon EXCEPT ALL SELECT * FROM csp.recon_invoice_line_items('$inv')) a) || ' ' ||
	(SELECT count(*) FROM (SELECT * FROM csp.recon_invoice_line_items('$inv') EXCEPT ALL SELECT * FROM recon) b)}),
	sq(qq{SELECT count(*) FROM csp.invoice_lines WHERE invoice_number = '$inv'}) . ' 0 0',
	'COPY FROM the CSV gives back every row, value for value');

# -- a finance user limited to one billing profile (issue 14 item 5)
sq(q{CREATE ROLE finance LOGIN; SELECT csp.grant_profile_role(3, 'finance', 'reader')});
my $own = sq(q{SELECT invoice_number FROM csp.invoice WHERE billing_profile_id = 3 ORDER BY 1 DESC LIMIT 1});
my $other = sq(q{SELECT invoice_number FROM csp.invoice WHERE billing_profile_id = 1 ORDER BY 1 LIMIT 1});
($rc, $out, $err) = $node->psql('csp_demo', q{SELECT count(*) FROM csp.customers}, extra_params => ['-U', 'finance']);
like($err, qr/permission denied/, 'the finance user may not read customers');
is($node->safe_psql('csp_demo', qq{SELECT sum("Total") FROM csp.recon_invoice_line_items('$own')},
	extra_params => ['-U', 'finance']),
	sq(qq{SELECT total FROM csp.invoice WHERE invoice_number = '$own'}),
	'positive: the finance user reads its own profile\'s file, customer names and products included');
is($node->safe_psql('csp_demo', qq{SELECT count(*) FROM csp.recon_unbilled_line_items(3, '2026-02-15')},
	extra_params => ['-U', 'finance']),
	sq(q{SELECT count(*) FROM csp.recon_unbilled_line_items(3, '2026-02-15')}),
	'positive: and its profile\'s unbilled lines');
for my $call ("csp.recon_invoice_line_items('$other')", "csp.recon_daily_rated_usage('$other')",
	"csp.recon_unbilled_line_items(1, '2026-02-15')", "csp.recon_invoice_line_items('G999999999')")
{
	($rc, $out, $err) = $node->psql('csp_demo', "\\set VERBOSITY verbose\nSELECT * FROM $call",
		extra_params => ['-U', 'finance']);
	like($err, qr/ERROR:  NC404: .* does not exist/, "negative: $call is NC404 for the finance user");
}
($rc, $out, $err) = $node->psql('csp_demo', "\\set VERBOSITY verbose\nSELECT * FROM csp.recon_invoice_line_items(NULL)");
like($err, qr/ERROR:  22023: argument "invoice_number" must not be null/, 'a NULL invoice number is 22023');

# -- issue 14 item 2: the invoice document, for every document of the demo
is(sq(q{SELECT count(*) FROM csp.invoice i, LATERAL csp.invoice_document(i.invoice_number) h
	WHERE h NOT LIKE '%' || i.invoice_number || '%' OR h NOT LIKE '%' || i.total::text || '%'
	   OR h NOT LIKE '<!DOCTYPE html>%'}), '0',
	'every document\'s HTML has its number and total');
is(sq(q{SELECT count(*) FROM csp.invoice i, LATERAL csp.invoice_document(i.invoice_number) h
	WHERE h ~* '(src|href)\s*=|<script|<link|@import|url\('}), '0',
	'self-contained: nothing fetched (no src, href, script, link, import or url())');
is(sq(q{SELECT count(*) FROM csp.invoice i, LATERAL csp.invoice_document(i.invoice_number) h
	WHERE i.document_type = 'invoice' AND i.replaced_by IS NULL
	  AND h NOT LIKE '%quote <strong>' || i.invoice_number || '</strong> as the remittance reference%'}), '0',
	'R14.3: payment instructions name the invoice number as remittance reference');
is(sq(q{SELECT count(*) FROM csp.invoice i, LATERAL csp.invoice_document(i.invoice_number) h
	WHERE (SELECT count(DISTINCT invoice_section_id) FROM csp.invoice_lines l WHERE l.invoice_number = i.invoice_number)
	   <> (length(h) - length(replace(h, 'Invoice section: ', ''))) / length('Invoice section: ')}), '0',
	'R1.3: one group per invoice section of the document\'s lines');
my ($void, $voided, $rebill) = split /\|/, sq(q{SELECT v.invoice_number, v.replaces_invoice_number, r.invoice_number
	FROM csp.invoice v JOIN csp.invoice r ON r.replaces_invoice_number = v.replaces_invoice_number
	 AND r.document_type = 'rebill' WHERE v.document_type = 'void_note'});
like(sq(qq{SELECT csp.invoice_document('$void')}), qr/This void note cancels invoice $voided in full/,
	'R13.4: the void note names the invoice it voids');
like(sq(qq{SELECT csp.invoice_document('$rebill')}), qr/This invoice replaces invoice $voided/,
	'R13.4: the rebill names the invoice it replaces');
like(sq(qq{SELECT csp.invoice_document('$voided')}), qr/VOID: replaced by invoice $rebill/,
	'R13.4: the voided original says what replaced it, and asks for no payment');
unlike(sq(qq{SELECT csp.invoice_document('$voided')}), qr/Payment instructions/,
	'no payment instructions on a void document');
is($node->safe_psql('csp_demo', qq{SELECT csp.invoice_document('$own') LIKE '%$own%'},
	extra_params => ['-U', 'finance']), 't', 'positive: the finance user prints its own invoice');
($rc, $out, $err) = $node->psql('csp_demo', "\\set VERBOSITY verbose\nSELECT csp.invoice_document('$other')",
	extra_params => ['-U', 'finance']);
like($err, qr/ERROR:  NC404: invoice $other does not exist/, 'negative: another profile\'s invoice is NC404');

# -- HTML escapes all data: a hostile PO number and address on a rebill
my $hostile = sq(q{SET csp.clock = '2026-02-20 16:00+00';
	SELECT csp.void_and_rebill((SELECT max(invoice_number) FROM csp.invoice WHERE document_type = 'invoice'
	                             AND billing_profile_id = 1),
	       po_number => '<script>alert(1)</script> & "co"',
	       bill_to => '{"street": "<img src=x onerror=alert(2)>", "city": "A&B"}')});
my $html = sq(qq{SELECT csp.invoice_document('$hostile')});
like($html, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;co&quot;/, 'the PO number is escaped');
like($html, qr/&lt;img src=x onerror=alert\(2\)&gt;/, 'the address is escaped');
unlike($html, qr/<script|<img/, 'no markup from the data survives');

# -- the PDFs (scripts/invoice-pdfs.sh, headless Chromium) carry number and
# total as text (pdftotext): the void note, the rebill, its original and the
# first and last invoice of each profile (each Chromium start takes a second;
# make invoice-pdfs prints them all)
my @docs = split /\n/, sq(qq{SELECT DISTINCT invoice_number FROM (
	SELECT invoice_number FROM csp.invoice WHERE invoice_number IN ('$void', '$rebill', '$voided', '$hostile')
	UNION SELECT min(invoice_number) FROM csp.invoice GROUP BY billing_profile_id
	UNION SELECT max(invoice_number) FROM csp.invoice WHERE invoice_number <> '$hostile' GROUP BY billing_profile_id) x
	ORDER BY 1});
my $pdfdir = "$ENV{TMPDIR}/pdf";
mkdir $pdfdir;
my $connstr = $node->connstr('csp_demo');
$ENV{HOME} = $ENV{TMPDIR};
my $log = `PGDATABASE=csp_demo PGHOST='@{[$node->host]}' PGPORT=@{[$node->port]} INVOICES='@docs' bash $scripts/invoice-pdfs.sh $pdfdir 2>&1`;
is($?, 0, 'invoice-pdfs.sh prints ' . scalar(@docs) . ' documents') or diag($log);
for my $doc (@docs)
{
	my $total = sq(qq{SELECT total FROM csp.invoice WHERE invoice_number = '$doc'});
	my $text = -s "$pdfdir/$doc.pdf" ? `pdftotext -layout $pdfdir/$doc.pdf - 2>&1` : '';
	ok(index($text, $doc) >= 0 && index($text, $total) >= 0, "the PDF of $doc exists and has its number and total $total as text");
}

$node->stop;
done_testing();
