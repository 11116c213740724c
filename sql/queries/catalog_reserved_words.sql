-- Keywords that must be quoted as identifiers on this server (rendered SQL
-- quotes only where needed, to stay readable). Used by runner/engine/catalog.py.
SELECT word FROM pg_get_keywords() WHERE catcode != 'U'
