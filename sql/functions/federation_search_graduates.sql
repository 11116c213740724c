CREATE OR REPLACE FUNCTION tenancy_federation.search_graduates(
    p_name            text DEFAULT NULL,
    p_graduation_year integer DEFAULT NULL,
    p_course          text DEFAULT NULL,
    p_tenant_ids      text [] DEFAULT NULL,
    p_limit           integer DEFAULT 100
)
RETURNS TABLE (
    tenant_id       text,
    tenant_name     text,
    graduate_id     bigint,
    name            text,
    email           text,
    graduation_year integer,
    course_id       bigint,
    course_code     text,
    course_name     text,
    user_id         bigint
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * Graduates of every tenant (or of p_tenant_ids) in one query: a UNION ALL
 * over the <tenant schema>.graduates tables of the registered tenants that
 * have one (joined to that schema's courses when it has them), filtered by
 *   p_name            case-insensitive substring of the name (taken literally:
 *                     %, _ and \ match themselves),
 *   p_graduation_year equal,
 *   p_course          exact course code (case-insensitive) or substring of
 *                     the course name,
 * each NULL = no filter. The filters are bound parameters ($1..), never part
 * of the statement text; the outer WHERE is pushed into every branch.
 * Returns at most p_limit rows (1..10000) ordered by name, tenant_id,
 * graduate_id (a total order, so pages are stable).
 * Raises TY002 for unknown ids in p_tenant_ids, 22023 for a bad p_limit.
 * Read-only.
 */
DECLARE
    v_branches text;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('tenancy_federation.search_graduates: limit %s is out of range',
                             coalesce(p_limit::text, 'NULL')),
            HINT = 'Pass a limit between 1 and 10000.';
    END IF;

    SELECT string_agg(
        format(
            'SELECT %L::text, %L::text, g.id::bigint, g.name::text, g.email::text,'
            ' g.graduation_year::integer, g.course_id::bigint, %s, g.user_id::bigint'
            ' FROM %I.graduates AS g%s',
            t.tenant_id, t.tenant_name,
            CASE WHEN 'courses' = ANY (t.tables) THEN 'c.code::text, c.name::text'
                ELSE 'NULL::text, NULL::text' END,
            t.schema_name,
            CASE WHEN 'courses' = ANY (t.tables)
                THEN format(' LEFT JOIN %I.courses AS c ON c.id = g.course_id', t.schema_name)
                ELSE '' END
        ),
        E'\nUNION ALL\n' ORDER BY t.tenant_id
    )
    INTO v_branches
    FROM tenancy_federation.tenants(p_tenant_ids, ARRAY['graduates', 'courses']) AS t
    WHERE 'graduates' = ANY (t.tables);

    IF v_branches IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY EXECUTE
        'SELECT f.* FROM (' || v_branches || ') AS f (tenant_id, tenant_name, graduate_id, name,'
        ' email, graduation_year, course_id, course_code, course_name, user_id)'
        ' WHERE ($1::text IS NULL OR f.name ILIKE $1)'
        ' AND ($2::integer IS NULL OR f.graduation_year = $2)'
        ' AND ($3::text IS NULL OR lower(f.course_code) = lower($3) OR f.course_name ILIKE $4)'
        ' ORDER BY f.name, f.tenant_id, f.graduate_id'
        ' LIMIT $5'
    USING tenancy_federation.like_pattern(p_name), p_graduation_year, p_course,
          tenancy_federation.like_pattern(p_course), p_limit;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer) IS
'Graduates across tenant schemas in one query, by name substring, year and course; '
'rows carry tenant id and name; ordered by name, tenant, id; at most p_limit.';
REVOKE ALL ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer)
TO tenancy_federation;
