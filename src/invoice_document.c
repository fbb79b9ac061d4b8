/*-------------------------------------------------------------------------
 *
 * invoice_document.c
 *	  csp.invoice_document(invoice_number): the invoice a finance team
 *	  receives, as one self-contained HTML page (issue 14 item 2).
 *
 * The page holds everything the document says and nothing it fetches: no
 * script, no external style sheet, font or image, so it prints to PDF
 * offline (scripts/invoice-pdfs.sh, headless Chromium) and can be mailed
 * as it is.  It shows the bill-to address and PO number, the billing
 * period and the invoice, publication and due dates (R13.1, R13.3), the
 * lines grouped by invoice section with a subtotal each (R1.3), the
 * total, what is paid and the amount due (R14), payment instructions
 * naming the invoice number as the remittance reference (R14.3: a
 * payment with it is allocated to this invoice), and for void notes and
 * rebills the document they void or replace (R13.4).
 *
 * Every value taken from the database is HTML-escaped: customer names,
 * addresses and PO numbers are typed in by people.
 *
 * Like the reconciliation files (src/recon.c) the function runs as the
 * extension's owner and applies csp.visible_profile as the caller: a
 * document the caller may not see is NC404.
 *
 * A declared room of the house (README "Development"): a read-only report
 * that may join many tables (the document, its lines, the profile's
 * bill-to data) in one SELECT.  It never writes or locks a row; the tables'
 * owners do that.
 *
 * src/invoice_document.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_invoice_document);

/* Appends s HTML-escaped (text and attribute values alike). */
static void
AppendEscaped(StringInfo buf, const char *s)
{
	if (s == NULL)
		return;
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&#39;");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/* <tr><th>label</th><td>value</td></tr>, the value escaped; nothing when NULL */
static void
AppendField(StringInfo buf, const char *label, const char *value)
{
	if (value == NULL)
		return;
	appendStringInfo(buf, "<tr><th>%s</th><td>", label);
	AppendEscaped(buf, value);
	appendStringInfoString(buf, "</td></tr>\n");
}

#define HEADER_SQL \
	"SELECT i.invoice_number, i.document_type, i.replaces_invoice_number, i.replaced_by," \
	"       i.period_start::text, i.period_end::text, i.invoice_date::text, i.published_on::text," \
	"       i.due_date::text, i.currency, i.total::text, csp.round_money(i.paid, i.currency)::text," \
	"       csp.round_money(CASE WHEN i.document_type = 'void_note' OR i.replaced_by IS NOT NULL THEN 0" \
	"                            ELSE GREATEST(i.total - i.paid, 0) END, i.currency)::text," \
	"       i.po_number, a.name, p.name, p.billing_profile_id::text," \
	"       (SELECT string_agg(e.key || ': ' || e.value, E'\\n' ORDER BY e.key)" \
	"          FROM jsonb_each_text(i.bill_to) e)," \
	"       array_to_string(p.payment_methods, ', ')" \
	"  FROM csp.invoice i" \
	"  JOIN csp.billing_profile p ON p.billing_account_id = i.billing_account_id" \
	"                            AND p.billing_profile_id = i.billing_profile_id" \
	"  JOIN csp.billing_account a ON a.billing_account_id = i.billing_account_id" \
	" WHERE i.invoice_number = $1"

/* The document's lines (a void note's negated), by section then line. */
#define LINES_SQL \
	"SELECT s.name, cu.legal_name, pr.name, c.charge_type," \
	"       c.charge_start::text || ' to ' || c.charge_end::text," \
	"       (CASE WHEN d.document_type = 'void_note' THEN -c.quantity ELSE c.quantity END)::text," \
	"       (CASE WHEN d.document_type = 'void_note' THEN -c.amount ELSE c.amount END)::text," \
	"       (sum(CASE WHEN d.document_type = 'void_note' THEN -c.amount ELSE c.amount END)" \
	"            OVER (PARTITION BY s.invoice_section_id))::text," \
	"       s.invoice_section_id" \
	"  FROM csp.invoice d" \
	"  JOIN csp.charge c ON " CSP_LINES_OF_DOCUMENT("d", "c") \
	"  JOIN csp.invoice_section s ON s.billing_account_id = c.billing_account_id" \
	"                            AND s.invoice_section_id = c.invoice_section_id" \
	"  JOIN csp.customer cu ON cu.customer_id = c.customer_id" \
	"  JOIN csp.product pr ON pr.sku_id = c.sku_id" \
	" WHERE d.invoice_number = $1" \
	" ORDER BY s.is_default DESC, s.name, s.invoice_section_id, cu.legal_name, c.charge_id"

static const char *const STYLE =
"body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt;color:#222;margin:24px}"
"h1{font-size:18pt;margin:0 0 4px}h2{font-size:12pt;margin:18px 0 6px;border-bottom:1px solid #999}"
"table{border-collapse:collapse;width:100%}th,td{padding:3px 6px;text-align:left;vertical-align:top}"
".lines th{background:#eee}.lines td.n,.lines th.n{text-align:right}"
".meta th{width:30%;font-weight:normal;color:#555}.sub td{font-weight:bold;border-top:1px solid #999}"
".totals{width:45%;margin-left:auto}.totals td{text-align:right}.due td,.due th{font-size:12pt;font-weight:bold}"
".note{border:2px solid #b00;color:#b00;padding:6px;margin:10px 0;font-weight:bold}"
".addr{white-space:pre-line}";

/* The document's header row (HEADER_SQL), as text. */
typedef struct DocumentHeader
{
	char	   *invoice_number;
	char	   *document_type;
	char	   *replaces_invoice_number;
	char	   *replaced_by;
	char	   *period_start;
	char	   *period_end;
	char	   *invoice_date;
	char	   *published_on;
	char	   *due_date;
	char	   *currency;
	char	   *total;
	char	   *paid;
	char	   *amount_due;
	char	   *po_number;
	char	   *account_name;
	char	   *profile_name;
	char	   *bill_to;		/* "key: value" lines */
	char	   *payment_methods;
} DocumentHeader;

static void
LoadHeader(Datum invoice_number, DocumentHeader *h)
{
	static CspPlan header = {HEADER_SQL, 1, {TEXTOID}, NULL, 0};
#define Anum_document_header_invoice_number				1
#define Anum_document_header_document_type				2
#define Anum_document_header_replaces_invoice_number	3
#define Anum_document_header_replaced_by				4
#define Anum_document_header_period_start				5
#define Anum_document_header_period_end					6
#define Anum_document_header_invoice_date				7
#define Anum_document_header_published_on				8
#define Anum_document_header_due_date					9
#define Anum_document_header_currency					10
#define Anum_document_header_total						11
#define Anum_document_header_paid						12
#define Anum_document_header_amount_due					13
#define Anum_document_header_po_number					14
#define Anum_document_header_account_name				15
#define Anum_document_header_profile_name				16
#define Anum_document_header_billing_profile_id			17	/* not shown */
#define Anum_document_header_bill_to					18
#define Anum_document_header_payment_methods			19

	csp_spi_run(&header, &invoice_number, NULL, true, 1);
	h->invoice_number = csp_spi_getcstring(0, Anum_document_header_invoice_number);
	h->document_type = csp_spi_getcstring(0, Anum_document_header_document_type);
	h->replaces_invoice_number = csp_spi_getcstring(0, Anum_document_header_replaces_invoice_number);
	h->replaced_by = csp_spi_getcstring(0, Anum_document_header_replaced_by);
	h->period_start = csp_spi_getcstring(0, Anum_document_header_period_start);
	h->period_end = csp_spi_getcstring(0, Anum_document_header_period_end);
	h->invoice_date = csp_spi_getcstring(0, Anum_document_header_invoice_date);
	h->published_on = csp_spi_getcstring(0, Anum_document_header_published_on);
	h->due_date = csp_spi_getcstring(0, Anum_document_header_due_date);
	h->currency = csp_spi_getcstring(0, Anum_document_header_currency);
	h->total = csp_spi_getcstring(0, Anum_document_header_total);
	h->paid = csp_spi_getcstring(0, Anum_document_header_paid);
	h->amount_due = csp_spi_getcstring(0, Anum_document_header_amount_due);
	h->po_number = csp_spi_getcstring(0, Anum_document_header_po_number);
	h->account_name = csp_spi_getcstring(0, Anum_document_header_account_name);
	h->profile_name = csp_spi_getcstring(0, Anum_document_header_profile_name);
	h->bill_to = csp_spi_getcstring(0, Anum_document_header_bill_to);
	h->payment_methods = csp_spi_getcstring(0, Anum_document_header_payment_methods);
}

/* The page's head and title, and R13.4: what it voids or replaces, or what replaced it */
static void
AppendTitle(StringInfo buf, const DocumentHeader *h)
{
	const char *title;

	title = strcmp(h->document_type, "void_note") == 0 ? "Void note"
		: strcmp(h->document_type, "rebill") == 0 ? "Invoice (rebill)" : "Invoice";

	appendStringInfo(buf, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
					 "<title>%s ", title);
	AppendEscaped(buf, h->invoice_number);
	appendStringInfo(buf, "</title><style>%s</style></head><body>\n", STYLE);
	appendStringInfo(buf, "<h1>%s ", title);
	AppendEscaped(buf, h->invoice_number);
	appendStringInfoString(buf, "</h1>\n");

	if (strcmp(h->document_type, "void_note") == 0)
	{
		appendStringInfoString(buf, "<p class=\"note\">This void note cancels invoice ");
		AppendEscaped(buf, h->replaces_invoice_number);
		appendStringInfoString(buf, " in full. Nothing is to be paid on it.</p>\n");
	}
	else if (strcmp(h->document_type, "rebill") == 0)
	{
		appendStringInfoString(buf, "<p class=\"note\">This invoice replaces invoice ");
		AppendEscaped(buf, h->replaces_invoice_number);
		appendStringInfoString(buf, ", which is void. Payments made on it are carried over.</p>\n");
	}
	if (h->replaced_by != NULL)
	{
		appendStringInfoString(buf, "<p class=\"note\">VOID: replaced by invoice ");
		AppendEscaped(buf, h->replaced_by);
		appendStringInfoString(buf, ". Do not pay this document.</p>\n");
	}
}

/* The bill-to data and the document's numbers and dates (R13.1, R13.3) */
static void
AppendBillToAndDates(StringInfo buf, const DocumentHeader *h)
{
	appendStringInfoString(buf, "<h2>Bill to</h2>\n<table class=\"meta\">\n");
	AppendField(buf, "Billing account", h->account_name);
	AppendField(buf, "Billing profile", h->profile_name);
	appendStringInfoString(buf, "<tr><th>Address</th><td class=\"addr\">");
	AppendEscaped(buf, h->bill_to ? h->bill_to : "");
	appendStringInfoString(buf, "</td></tr>\n");
	AppendField(buf, "PO number", h->po_number);
	appendStringInfoString(buf, "</table>\n<h2>Document</h2>\n<table class=\"meta\">\n");
	AppendField(buf, "Invoice number", h->invoice_number);
	appendStringInfoString(buf, "<tr><th>Billing period</th><td>");
	AppendEscaped(buf, h->period_start);
	appendStringInfoString(buf, " &ndash; ");
	AppendEscaped(buf, h->period_end);
	appendStringInfoString(buf, "</td></tr>\n");
	AppendField(buf, "Invoice date", h->invoice_date);
	AppendField(buf, "Published on", h->published_on);
	AppendField(buf, "Due date", h->due_date);
	AppendField(buf, "Currency", h->currency);
	appendStringInfoString(buf, "</table>\n");
}

/* R1.3: the lines grouped by invoice section, a subtotal after each */
static void
AppendLines(StringInfo buf, Datum invoice_number)
{
	static CspPlan lines = {LINES_SQL, 1, {TEXTOID}, NULL, 0};
#define Anum_document_line_section			1
#define Anum_document_line_customer			2
#define Anum_document_line_product			3
#define Anum_document_line_charge_type		4
#define Anum_document_line_period			5
#define Anum_document_line_quantity			6
#define Anum_document_line_amount			7
#define Anum_document_line_section_total	8
#define Anum_document_line_section_id		9
	char	   *section = NULL;
	uint64		i;

	csp_spi_run(&lines, &invoice_number, NULL, true, 0);
	appendStringInfoString(buf, "<h2>Charges</h2>\n<table class=\"lines\">\n"
						   "<tr><th>Customer</th><th>Product</th><th>Charge</th><th>Period</th>"
						   "<th class=\"n\">Quantity</th><th class=\"n\">Amount</th></tr>\n");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = csp_spi_getcstring(i, Anum_document_line_section);
		int			c;

		if (section == NULL || strcmp(section, name) != 0)
		{
			appendStringInfoString(buf, "<tr><th colspan=\"6\">Invoice section: ");
			AppendEscaped(buf, name);
			appendStringInfoString(buf, "</th></tr>\n");
			section = name;
		}
		/* the shown columns, customer to amount, in the table's order */
		appendStringInfoString(buf, "<tr>");
		for (c = Anum_document_line_customer; c <= Anum_document_line_amount; c++)
		{
			appendStringInfoString(buf, c >= Anum_document_line_quantity ? "<td class=\"n\">" : "<td>");
			AppendEscaped(buf, csp_spi_getcstring(i, c));
			appendStringInfoString(buf, "</td>");
		}
		appendStringInfoString(buf, "</tr>\n");
		if (i + 1 == SPI_processed ||
			strcmp(csp_spi_getcstring(i + 1, Anum_document_line_section), name) != 0)
		{
			appendStringInfoString(buf, "<tr class=\"sub\"><td colspan=\"5\">Subtotal ");
			AppendEscaped(buf, name);
			appendStringInfoString(buf, "</td><td class=\"n\">");
			AppendEscaped(buf, csp_spi_getcstring(i, Anum_document_line_section_total));
			appendStringInfoString(buf, "</td></tr>\n");
		}
	}
	if (SPI_processed == 0)
		appendStringInfoString(buf, "<tr><td colspan=\"6\">No charges in this period.</td></tr>\n");
	appendStringInfoString(buf, "</table>\n");
}

