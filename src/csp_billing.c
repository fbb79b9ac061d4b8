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

void
_PG_init(void)
{
	csp_define_clock_guc();
	csp_audit_init();

	/* Nobody else may invent settings in our namespace (csp.clokc typos). */
	MarkGUCPrefixReserved("csp");
}
