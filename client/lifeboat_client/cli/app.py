"""The ``lifeboat`` command: the click group, options every command takes, exit statuses.

Exit statuses: 0 done; 1 the server refused (its problem's title, status and
detail are printed), could not be reached, or a wait timed out; 2 usage (a bad
option, a file that cannot be read or written: nothing is sent); 3 the job
failed or was cancelled; 130 interrupted (Ctrl-C). Every error is one line on
stderr, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from lifeboat_client import __version__
from lifeboat_client.cli.inputs import InputError
from lifeboat_client.client import Client
from lifeboat_client.config import API_KEY_ENV, DEFAULT_URL, URL_ENV
from lifeboat_client.errors import JobFailed, LifeboatError

EXIT_OK = 0
EXIT_FAILED = 1  # the server refused, or could not be reached, or a wait timed out
EXIT_USAGE = 2  # the command line is wrong or names a file that cannot be used (as click's)
EXIT_JOB_FAILED = 3  # the job ended failed or cancelled
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it)


class Interrupted(Exception):
    """Ctrl-C; the message (the whole line printed) says what became of the work."""


@dataclass
class State:
    """Options of the whole command, which a subcommand's own may override."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    as_json: bool = False

    def client(self) -> Client:
        return Client(self.url, self.api_key or "")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lifeboat")
@click.option("--url", envvar=URL_ENV, default=DEFAULT_URL, show_default=True, help="API base URL")
@click.option("--api-key", envvar=API_KEY_ENV, help=f"API key (default: ${API_KEY_ENV})")
@click.option("--json", "as_json", is_flag=True, help="print JSON (for scripts)")
@click.pass_context
def cli(ctx: click.Context, url: str, api_key: str | None, as_json: bool) -> None:
    """Lifeboat's command line: predictions, jobs, batches, reports, feedback, models.

    Exit statuses: 0 done, 1 server error (or unreachable, or a wait timed out),
    2 usage, 3 job failed or cancelled, 130 interrupted.
    """
    ctx.obj = State(url, api_key, as_json)


def command(group: click.Group, name: str, **kw: Any) -> Callable[[Callable[..., Any]], Any]:
    """A subcommand taking ``--url``, ``--api-key`` and ``--json`` after its arguments too;
    the function gets the merged :class:`State` first."""

    def decorate(f: Callable[..., Any]) -> Any:
        @functools.wraps(f)
        def run(*args: Any, url: str | None, api_key: str | None, as_json: bool, **kwargs: Any):
            parent = click.get_current_context().find_object(State) or State()
            state = State(
                url or parent.url,
                api_key if api_key is not None else parent.api_key,
                as_json or parent.as_json,
            )
            return f(state, *args, **kwargs)

        run = click.option("--json", "as_json", is_flag=True, help="print JSON")(run)
        run = click.option("--api-key", default=None, help=f"API key (${API_KEY_ENV})")(run)
        run = click.option("--url", default=None, help=f"API base URL (${URL_ENV})")(run)
        return group.command(name, **kw)(run)

    return decorate


def main(
    argv: list[str] | None = None,
    *,
    prog_name: str = "lifeboat",
    job_failed_status: int = EXIT_JOB_FAILED,
) -> int:
    """Run the command line; the exit status (never raises, never prints a traceback)."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    try:
        with cli.make_context(prog_name, args) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx:  # `lifeboat jobs` alone
            print(exc.ctx.get_help(), file=sys.stderr)
            return EXIT_USAGE
        return _fail(f"error: {exc.format_message()} (see '{prog_name} --help')", EXIT_USAGE)
    except InputError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE)
    except Interrupted as exc:
        return _fail(str(exc), EXIT_INTERRUPTED)
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail("interrupted", EXIT_INTERRUPTED)
    except JobFailed as exc:
        return _fail(f"error: {exc}", job_failed_status)
    except LifeboatError as exc:
        return _fail(f"error: {exc}", EXIT_FAILED)
    except click.ClickException as exc:
        return _fail(f"error: {exc.format_message()}", exc.exit_code)
    except BrokenPipeError:  # stdout closed early (| head): nothing more to say
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a one-line message, never a traceback
        return _fail(f"error: unexpected {type(exc).__name__}: {exc}", EXIT_FAILED)
    return EXIT_OK


def _fail(message: str, status: int) -> int:
    print(" ".join(message.split("\n")), file=sys.stderr)
    return status