/* An amount and its currency code, as the document prints every sum. */
static void
AppendMoney(StringInfo buf, const char *amount, const char *currency)
{
	AppendEscaped(buf, amount);
	appendStringInfoChar(buf, ' ');
	AppendEscaped(buf, currency);
}

/* R14: the total, what is paid and the amount due */
static void
AppendTotals(StringInfo buf, const DocumentHeader *h)
{
	appendStringInfoString(buf, "<table class=\"totals\">\n<tr><th>Total</th><td>");
	AppendMoney(buf, h->total, h->currency);
	appendStringInfoString(buf, "</td></tr>\n<tr><th>Paid</th><td>");
	AppendMoney(buf, h->paid, h->currency);
	appendStringInfoString(buf, "</td></tr>\n<tr class=\"due\"><th>Amount due</th><td>");
	AppendMoney(buf, h->amount_due, h->currency);
	appendStringInfoString(buf, "</td></tr>\n</table>\n");
}

/*
 * Payment instructions, on a document that is to be paid: the number is
 * the remittance reference (R14.3).
 */
static void
AppendPaymentInstructions(StringInfo buf, const DocumentHeader *h)
{
	if (strcmp(h->document_type, "void_note") == 0 || h->replaced_by != NULL)
		return;
	appendStringInfoString(buf, "<h2>Payment instructions</h2>\n<p>Please pay ");
	AppendMoney(buf, h->amount_due, h->currency);
	appendStringInfoString(buf, " by ");
	AppendEscaped(buf, h->payment_methods);
	appendStringInfoString(buf, " by the due date ");
	AppendEscaped(buf, h->due_date);
	appendStringInfoString(buf, " to the bank account of your billing agreement, and quote "
						   "<strong>");
	AppendEscaped(buf, h->invoice_number);
	appendStringInfoString(buf, "</strong> as the remittance reference, so that the payment "
						   "is allocated to this invoice.</p>\n");
}

/* csp.invoice_document(invoice_number) → text: the document as HTML */
Datum
csp_invoice_document(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"invoice_number"};
	char	   *invoice_number;
	Datum		value;
	int64		profile;
	StringInfoData buf;
	DocumentHeader header;

	csp_require_args(fcinfo, args, lengthof(args));
	invoice_number = csp_arg_cstring(fcinfo, 0);
	/* in the caller's memory context: it outlives SPI_finish */
	initStringInfo(&buf);
	csp_enter(fcinfo, "invoice_document", false);
	profile = csp_invoice_profile(invoice_number);
	if (profile < 0 || !csp_caller_sees_profile(profile))
		csp_report_not_found("invoice", invoice_number);

	value = CStringGetTextDatum(invoice_number);
	LoadHeader(value, &header);
	AppendTitle(&buf, &header);
	AppendBillToAndDates(&buf, &header);
	AppendLines(&buf, value);
	AppendTotals(&buf, &header);
	AppendPaymentInstructions(&buf, &header);
	appendStringInfoString(&buf, "</body></html>\n");
	csp_finish();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
