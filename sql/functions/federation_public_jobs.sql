CREATE OR REPLACE FUNCTION tenancy_federation.public_jobs(
    p_location   text DEFAULT NULL,
    p_job_type   text DEFAULT NULL,
    p_salary_min integer DEFAULT NULL,
    p_limit      integer DEFAULT 100
)
RETURNS TABLE (
    tenant_id   text,
    tenant_name text,
    job_id      bigint,
    title       text,
    location    text,
    job_type    text,
    salary_min  integer,
    salary_max  integer,
    created_at  timestamp
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * Public, active postings of the hybrid table jobs (it stays central with
 * the tenant key, tenancy.toml [hybrid]), with the posting tenant's id and
 * name, filtered by
 *   p_location    case-insensitive substring (taken literally),
 *   p_job_type    equal,
 *   p_salary_min  salary_max >= it (the job can pay at least that much;
 *                 postings without a salary are left out),
 * each NULL = no filter, all bound as parameters. Newest first (created_at,
 * then id), at most p_limit rows (1..10000). Reads <central schema>.jobs and
 * its is_public and status columns (the Alumate names). Raises 22023 for a
 * bad p_limit. Read-only.
 */
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('tenancy_federation.public_jobs: limit %s is out of range',
                             coalesce(p_limit::text, 'NULL')),
            HINT = 'Pass a limit between 1 and 10000.';
    END IF;

    RETURN QUERY EXECUTE format(
        'SELECT j.%1$I::text, %2$s, j.id::bigint, j.title::text, j.location::text,'
        ' j.job_type::text, j.salary_min::integer, j.salary_max::integer, j.created_at::timestamp'
        ' FROM %3$I.jobs AS j'
        ' LEFT JOIN %3$I.%4$I AS r ON r.%5$I::text = j.%1$I::text'
        ' WHERE j.is_public AND j.status = ''active'''
        ' AND ($1::text IS NULL OR j.location ILIKE $1)'
        ' AND ($2::text IS NULL OR j.job_type = $2)'
        ' AND ($3::integer IS NULL OR j.salary_max >= $3)'
        ' ORDER BY j.created_at DESC, j.id DESC'
        ' LIMIT $4',
        v_settings.tenant_key,
        format('coalesce(r.%I::text, j.%I::text)',
               coalesce(v_settings.registry_name_column, v_settings.registry_id_column),
               v_settings.tenant_key),
        v_settings.central_schema,
        v_settings.registry_table,
        v_settings.registry_id_column
    ) USING tenancy_federation.like_pattern(p_location), p_job_type, p_salary_min, p_limit;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.public_jobs(text, text, integer, integer) IS
'Public active jobs of the hybrid jobs table with tenant id and name, by location substring, '
'job type and minimum salary; newest first.';
REVOKE ALL ON FUNCTION tenancy_federation.public_jobs(text, text, integer, integer) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.public_jobs(text, text, integer, integer) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.public_jobs(text, text, integer, integer)
TO tenancy_federation;
