/*
 * csp_billing 0.2.0 -> 0.3.0 upgrade script.
 *
 * Every object that sql/csp_billing.sql (the 0.3.0 install script) adds or
 * changes relative to 0.2.0 is added or changed here too, so that
 * ALTER EXTENSION csp_billing UPDATE gives the same database as a fresh
 * install (test/t/004_upgrade_path.pl checks that).  0.2.0's install script
 * (sql/csp_billing--0.2.0.sql) is frozen: it is never edited again.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION csp_billing UPDATE TO '0.3.0'" to load this file. \quit
