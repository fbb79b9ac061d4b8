/*
 * csp_billing 0.1.0 -> 0.2.0 upgrade script.
 *
 * Every object that sql/csp_billing.sql (the 0.2.0 install script) adds or
 * changes relative to 0.1.0 is added or changed here too, so that
 * ALTER EXTENSION csp_billing UPDATE gives the same database as a fresh
 * install (test/t/003_upgrade_path.pl checks that).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION csp_billing UPDATE TO '0.2.0'" to load this file. \quit
