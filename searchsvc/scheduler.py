"""Re-indexing on a schedule (APScheduler), in its own process.

`searchsvc serve` starts one scheduler process beside the web workers, whatever their
number; `searchsvc schedule` runs it alone (for an indexer host apart from the web hosts).
Each tick runs the incremental index in a child process (`searchsvc index`), so a crash or
a kill of a run never takes the scheduler down. The index's file lock makes it one run at
a time across every process on the machine; missed ticks coalesce into one; a failed run
is logged with its reason and the next tick tries again. Every run has a time limit
(`index.run_timeout`): past it, its whole process group (the run and its workers) is
killed and the failure recorded, so that a hung run cannot stop indexing for good.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import threading
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from searchsvc.config import Config, ConfigError
from searchsvc.exits import EXIT_BUSY
from searchsvc.index import state
from searchsvc.runs import Main, start_run, supervise

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """`90`, `30s`, `5m`, `1h`, `1d` -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m or float(m[1]) <= 0:
        raise ConfigError(f"schedule.interval: {text!r} is not an interval like '30s', '5m', '1h'")
    return float(m[1]) * _UNITS[m[2] or "s"]


def make_trigger(config: Config) -> Any:
    s = config.schedule
    if s.cron.strip():
        try:
            return CronTrigger.from_crontab(s.cron.strip())
        except ValueError as exc:
            raise ConfigError(f"schedule.cron: {s.cron!r}: {exc}") from None
    return IntervalTrigger(seconds=parse_interval(s.interval))


def run_once(config: Config) -> int:
    """One scheduled run, in a child process. Returns its exit status."""
    log.info("scheduled index run starting")
    try:
        proc = start_run(config)
    except OSError as exc:
        log.error("scheduled index run could not start: %s", exc)
        return -1
    code = supervise(proc, config)
    if code == 0:
        log.info("scheduled index run finished")
    elif code == EXIT_BUSY:
        log.info("scheduled index run skipped: another run holds the index")
    else:
        log.error("scheduled index run failed (exit %s); retrying at the next tick", code)
    return code


def run_forever(config: Config, index_main: Main) -> int:
    """Run the schedule (`schedule.enabled`) and the file watcher (`watch.enabled`) until
    SIGTERM or SIGINT. `index_main`: the command line's entry point, which runs the
    watcher's index runs in children forked from this process (`runs.run_forked`)."""
    try:
        trigger = make_trigger(config)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    config.index.dir.mkdir(parents=True, exist_ok=True)
    scheduler = BlockingScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    stopped = threading.Event()

    def tick() -> None:
        run_once(config)
        _record_next(scheduler, config)

    if config.schedule.enabled:
        scheduler.add_job(tick, trigger, id="index", name="incremental index")

    def stop(signum: int, frame: Any) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stopped.set()
        if scheduler.running:
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    watcher = _start_watcher(config, index_main)
    if config.schedule.enabled:
        desc = config.schedule.cron or f"every {config.schedule.interval}"
        log.info("scheduler started (pid %s): index %s", os.getpid(), desc)
        threading.Timer(0.5, _record_next, args=(scheduler, config)).start()
        scheduler.start()
        state.record_next_run(config.index.dir, None)
    else:
        while not stopped.wait(timeout=1.0):
            pass
    if watcher is not None:
        watcher.stop()
    return 0


def _start_watcher(config: Config, index_main: Main) -> Any:
    """The file watcher, when `watch.enabled` (None when off or when the root cannot be
    watched: the schedule still runs)."""
    if not config.watch.enabled:
        return None
    from searchsvc.watch import Watcher

    watcher = Watcher(config, index_main)
    try:
        watcher.start()
    except OSError as exc:
        log.error(
            "cannot watch %s for changes (%s): the schedule alone re-indexes",
            config.content.root,
            exc,
        )
        return None
    return watcher


def _record_next(scheduler: Any, config: Config) -> None:
    job = scheduler.get_job("index")
    when: dt.datetime | None = job.next_run_time if job else None
    state.record_next_run(config.index.dir, when)
