/*-------------------------------------------------------------------------
 *
 * csp_billing.c
 *	  Module entry point: PG_MODULE_MAGIC and the settings of the
 *	  extension.
 *
 * src/csp_billing.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

bool		csp_set_based_jobs = true;

void
_PG_init(void)
{
	csp_define_clock_guc();
	csp_audit_init();
	csp_entry_init();

	DefineCustomBoolVariable("csp.set_based_jobs",
							 "Lets csp.run_renewals and csp.run_cycle_charges take plain subscriptions in set-based batches.",
							 "Off: every subscription takes the per-row path.  The results are "
							 "the same; the tests compare the two.",
							 &csp_set_based_jobs,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/* Nobody else may invent settings in our namespace (csp.clokc typos). */
	MarkGUCPrefixReserved("csp");
}
