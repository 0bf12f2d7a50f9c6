"""``loopwright completion bash|zsh|fish``: shell completion written from the parser
itself, so every command, option and choice the parser has is completed and nothing else.
Run ids complete from ``loopwright list``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish")
RUN_ARGS = ("run_id", "run_ids")
"""Positionals that take run ids."""
FILE_OPTIONS = {"--cwd", "--goal-file"}
"""Options that take a path."""


@dataclass
class Option:
    flags: list[str]
    help: str
    takes_value: bool
    choices: list[str]


@dataclass
class Command:
    name: str
    help: str
    options: list[Option] = field(default_factory=list)
    runs: bool = False
    """Its positional takes run ids."""
    words: list[str] = field(default_factory=list)
    """The choices of its positional (``completion SHELL``)."""
    actions: list[Command] = field(default_factory=list)
    """Sub-actions (``ollama pull``, ``config show``)."""


# argparse has no public way to list a parser's actions: its ``_actions`` (stdlib) it is.
def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return found[0] if found else None


def _command(name: str, help: str, parser: argparse.ArgumentParser) -> Command:
    cmd = Command(name, help)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if not action.option_strings:
            cmd.runs = cmd.runs or action.dest in RUN_ARGS
            cmd.words += [str(c) for c in action.choices or []]
            continue
        choices = [str(c) for c in action.choices] if action.choices else []
        cmd.options.append(Option(list(action.option_strings), action.help or "",
                                  action.nargs != 0, choices))  # fmt: skip
    sub = _subparsers(parser)
    if sub is not None:
        helps = {a.dest: a.help or "" for a in sub._choices_actions}
        cmd.actions = [_command(n, helps.get(n, ""), p) for n, p in sub.choices.items()]
    return cmd


def commands_of(parser: argparse.ArgumentParser) -> list[Command]:
    """Every command of ``parser`` with its options, choices and sub-actions."""
    sub = _subparsers(parser)
    assert sub is not None
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    return [_command(name, helps.get(name, ""), p) for name, p in sub.choices.items()]


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    cmds = commands_of(parser)
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](cmds)


RUN_IDS = "loopwright list --limit 100 2>/dev/null | tail -n +2 | cut -c1-25"
"""The newest run ids (25 characters each, under ``list``'s header); no quotes, so it
sits as is in bash's double quotes and fish's single ones."""


def _bash_case(cmd: Command, name: str) -> list[str]:
    """One ``case`` branch: the values of the option just typed, else the options."""
    values = [
        f'        {"|".join(o.flags)}) COMPREPLY=($(compgen -W "{" ".join(o.choices)}" -- "$cur"));'
        " return;;"
        for o in cmd.options
        if o.choices
    ]
    files = [f for o in cmd.options for f in o.flags if f in FILE_OPTIONS]
    if files:
        values.append(f'        {"|".join(files)}) COMPREPLY=($(compgen -f -- "$cur")); return;;')
    flags = [f for o in cmd.options for f in o.flags]
    words = " ".join([*flags, *cmd.words, *(a.name for a in cmd.actions)])
    runs = f" $({RUN_IDS})" if cmd.runs else ""
    return [
        f"    {name})",
        *(['      case "$prev" in', *values, "      esac"] if values else []),
        f'      COMPREPLY=($(compgen -W "{words}{runs}" -- "$cur"));;',
    ]


def bash(cmds: list[Command]) -> str:
    body: list[str] = []
    for cmd in cmds:
        body += _bash_case(cmd, cmd.name)
        for action in cmd.actions:
            body += _bash_case(action, f"{cmd.name}:{action.name}")
    names = " ".join(c.name for c in cmds)
    return "\n".join([
        '# loopwright completion for bash: eval "$(loopwright completion bash)"',
        "_loopwright() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '  if [ "$COMP_CWORD" -eq 1 ]; then',
        f'    COMPREPLY=($(compgen -W "{names}" -- "$cur")); return',
        "  fi",
        '  local cmd="${COMP_WORDS[1]}"',
        '  if [ "$COMP_CWORD" -gt 2 ]; then',
        '    case "${COMP_WORDS[2]}" in -*) ;; *) cmd="$cmd:${COMP_WORDS[2]}";; esac',
        "  fi",
        '  case "$cmd" in',
        *body,
        "  esac",
        "}",
        "complete -F _loopwright loopwright",
        "",
    ])  # fmt: skip


def zsh(cmds: list[Command]) -> str:
    return (
        "#compdef loopwright\n"
        '# loopwright completion for zsh: eval "$(loopwright completion zsh)"\n'
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(cmds)
    )


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_option(condition: str, option: Option) -> str:
    parts = ["complete -c loopwright", f"-n {_fish_quote(condition)}"]
    for flag in option.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if option.takes_value:
        parts.append("-r")
        if option.choices:
            parts.append(f"-f -a {_fish_quote(' '.join(option.choices))}")
        elif not set(option.flags) & FILE_OPTIONS:
            parts.append("-f")
    return " ".join([*parts, f"-d {_fish_quote(option.help[:80])}"])


def fish(cmds: list[Command]) -> str:
    lines = ['# loopwright completion for fish: loopwright completion fish | source',
             "complete -c loopwright -f"]  # fmt: skip
    for cmd in cmds:
        lines.append(f"complete -c loopwright -n __fish_use_subcommand -a {cmd.name} "
                     f"-d {_fish_quote(cmd.help[:80])}")  # fmt: skip
        seen = f"__fish_seen_subcommand_from {cmd.name}"
        lines += [_fish_option(seen, o) for o in cmd.options]
        if cmd.runs:
            lines.append(f"complete -c loopwright -n {_fish_quote(seen)} -f "
                         f"-a '({RUN_IDS})'")  # fmt: skip
        if cmd.words:
            lines.append(f"complete -c loopwright -n {_fish_quote(seen)} -f "
                         f"-a {_fish_quote(' '.join(cmd.words))}")  # fmt: skip
        for action in cmd.actions:
            lines.append(f"complete -c loopwright -n {_fish_quote(seen)} -a {action.name} "
                         f"-d {_fish_quote(action.help[:80])}")  # fmt: skip
            inner = f"{seen}; and __fish_seen_subcommand_from {action.name}"
            lines += [_fish_option(inner, o) for o in action.options]
    return "\n".join([*lines, ""])


def cmd_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .output import out

    out(script(args.shell, parser).rstrip("\n"))
    return 0
