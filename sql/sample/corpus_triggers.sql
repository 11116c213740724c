-- The enabled user triggers of the tables of one schema (not the clones on
-- partitions, which follow their parent's), with their firing mode, so that
-- runner/devtools/corpus.py can switch them off while it generates rows and
-- restore each as it was.
SELECT
    c.relname AS table_name,
    t.tgname AS trigger_name,
    t.tgenabled::text AS mode
FROM pg_trigger AS t
INNER JOIN pg_class AS c ON t.tgrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = %(schema)s AND NOT t.tgisinternal AND t.tgparentid = 0 AND t.tgenabled <> 'D'
ORDER BY c.relname, t.tgname
