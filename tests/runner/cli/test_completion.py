"""tenancy completion: a script generated from the parser completes verbs, options and values in bash."""

from __future__ import annotations

import subprocess

from tests.runner.cli.tenancy import tenancy


def _complete(script: str, line: str) -> list[str]:
    """What the completion function offers for the last word of `line` (as bash splits it)."""
    words = line.split(" ")
    probe = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_tenancy; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_bash_completion_offers_what_the_parser_takes() -> None:
    out = tenancy("completion", "bash")
    assert out.returncode == 0 and out.stdout.startswith("# tenancy shell completion")
    script = out.stdout
    assert "migrate" in _complete(script, "tenancy mi") and "history" in _complete(script, "tenancy hi")
    assert _complete(script, "tenancy migrate --ex") == ["--exclude"]
    assert set(_complete(script, "tenancy migrate --d")) == {"--dsn", "--dry-run"}
    # A value is not taken for a verb: after `--tenant ID` the options of migrate still come.
    assert "--online" in _complete(script, "tenancy migrate --tenant blp818 --o")
    assert _complete(script, "tenancy federation s") == ["search"]
    assert "--year" in _complete(script, "tenancy federation search --y")
    assert _complete(script, "tenancy bench-online --cutover a") == ["all"]
    assert {"bash", "zsh"} <= set(_complete(script, "tenancy completion "))


def test_zsh_completion_is_the_bash_one_through_bashcompinit() -> None:
    zsh = tenancy("completion", "zsh").stdout
    assert (
        zsh == "#compdef tenancy\nautoload -U +X bashcompinit && bashcompinit\n" + tenancy("completion", "bash").stdout
    )
