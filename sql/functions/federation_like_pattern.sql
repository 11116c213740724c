CREATE OR REPLACE FUNCTION tenancy_federation.like_pattern(p_text text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * The LIKE/ILIKE pattern "contains p_text": p_text with \, % and _ escaped
 * (backslash is LIKE's default escape), wrapped in %. NULL stays NULL, so
 * "no filter" stays recognisable. A user's '50%' matches the text 50%, not
 * every string starting with 50. Pure function.
 */
SELECT '%' || replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$fn$;
COMMENT ON FUNCTION tenancy_federation.like_pattern(text) IS
'Substring pattern for ILIKE with \, % and _ of the input escaped (input taken literally).';
REVOKE ALL ON FUNCTION tenancy_federation.like_pattern(text) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.like_pattern(text) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.like_pattern(text) TO tenancy_federation;
