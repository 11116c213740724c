"""The README as a newcomer reads it: order of sections, the two-line quick start that CI
runs, every SQLSTATE documented, and no text about how the project was built."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import psycopg
from psycopg import sql

from runner.cli import build_parser
from runner.manifest import load_manifest, parse_manifest
from runner.states import TenantState
from tests.conftest import Database, Server
from tests.runner.cli.tenancy import tenancy

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _sections() -> list[str]:
    return re.findall(r"^## (.+)$", README, flags=re.M)


def test_sections_come_in_the_order_a_newcomer_needs() -> None:
    wanted = ["Quick start", "The flow", "The CLI", "For DBAs: everything in psql", "Manifest reference", "Errors"]
    sections = _sections()
    assert [s for s in sections if s in wanted] == wanted
    assert README.index("# tenancy\n") == 0 and README.index("## Quick start") < 1500
    assert len(README.splitlines()) <= 300


def test_quick_start_is_two_lines_that_ci_runs() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", quick, flags=re.S)
    assert blocks == ["./scripts/tenancy demo\n./scripts/test\n"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    # The same command, its output kept in a log while PostgreSQL 15's run goes beside it.
    assert any(line.split()[:1] == ["./scripts/test"] for line in ci)


def test_exit_codes_are_documented_in_readme_and_help() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in README.split("## The CLI", 1)[1]
    assert "exit codes:" in build_parser().format_help()


def test_docs_and_help_speak_of_the_product_only() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    texts["--help"] = parser.format_help() + "".join(p.format_help() for p in subparsers.values())
    for name, text in texts.items():
        for phrase in ("the seed", "seed's", "DESIGN.md", "for the lead", "README fragment"):
            assert phrase not in text, (name, phrase)


def test_links_to_existing_docs_resolve() -> None:
    for target in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (REPO / target).is_file(), target


# -- What a new user follows literally ---------------------------------------------------

GLOSSARY = ("registry", "move", "central", "hybrid", "ledger", "syncing", "fence", "cutover", "contract")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_glossary_comes_before_its_words() -> None:
    start = README.index("## Words used here")
    for word in GLOSSARY:
        first = re.search(rf"\b{word}\b", README, flags=re.I)
        assert first is not None and first.start() > start, (
            word,
            README[max(0, first.start() - 60) : first.start() + 20] if first else "",
        )
        assert f"| {word}" in _section("Words used here"), word


def test_your_own_database_walkthrough_runs_literally_to_contract(
    blank_db: Database, pg_server: Server, tmp_path: Path
) -> None:
    """The README's "Your own database", command by command, on a database that is not the sample:
    its schema, the manifest as edited, then every `tenancy` line, each exit 0, up to contract."""
    walk = _section("Your own database")
    (schema,) = _blocks(walk, "sql")
    (edited,) = _blocks(walk, "toml")
    commands = [line.split("#", 1)[0].strip() for block in _blocks(walk, "sh") for line in block.splitlines()]
    commands = [c for c in commands if c]
    assert commands[0] == "tenancy init --from-database"
    assert commands[-2:] == ["tenancy contract --yes", "tenancy history"]
    assert all(c.startswith("tenancy ") for c in commands)
    with blank_db.connect() as conn:
        conn.execute(schema)
        conn.execute("INSERT INTO plans VALUES (1, 'free'), (2, 'team')")
        conn.execute("INSERT INTO accounts VALUES ('acme', 'Acme'), ('globex', 'Globex'), ('initech', 'Initech')")
        conn.execute(
            "INSERT INTO projects (account_id, plan_id, name) "
            "SELECT a.id, 1 + n % 2, a.name || ' project ' || n FROM accounts AS a, generate_series(1, 3) AS n"
        )
        conn.execute(
            "INSERT INTO tasks (account_id, project_id, title, done) "
            "SELECT p.account_id, p.id, 'task ' || n, n % 3 = 0 FROM projects AS p, generate_series(1, 4) AS n"
        )
    # As psql is pointed at a database: libpq's variables only.
    env = {
        "PGHOST": pg_server.host,
        "PGPORT": str(pg_server.port),
        "PGUSER": pg_server.user,
        "PGDATABASE": blank_db.name,
    }
    for command in commands:
        out = tenancy(*shlex.split(command)[1:], env=env, cwd=tmp_path)
        assert out.returncode == 0, (command, out.stdout, out.stderr)
        if command == "tenancy init --from-database":  # it proposes what the README shows
            proposed, shown = load_manifest(tmp_path / "tenancy.toml"), parse_manifest(tomllib.loads(edited))
            for attribute in ("tenant_key", "central_schema", "registry", "move", "central", "hybrid"):
                assert getattr(proposed, attribute) == getattr(shown, attribute), attribute
    with blank_db.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.projects'), to_regclass('public.tasks')").fetchone() == (
            None,
            None,
        )
        for account, projects, tasks in (("acme", 3, 12), ("globex", 3, 12), ("initech", 3, 12)):
            row = conn.execute(
                sql.SQL("SELECT (SELECT count(*) FROM {}), (SELECT count(*) FROM {})").format(
                    sql.Identifier(f"tenant_{account}", "projects"), sql.Identifier(f"tenant_{account}", "tasks")
                )
            ).fetchone()
            assert row == (projects, tasks), account
        states = {r[0] for r in conn.execute("SELECT state FROM tenancy.tenants")}
        assert states == {"contracted"}
        assert conn.execute("SELECT count(*) FROM public.plans").fetchone() == (2,)  # central: stays


def test_readme_tenant_ids_are_the_samples(empty_db: psycopg.Connection) -> None:
    from runner.devtools.sample import build_sample

    ids = set(build_sample(empty_db, tenants=20, rows=2000, seed=42).tenants)
    texts = [README, (REPO / "docs" / "platform-engineers.md").read_text(), (REPO / "Pulumi.dev.yaml").read_text()]
    used = {t for text in texts for t in re.findall(r"\b[a-z]{3}[0-9]{3}\b", text)}
    assert used and used <= ids, sorted(used - ids)


def test_the_cli_table_says_which_verbs_take_which_options() -> None:
    from tests.runner.cli.test_options import verbs

    parsers = verbs()
    table = _section("The CLI").split("| options | verbs |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", table, flags=re.M)
    assert len(rows) == 6
    for flags_cell, verbs_cell in rows:
        flags = re.findall(r"`(--?[a-z-]+)", flags_cell)
        if verbs_cell == "every verb":
            expected = set(parsers)
        elif verbs_cell.startswith("every verb but "):
            expected = set(parsers) - set(verbs_cell.removeprefix("every verb but ").split(" and "))
        else:
            expected = set(verbs_cell.split(", "))
        for flag in flags:
            having = {name for name, p in parsers.items() if flag in p._option_string_actions}
            if flag == "--tenant":  # move and the federation's reads take --tenant alone
                having -= {"move", *(n for n in having if n.startswith("federation "))}
            assert having == expected, (flag, sorted(having ^ expected))


def test_top_level_help_shows_the_whole_flow() -> None:
    flow = build_parser().description or ""
    line = flow.split("flow:", 1)[1].split("database:", 1)[0]
    steps = ["init", "plan", "install", "provision", "migrate --online", "cutover", "validate", "contract"]
    assert [line.index(s) for s in steps] == sorted(line.index(s) for s in steps), line


def test_docs_describe_the_product_as_it_is() -> None:
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), path.name  # no dates
        assert not re.search(r"\bcommits? [0-9a-f]{7,}\b", text), path.name  # no commit hashes
        assert "reported earlier" not in text and "until 20" not in text.lower(), path.name


def test_platform_engineers_have_their_walkthrough() -> None:
    doc = REPO / "docs" / "platform-engineers.md"
    assert doc.is_file() and "pulumi up --policy-pack policies" in doc.read_text()
    for stack in sorted(REPO.glob("Pulumi*.yaml")):
        assert "docs/platform-engineers.md" in stack.read_text(), stack.name
    assert "(docs/platform-engineers.md)" in _section("For platform engineers: `pulumi up`")


def test_the_demo_says_where_it_keeps_its_data() -> None:
    demo = build_parser()._subparsers._group_actions[0].choices["demo"]  # type: ignore[union-attr]
    assert "/var/lib/tenancy/embedded-pg" in demo.format_help()
    assert "/var/lib/tenancy/embedded-pg" in _section("Quick start")


def test_the_states_the_readme_names_are_the_ledgers() -> None:
    [line] = [x for x in README.splitlines() if x.startswith("| ledger |")]
    named = re.findall(r"`([a-z_]+)`", line.split("its state", 1)[1].split(")", 1)[0])
    assert named == [s.value for s in TenantState]
