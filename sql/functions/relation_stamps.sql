-- tenancy.relation_stamps(relation OIDs): the stamp of each relation, a
-- digest of everything about it that decides what code runs when it is read
-- or written, one part per kind of object:
--   relation     kind, owner, access method, persistence, row-level security
--                (enabled, forced), partition bound, typed-table type;
--   columns      name, type, typmod, collation, NOT NULL, identity,
--                generated, dropped, default expression;
--   constraints  name, kind, columns, referenced table and columns, actions,
--                deferrability, validity, expression, exclusion operators;
--   indexes      name, access method, columns, operator classes,
--                collations, options, uniqueness, expressions, predicate;
--   triggers     name, function, events, timing, enabled, arguments, columns,
--                WHEN expression, transition tables;
--   rules        name, event, enabled, INSTEAD, qualification, actions;
--   policies     name, command, permissive, roles, USING, WITH CHECK;
--   statistics   name, columns, kinds, expressions;
--   partitioning strategy, key columns and expressions, operator classes;
-- of the relation and of every partition or inheritance child under it.
-- Expressions are compared as PostgreSQL stores them (node trees holding the
-- OIDs of the functions, operators and sequences they use), so a function
-- called through query_to_xml() in a CHECK, a default pointing at another
-- tenant's sequence or a trigger added by hand all change the stamp, whether
-- or not they left a dependency in pg_depend. A stamp is only compared with
-- one taken of the same relation: OIDs make it meaningless across tables.
-- Returns {"relation": md5, "columns": md5, ...} per relation; no row for an
-- OID that is no relation. Read-only; set-based, one index lookup per catalog
-- and relation.
CREATE OR REPLACE FUNCTION tenancy.relation_stamps(p_relids oid [])
RETURNS TABLE (relid oid, stamp jsonb)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $fn$
    WITH RECURSIVE tree AS (
        SELECT r.id AS top, r.id AS rel, ''::text AS path
        FROM unnest(p_relids) AS r (id)
        UNION ALL
        SELECT t.top, i.inhrelid, t.path || '/' || i.inhrelid
        FROM tree AS t
        JOIN pg_catalog.pg_inherits AS i ON i.inhparent = t.rel
    ),
    parts AS (
        SELECT t.top, t.path,
            concat_ws(':', c.relname, c.relkind, c.relowner, c.relam, c.relpersistence, c.relrowsecurity,
                      c.relforcerowsecurity, c.relispartition, c.reloftype, c.relpartbound::text) AS relation,
            (SELECT string_agg(concat_ws(':', a.attnum, a.attname, a.atttypid, a.atttypmod, a.attcollation,
                                         a.attnotnull, a.attidentity, a.attgenerated, a.attisdropped,
                                         d.adbin::text), ',' ORDER BY a.attnum)
             FROM pg_catalog.pg_attribute AS a
             LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = c.oid AND a.attnum > 0) AS columns,
            (SELECT string_agg(concat_ws(':', k.conname, k.contype, k.conkey::text, k.confrelid, k.confkey::text,
                                         k.confupdtype, k.confdeltype, k.confmatchtype, k.condeferrable,
                                         k.condeferred, k.convalidated, k.conindid, k.conexclop::text,
                                         k.conbin::text), ',' ORDER BY k.conname, k.contype, k.oid)
             FROM pg_catalog.pg_constraint AS k WHERE k.conrelid = c.oid) AS constraints,
            (SELECT string_agg(concat_ws(':', ic.relname, ic.relam, x.indkey::text, x.indclass::text,
                                         x.indcollation::text, x.indoption::text, x.indisunique, x.indisprimary,
                                         x.indisexclusion, x.indimmediate, x.indisvalid, ic.reloptions::text,
                                         x.indexprs::text, x.indpred::text), ',' ORDER BY ic.relname)
             FROM pg_catalog.pg_index AS x
             JOIN pg_catalog.pg_class AS ic ON ic.oid = x.indexrelid
             WHERE x.indrelid = c.oid) AS indexes,
            (SELECT string_agg(concat_ws(':', g.tgname, g.tgfoid, g.tgtype, g.tgenabled, g.tgisinternal,
                                         g.tgconstrrelid, g.tgconstraint, g.tgdeferrable, g.tginitdeferred,
                                         g.tgattr::text, encode(g.tgargs, 'hex'), g.tgqual::text,
                                         g.tgoldtable, g.tgnewtable), ',' ORDER BY g.tgname)
             FROM pg_catalog.pg_trigger AS g WHERE g.tgrelid = c.oid) AS triggers,
            (SELECT string_agg(concat_ws(':', w.rulename, w.ev_type, w.ev_enabled, w.is_instead,
                                         w.ev_qual::text, w.ev_action::text), ',' ORDER BY w.rulename)
             FROM pg_catalog.pg_rewrite AS w WHERE w.ev_class = c.oid) AS rules,
            (SELECT string_agg(concat_ws(':', p.polname, p.polcmd, p.polpermissive, p.polroles::text,
                                         p.polqual::text, p.polwithcheck::text), ',' ORDER BY p.polname)
             FROM pg_catalog.pg_policy AS p WHERE p.polrelid = c.oid) AS policies,
            (SELECT string_agg(concat_ws(':', s.stxname, s.stxkeys::text, s.stxkind::text, s.stxexprs::text),
                               ',' ORDER BY s.stxname)
             FROM pg_catalog.pg_statistic_ext AS s WHERE s.stxrelid = c.oid) AS statistics,
            (SELECT concat_ws(':', pt.partstrat, pt.partattrs::text, pt.partclass::text, pt.partcollation::text,
                              pt.partexprs::text)
             FROM pg_catalog.pg_partitioned_table AS pt WHERE pt.partrelid = c.oid) AS partitioning
        FROM tree AS t
        JOIN pg_catalog.pg_class AS c ON c.oid = t.rel
    )
    SELECT p.top, jsonb_build_object(
        'relation', md5(string_agg(p.path || '=' || p.relation, ';' ORDER BY p.path)),
        'columns', md5(string_agg(p.path || '=' || coalesce(p.columns, ''), ';' ORDER BY p.path)),
        'constraints', md5(string_agg(p.path || '=' || coalesce(p.constraints, ''), ';' ORDER BY p.path)),
        'indexes', md5(string_agg(p.path || '=' || coalesce(p.indexes, ''), ';' ORDER BY p.path)),
        'triggers', md5(string_agg(p.path || '=' || coalesce(p.triggers, ''), ';' ORDER BY p.path)),
        'rules', md5(string_agg(p.path || '=' || coalesce(p.rules, ''), ';' ORDER BY p.path)),
        'policies', md5(string_agg(p.path || '=' || coalesce(p.policies, ''), ';' ORDER BY p.path)),
        'statistics', md5(string_agg(p.path || '=' || coalesce(p.statistics, ''), ';' ORDER BY p.path)),
        'partitioning', md5(string_agg(p.path || '=' || coalesce(p.partitioning, ''), ';' ORDER BY p.path))
    )
    FROM parts AS p
    GROUP BY p.top
$fn$;
COMMENT ON FUNCTION tenancy.relation_stamps(oid []) IS
'Digest per relation (and its partitions) of everything that decides what code runs on access: columns, defaults, '
'constraints, indexes, triggers, rules, policies, statistics, owner, kind.';
-- The federated reads (owned by tenancy_federation_owner) call it, through tenancy.readable_tables.
GRANT EXECUTE ON FUNCTION tenancy.relation_stamps(oid []) TO tenancy_federation_owner;
