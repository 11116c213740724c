-- tenancy.refuse_cut_over_row(table, tenant id): raises TY050 for a
-- statement that reads or writes a cut-over tenant's row of a shared table.
-- Called by the guard policy of the shared tables (row-level security, see
-- tenancy.shared_guard) for each such row the statement reaches, before any
-- constraint or foreign key is checked, and never returns. Runs as the
-- application's role: it reads nothing and changes nothing.
CREATE OR REPLACE FUNCTION tenancy.refuse_cut_over_row(p_table text, p_tenant_id text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'TY050',
        MESSAGE = format('tenant %L is cut over: its rows of shared table %I are served from its schema now',
                         p_tenant_id, p_table),
        DETAIL = 'Every statement on those rows is refused until contract, reads included.',
        HINT = 'Switch this tenant to its schema and retry the transaction: nothing was changed '
               '(tenancy.online_tenants lists the tenants cut over; see docs/online.md).';
END
$fn$;
COMMENT ON FUNCTION tenancy.refuse_cut_over_row(text, text) IS
'Raises TY050: a statement reached a cut-over tenant''s row of a shared table (called by the guard policy).';
