"""``make run``'s process supervisor: supervisord, one program per process.

Every process (the private Redis when there is one, both workers, beat, the web,
Flower, celery-exporter) is restarted whenever it exits without being asked to,
while the others keep running. One that exits again within ``START_SECONDS``
waits longer before each new start (1 s, 2 s, 3 s …, supervisord's backoff) and
is given up after ``START_RETRIES`` such starts in a row. Ctrl-C (or SIGTERM)
stops everything in order: the web first, then beat, Flower and the exporter,
then the workers (each given its grace period to finish or hand back its tasks),
Redis last.

supervisord was chosen over honcho, which stops every process as soon as one
exits, and over hand-written supervision: it is maintained, restarts with
backoff, stops each process group with its own timeout and keeps a log file per
process (``var/log/<name>.log``), with ``supervisorctl`` to look at or restart one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.settings import Settings

START_SECONDS = 5  # a process that exits sooner than this after starting failed to start
START_RETRIES = 100  # failed starts in a row (each waiting 1 s longer) before giving up
STOP_MARGIN = 5  # seconds past a process's own stop timeout before it is killed
WEB_GRACEFUL_SECONDS = 35  # gunicorn's graceful_timeout (web/gunicorn_conf.py)
OTHER_STOP_SECONDS = 10  # beat, Flower, the exporter and Redis: nothing in flight to wait for
LOG_BYTES = 10 * 1024 * 1024  # a process's log is rotated at this size …
LOG_BACKUPS = 3  # … keeping this many old ones
# start order (stop order is the reverse): Redis, workers, the rest, the web last
PRIORITIES = {"redis": 1, "worker": 10, "reports": 10, "web": 30}
OTHER_PRIORITY = 20


def stop_seconds(name: str, settings: Settings) -> int:
    """Seconds between SIGTERM and SIGKILL for the process ``name``."""
    if name in ("worker", "reports"):  # a worker hands its tasks back before this ends
        return settings.worker_grace_seconds
    if name == "web":
        return WEB_GRACEFUL_SECONDS + STOP_MARGIN
    return OTHER_STOP_SECONDS


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s`` in its values: a literal ``%`` is written ``%%``."""
    return value.replace("%", "%%")


def program_section(name: str, command: str, settings: Settings, root: Path, logs: Path) -> str:
    """The ``[program:name]`` section of one process (``command`` as a shell would split it)."""
    return f"""
[program:{name}]
command={_escape(command)}
directory={root}
priority={PRIORITIES.get(name, OTHER_PRIORITY)}
autostart=true
autorestart=true
startsecs={START_SECONDS}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={stop_seconds(name, settings)}
; SIGTERM to the main process only (a worker's pool children finish their tasks),
; SIGKILL to the whole group if it has not stopped in time
stopasgroup=false
killasgroup=true
redirect_stderr=true
stdout_logfile={logs / f"{name}.log"}
stdout_logfile_maxbytes={LOG_BYTES}
stdout_logfile_backups={LOG_BACKUPS}
"""


def supervisord_config(
    procs: list[tuple[str, str]], settings: Settings, root: Path, var: Path
) -> str:
    """supervisord's configuration for ``procs`` (name, command), its files under ``var``."""
    logs = var / "log"
    head = f"""; written by scripts/run.py at every start: edit scripts/supervision.py instead
[supervisord]
nodaemon=true
directory={root}
logfile={logs / "supervisord.log"}
logfile_maxbytes={LOG_BYTES}
logfile_backups={LOG_BACKUPS}
pidfile={var / "supervisord.pid"}
childlogdir={logs}
loglevel=info

[unix_http_server]
file={var / "supervisor.sock"}
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{var / "supervisor.sock"}
"""
    return head + "".join(program_section(n, c, settings, root, logs) for n, c in procs)


def write_config(procs: list[tuple[str, str]], settings: Settings, root: Path, var: Path) -> Path:
    """Write the configuration to ``var/supervisord.conf`` (and make ``var/log``)."""
    (var / "log").mkdir(parents=True, exist_ok=True)
    path = var / "supervisord.conf"
    path.write_text(supervisord_config(procs, settings, root, var))
    return path


def supervisord_command(config: Path) -> list[str]:
    """supervisord in the foreground with this interpreter."""
    return [sys.executable, "-m", "supervisor.supervisord", "--nodaemon", "-c", str(config)]


def supervisorctl_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config), *args]
