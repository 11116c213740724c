-- tenancy.report_progress(...): one NOTICE per step, its DETAIL a JSON object
-- the runner reads for progress bars. Changes nothing.
CREATE OR REPLACE FUNCTION tenancy.report_progress(
    p_tenant_id text,
    p_table text,
    p_step text,
    p_rows bigint DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE NOTICE USING
        MESSAGE = format('tenancy: %s %s%s%s', p_tenant_id, p_step,
                         coalesce(' ' || p_table, ''),
                         CASE WHEN p_rows IS NOT NULL THEN format(' (%s rows)', p_rows) ELSE '' END),
        DETAIL = json_build_object('tenant', p_tenant_id, 'table', p_table, 'step', p_step, 'rows', p_rows)::text;
END
$fn$;
COMMENT ON FUNCTION tenancy.report_progress(text, text, text, bigint) IS
'Progress NOTICE of a migration step; DETAIL holds {"tenant","table","step","rows"} as JSON.';
