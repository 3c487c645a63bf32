"""Everything ecslab shows the user goes through one `UI` object.

Three modes, chosen once:
- ``rich``: a terminal; colours, spinners, live progress bars, tables.
- ``plain``: not a terminal, or `CI` is set; one uncoloured line per event, no cursor tricks.
- ``json``: `--output json`; stdout carries one JSON object per event line and a final
  ``summary`` object, nothing else. Errors are events too.

Every string passes through `_redact`, which masks registered secrets (the database
password) wherever they might appear: messages, tables, JSON fields, error text; in the
forms an error may carry them too (JSON-, XML-, repr- or URL-escaped). Text for a
terminal has its control characters escaped, so a value cannot move the cursor or
change colours.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ecslab.core.errors import EcslabError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

MASK = "********"

_STYLES = {
    "info": "",
    "success": "green",
    "warning": "yellow",
    "error": "bold red",
    "step": "bold cyan",
    "detail": "dim",
}
_PREFIX_PLAIN = {"warning": "warning: ", "error": "error: "}


def choose_mode(output: str, stream: IO[str], env: Mapping[str, str]) -> str:
    """json when asked; plain when not a terminal or under CI; rich otherwise."""
    if output == "json":
        return "json"
    if env.get("CI") or not stream.isatty() or env.get("TERM") == "dumb":
        return "plain"
    return "rich"


@dataclass
class UI:
    """The user interface of one invocation."""

    mode: str = "plain"
    color: bool = True
    debug: bool = False
    assume_yes: bool = False
    interactive: bool = False
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    _secrets: set[str] = field(default_factory=set)
    _console: Console | None = None
    _err_console: Console | None = None

    @classmethod
    def create(
        cls,
        *,
        output: str = "text",
        no_color: bool = False,
        debug: bool = False,
        assume_yes: bool = False,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        stdin: IO[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> UI:
        env = os.environ if env is None else env
        out = out or sys.stdout
        stdin = stdin or sys.stdin
        mode = choose_mode(output, out, env)
        return cls(
            mode=mode,
            color=mode == "rich" and not no_color,
            debug=debug,
            assume_yes=assume_yes,
            interactive=_isatty(stdin) and _isatty(out) and not env.get("CI"),
            out=out,
            err=err or sys.stderr,
            stdin=stdin,
        )

    # -- secrets ---------------------------------------------------------------------

    def register_secret(self, value: str | None) -> None:
        """Mask `value`, and its escaped forms, in everything shown from now on.

        A value shorter than the password minimum is refused before use, never shown, and
        masking it would reveal it by where the masks land ("********er than 8").
        """
        from ecslab.core.config import MIN_PASSWORD_LENGTH

        if value and len(value) >= MIN_PASSWORD_LENGTH:
            self._secrets.update(secret_forms(value))

    def _redact(self, text: str) -> str:
        # Longest first: a form that contains another must be masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def redact(self, text: str) -> str:
        """`text` with every registered secret masked (for text shown outside the UI)."""
        return self._redact(text)

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Mapping):
            return {k: self._redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_value(v) for v in value]
        return value

    # -- consoles --------------------------------------------------------------------

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = self._make_console(self.out)
        return self._console

    @property
    def err_console(self) -> Console:
        if self._err_console is None:
            self._err_console = self._make_console(self.err)
        return self._err_console

    def _make_console(self, stream: IO[str]) -> Console:
        from rich.console import Console

        rich_mode = self.mode == "rich"
        return Console(
            file=stream,
            force_terminal=rich_mode,
            no_color=not self.color,
            highlight=False,
            emoji=False,
            soft_wrap=not rich_mode,
            width=None if rich_mode else 200,
        )

    # -- events ----------------------------------------------------------------------

    def event(self, kind: str, message: str, **fields: Any) -> None:
        """Show one event: a line of text, or one JSON object in json mode."""
        message = self._redact(message)
        if self.mode == "json":
            self._emit_json({"event": kind, "message": message, **fields})
            return
        message = terminal_safe(message)
        if self.mode == "rich":
            from rich.markup import escape

            style = _STYLES.get(kind, "")
            text = escape(message)
            self.console.print(f"[{style}]{text}[/]" if style else text)
            return
        self.out.write(_PREFIX_PLAIN.get(kind, "") + message + "\n")
        self.out.flush()

    def _emit_json(self, obj: Mapping[str, Any]) -> None:
        self.out.write(json.dumps(self._redact_value(obj), default=str) + "\n")
        self.out.flush()

    def info(self, message: str, **fields: Any) -> None:
        self.event("info", message, **fields)

    def success(self, message: str, **fields: Any) -> None:
        self.event("success", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.event("warning", message, **fields)

    def detail(self, message: str, **fields: Any) -> None:
        """A secondary line (a stack event, a build step): dim on a terminal."""
        self.event("detail", message, **fields)

    def step(self, name: str, status: str, message: str, **fields: Any) -> None:
        """A lab step changed state: started, done, already-done, planned, failed."""
        if self.mode == "json":
            self._emit_json(
                {"event": "step", "step": name, "status": status, "message": message, **fields}
            )
            return
        marks = {"done": "✔", "already-done": "✔", "planned": "•", "failed": "✘"}
        mark = marks.get(status, "▶")
        kind = {"failed": "error", "done": "success", "already-done": "success"}.get(status, "step")
        self.event(kind, f"{mark} {name}: {message}")

    def debug_log(self, message: str) -> None:
        """Only with --debug; on stderr so stdout stays clean for JSON."""
        if self.debug:
            self.err.write(self._redact(f"debug: {message}") + "\n")
            self.err.flush()

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        **fields: Any,
    ) -> None:
        """A table; in json mode one event with rows as objects keyed by column."""
        if self.mode == "json":
            keyed = [dict(zip(columns, row, strict=False)) for row in rows]
            self._emit_json({"event": "table", "title": title, "rows": keyed, **fields})
            return
        from rich.table import Table

        table = Table(title=self._redact(title), title_justify="left", box=None)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(terminal_safe(self._redact("" if v is None else str(v))) for v in row))
        if self.mode == "rich":
            self.console.print(table)
            return
        # Piped: no padding at the ends of lines.
        with self.console.capture() as captured:
            self.console.print(table)
        lines = captured.get().splitlines()
        self.out.write("".join(line.rstrip() + "\n" for line in lines))
        self.out.flush()

    def summary(self, status: str, message: str, **fields: Any) -> None:
        """The last thing a command shows. In json mode the final object."""
        if self.mode == "json":
            self._emit_json({"event": "summary", "status": status, "message": message, **fields})
            return
        self.event("success" if status == "ok" else "info", message)

    def error(self, error: EcslabError, exit_code: int) -> None:
        """Report a failure: message and hint on stderr, or an error event in json mode."""
        message = self._redact(error.message)
        hint = self._redact(error.hint) if error.hint else None
        if self.mode != "json":
            message = terminal_safe(message)
            hint = terminal_safe(hint) if hint else None
        if self.mode == "json":
            self._emit_json(
                {
                    "event": "summary",
                    "status": "error",
                    "message": message,
                    "hint": hint,
                    "error": type(error).__name__,
                    "exit_code": exit_code,
                }
            )
            return
        if self.mode == "rich":
            from rich.markup import escape

            self.err_console.print(f"[bold red]Error:[/] {escape(message)}")
            if hint:
                self.err_console.print(f"[yellow]Hint:[/] {escape(hint)}")
            return
        self.err.write(f"Error: {message}\n")
        if hint:
            self.err.write(f"Hint: {hint}\n")
        self.err.flush()

    # -- live work -------------------------------------------------------------------

    @contextmanager
    def status(self, message: str) -> Iterator[StatusLine]:
        """A spinner on a terminal; one line otherwise. `.update()` changes its text."""
        line = StatusLine(self)
        if self.mode == "rich":
            with self.console.status(self._redact(message)) as live:
                line._live = live
                yield line
            return
        self.event("progress", message)
        yield line

    def progress(self) -> Progress:
        """Per-item progress (image layers): bars on a terminal, milestones otherwise."""
        return Progress(self)

    # -- questions -------------------------------------------------------------------

    def confirm(self, question: str, *, flag: str = "--yes") -> bool:
        """Ask yes/no. With --yes: yes. Without a terminal: a usage error naming --yes."""
        if self.assume_yes:
            return True
        if not self.interactive:
            raise UsageError(
                f"{question} needs an answer, but there is no terminal to ask on",
                f"pass {flag} to answer yes",
            )
        self.err.write(f"{question} [y/N]: ")
        self.err.flush()
        answer = self.stdin.readline()
        if not answer:  # end of input: nobody can answer
            raise KeyboardInterrupt
        return answer.strip().lower() in ("y", "yes")

    def prompt_secret(self, label: str, env_var: str) -> str:
        """Ask for a secret without echo; never without a terminal or with --yes."""
        if self.assume_yes or not self.interactive:
            raise UsageError(
                f"{label} is needed and cannot be asked for (no terminal or --yes)",
                f"set {env_var}, or db_password in ecslab.yaml",
            )
        import click

        value = str(click.prompt(label, hide_input=True, err=True))
        self.register_secret(value)
        return value


class StatusLine:
    """The handle `UI.status` yields."""

    def __init__(self, ui: UI) -> None:
        self._ui = ui
        self._live: Any = None
        self._last = ""

    def update(self, message: str) -> None:
        message = self._ui._redact(message)
        if message == self._last:
            return
        self._last = message
        if self._live is not None:
            self._live.update(message)
        else:
            self._ui.event("progress", message)


class Progress:
    """Progress of several items, each with bytes done/total (e.g. image layers)."""

    def __init__(self, ui: UI) -> None:
        self._ui = ui
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._finished: set[str] = set()
        self._started: set[str] = set()

    def __enter__(self) -> Progress:
        if self._ui.mode == "rich":
            from rich.progress import BarColumn, TextColumn, TransferSpeedColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[sent]}"),
                TransferSpeedColumn(),
                console=self._ui.console,
                transient=False,
            )
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def update(self, item: str, description: str, done: int, total: int | None) -> None:
        """Item `item` has `done` of `total` bytes; shown live, or once when it starts.

        Docker's push counter measures the stream it reads, which can outgrow the total it
        announces (3,072 of 593 bytes): past the total, the total is shown as unknown.
        Without a terminal nothing claims a size: the step's summary gives the real ones.
        """
        if total is not None and done > total:
            total = None
        if self._bars is not None:
            sent = f"{done:,}/{total:,} B" if total else f"{done:,} B"
            if item not in self._tasks:
                self._tasks[item] = self._bars.add_task(description, total=total, sent=sent)
            self._bars.update(
                self._tasks[item], completed=done, total=total, description=description, sent=sent
            )
            return
        if item not in self._started:
            self._started.add(item)
            self._ui.event("progress", description, item=item)

    def finish(self, item: str, description: str) -> None:
        """Item `item` completed (size may be unknown)."""
        if self._bars is not None:
            if item in self._tasks:
                task = self._tasks[item]
                done = self._bars.tasks[task].completed
                self._bars.update(
                    task, total=done, completed=done, description=description, sent=""
                )
            return
        if item not in self._finished:
            self._finished.add(item)
            self._ui.event("progress", description, item=item)


def secret_forms(value: str) -> set[str]:
    """`value` as it may appear in text: literal, and escaped by JSON, XML, repr or URLs."""
    import html
    from urllib.parse import quote, quote_plus

    json_form = json.dumps(value)[1:-1]
    forms = {
        value,
        json_form,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(json_form)[1:-1],  # JSON inside a JSON string (an error body quoted)
        html.escape(value, quote=False),
        html.escape(value, quote=True),
        html.escape(value, quote=True).replace("&#x27;", "&apos;"),
        html.escape(value, quote=True).replace("&#x27;", "&#39;"),
        repr(value)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    return {form for form in forms if form}


def terminal_safe(text: str) -> str:
    """`text` with control characters other than newline and tab shown escaped."""
    import unicodedata

    if text.isprintable():
        return text
    return "".join(
        char
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf")
        else f"\\x{ord(char):02x}"
        if ord(char) < 0x100
        else f"\\u{ord(char):04x}"
        for char in text
    )


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
