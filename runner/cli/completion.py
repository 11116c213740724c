"""tenancy completion bash|zsh: a shell completion script generated from the parser itself."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome

SHELLS = ("bash", "zsh")
# Options whose value is a path: the shell completes file names there.
PATH_OPTIONS = ("--manifest", "--report", "--out")


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "completion",
        "Print a shell completion script for tenancy (commands, their options, file names).",
        run,
        details='bash: eval "$(tenancy completion bash)" in ~/.bashrc, or save it as\n'
        "~/.local/share/bash-completion/completions/tenancy.\n"
        'zsh: tenancy completion zsh > "${fpath[1]}/_tenancy" (it uses zsh\'s bashcompinit).',
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> Outcome:
    from runner.cli import build_parser  # the whole parser, this verb included

    script = bash_script(build_parser())
    if args.shell == "zsh":
        script = "#compdef tenancy\nautoload -U +X bashcompinit && bashcompinit\n" + script
    if not args.json:
        print(script, end="")
    return Outcome({"shell": args.shell, "script": script})


def _commands(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command path, its parser) for the parser and every nested verb: "", "migrate", "federation search"."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{path} {name}".strip())


def _words(parser: argparse.ArgumentParser) -> list[str]:
    """What may come next in this command: its verbs, its positional choices, its options."""
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            words += list(action.choices)
        elif not action.option_strings and action.choices:
            words += [str(c) for c in action.choices]
        words += [s for s in action.option_strings if s.startswith("--")]
    return words


def bash_script(parser: argparse.ArgumentParser) -> str:
    commands = list(_commands(parser))
    valued = sorted(
        {s for _, p in commands for a in p._actions if a.option_strings and a.nargs != 0 for s in a.option_strings}
    )
    choices = {
        s: [str(c) for c in a.choices]
        for _, p in commands
        for a in p._actions
        if a.option_strings and a.choices and a.nargs != 0
        for s in a.option_strings
    }
    cases = "\n".join(
        f"        {shlex.quote(path)}) words={shlex.quote(' '.join(_words(p)))} ;;" for path, p in commands
    )
    value_cases = "\n".join(
        [f'        {"|".join(PATH_OPTIONS)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;']
        + [
            f'        {flag}) COMPREPLY=($(compgen -W {shlex.quote(" ".join(c))} -- "$cur")); return ;;'
            for flag, c in sorted(choices.items())
        ]
        + ["        " + "|".join(v for v in valued if v not in PATH_OPTIONS and v not in choices) + ") return ;;"]
    )
    return f"""# tenancy shell completion, generated from its parser by `tenancy completion`.
_tenancy() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local valued=" {" ".join(valued)} "
    local path="" word words i skip=0
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        if ((skip)); then skip=0; continue; fi
        case "$valued" in *" $word "*) skip=1; continue ;; esac
        case "$word" in -*) continue ;; esac
        path="${{path:+$path }}$word"
    done
    case "$prev" in
{value_cases}
    esac
    case "$path" in
{cases}
        *) words="" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _tenancy tenancy
"""
