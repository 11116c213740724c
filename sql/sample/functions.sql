-- Helpers for data.sql and tenant_schema.sql, created in pg_temp so that they
-- vanish with the session and never become part of the sample. runner/devtools/sample.py
-- first creates the constants pg_temp.seed(), pg_temp.tenant_count() and
-- pg_temp.user_count() from its arguments.
--
-- Every helper is a one-expression IMMUTABLE SQL function: the planner inlines
-- it and folds the stream's hash to a constant, so a helper call costs what the
-- bare expression costs (millions of calls per build).

-- Determinism: every pseudo-random value is a hash of (seed, stream, n), where n
-- is a row's draw number; never random() or now(). The mask keeps it
-- non-negative so that % gives an index.
CREATE FUNCTION pg_temp.rnd(p_stream text, p_n bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashint8extended(p_n, hashtextextended(p_stream, pg_temp.seed())) & 9223372036854775807 $$;

-- Uniform in [0, 1): thresholds on it give weighted choices.
CREATE FUNCTION pg_temp.unit(p_stream text, p_n bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_temp.rnd(p_stream, p_n) / 9223372036854775808.0::double precision $$;

CREATE FUNCTION pg_temp.pick(p_items text[], p_stream text, p_n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_items[1 + pg_temp.rnd(p_stream, p_n) % cardinality(p_items)] $$;

-- A moment within p_days days after p_from, to the second.
CREATE FUNCTION pg_temp.moment(p_stream text, p_n bigint, p_from timestamp, p_days integer)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_from + (pg_temp.rnd(p_stream, p_n) % (p_days * 86400)) * interval '1 second' $$;

-- Lowercase, as the brand_colors CHECK demands.
CREATE FUNCTION pg_temp.hex_color(p_stream text, p_n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '#' || lpad(to_hex(pg_temp.rnd(p_stream, p_n) % 16777216), 6, '0') $$;

-- Users are laid out by id: 1-2 super-admins, then an institution-admin and a
-- staff member per tenant, then alumni. Ids alone then say who is who.
CREATE FUNCTION pg_temp.first_alumnus() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 2 * pg_temp.tenant_count() + 3 $$;

CREATE FUNCTION pg_temp.alumni_count() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT pg_temp.user_count() - 2 * pg_temp.tenant_count() - 2 $$;

CREATE FUNCTION pg_temp.person_name(p_stream text, p_n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_temp.pick(ARRAY[
               'Alice', 'Bob', 'Carlos', 'Diana', 'Emeka', 'Fatima', 'George', 'Hannah',
               'Ivan', 'Julia', 'Kenji', 'Laura', 'Mohammed', 'Nina', 'Oliver', 'Priya',
               'Quentin', 'Rosa', 'Samuel', 'Tara', 'Umar', 'Valentina', 'William', 'Xinyi',
               'Yusuf', 'Zoe', 'Aiden', 'Beatriz', 'Chen', 'Daniel', 'Elena', 'Farid',
               'Grace', 'Hugo', 'Isabel', 'James', 'Keiko', 'Lucas', 'Maria', 'Noah'
           ], p_stream || '.first', p_n)
        || ' '
        || pg_temp.pick(ARRAY[
               'Johnson', 'Smith', 'Garcia', 'Okafor', 'Khan', 'Wilson', 'Nguyen', 'Müller',
               'Rossi', 'Kowalski', 'Tanaka', 'Silva', 'Brown', 'Martin', 'Patel', 'Kim',
               'Andersson', 'Dubois', 'Haddad', 'Ivanova', 'Lopez', 'Murphy', 'Novak',
               'Osei', 'Papadopoulos', 'Quinn', 'Reyes', 'Schmidt', 'Taylor', 'Usman',
               'Van Dijk', 'Walker', 'Yilmaz', 'Zhang', 'Bianchi', 'Costa', 'Evans',
               'Fischer', 'Hughes', 'Larsen'
           ], p_stream || '.last', p_n)
$$;

CREATE FUNCTION pg_temp.places() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        'Aberdeen', 'Ashford', 'Bayview', 'Bellmont', 'Brookhaven', 'Cedar Falls',
        'Clearwater', 'Crestwood', 'Dunmore', 'Eastbrook', 'Elmridge', 'Fairhaven',
        'Glenwood', 'Granite Bay', 'Greystone', 'Hartfield', 'Highland Park', 'Ironwood',
        'Kingsbridge', 'Lakeshore', 'Lindenhurst', 'Maplewood', 'Marlow', 'Midvale',
        'Northgate', 'Oakridge', 'Old Harbor', 'Pinecrest', 'Port Alder', 'Queensford',
        'Redcliff', 'Riverside', 'Rosedale', 'Saltmarsh', 'Silver Lake', 'Southport',
        'Stonebridge', 'Summerfield', 'Thornbury', 'Valemount', 'Westbury', 'Willowbrook',
        'Windermere', 'Woodhaven', 'Yarrow', 'Zephyr Point', 'Blackwater', 'Coldstream',
        'Danforth', 'Evergreen', 'Foxhollow', 'Goldcrest', 'Harrowgate', 'Juniper Hill',
        'Kestrel Bay', 'Larkspur', 'Meadowvale', 'Newhaven', 'Ormsby', 'Pembrook'
    ]
$$;

-- Courses: name and code prefix at the same index.
CREATE FUNCTION pg_temp.programs() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        'Computer Science', 'Business Administration', 'Nursing', 'Mechanical Engineering',
        'Electrical Engineering', 'Psychology', 'Biology', 'Economics', 'Law',
        'Fine Arts', 'Civil Engineering', 'Education', 'Journalism', 'Mathematics',
        'Chemistry', 'Architecture', 'Data Science', 'History', 'Marketing', 'Public Health'
    ]
$$;

CREATE FUNCTION pg_temp.program_codes() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        'CS', 'BUS', 'NUR', 'ME', 'EE', 'PSY', 'BIO', 'ECO', 'LAW', 'ART',
        'CE', 'EDU', 'JOU', 'MAT', 'CHE', 'ARC', 'DS', 'HIS', 'MKT', 'PH'
    ]
$$;
