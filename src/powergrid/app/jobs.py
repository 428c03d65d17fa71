"""Simulations started from the dashboard: run in a background thread, with progress the page polls.

A job runs ``compare`` once per seed (the grid-only baseline is always written, for the overlay), so its
run directories appear in the runs folder atomically, exactly as ``heron compare`` writes them.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from powergrid.app.figures import comparison_figure
from powergrid.errors import HeronGridError
from powergrid.runner.compare import BASELINE, compare
from powergrid.scenarios.model import Scenario


@dataclass
class Job:
    """Progress of one dashboard run: ``done``/``total`` engine steps; ``state`` running, done or failed."""

    id: int
    scenario: str
    out: Path
    seeds: list[int]
    controllers: list[str]
    state: str = "running"
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    run_keys: list[str] = field(default_factory=list)  # run directories written, relative to the runs folder

    @property
    def fraction(self) -> float:
        return 1.0 if self.state == "done" else (self.done / self.total if self.total else 0.0)


class JobRunner:
    """Starts and tracks background simulations that write into ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, spec: Scenario, controllers: list[str], seeds: list[int], name: str | None = None) -> Job:
        """Start a job; its folder is ``root/<name or scenario-timestamp>/seed<N>/<controller>``."""
        if not controllers:
            raise HeronGridError("choose at least one controller")
        if not seeds:
            raise HeronGridError("choose at least one seed")
        names = list(dict.fromkeys([BASELINE, *controllers]))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = self.root / (name or f"{spec.name}-{stamp}")
        if folder.exists():
            raise HeronGridError(f"{folder} already exists: choose another run name")
        with self._lock:
            job = Job(next(self._ids), spec.name, folder, list(seeds), names)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, spec), daemon=True, name=f"heron-job-{job.id}").start()
        return job

    def _run(self, job: Job, spec: Scenario) -> None:
        try:
            for k, seed in enumerate(job.seeds):
                seeded = spec.model_copy(update={"seed": seed}, deep=True)
                out = job.out / f"seed{seed}"

                def built(total: int, k: int = k) -> None:
                    job.total = total * len(job.seeds)
                    job.done = k * total

                def advance(n: int) -> None:
                    job.done += n

                job.message = f"seed {seed}: simulating {', '.join(job.controllers)}"
                compare(seeded, job.controllers, out=out, progress=advance, on_built=built, draw=comparison_figure)
                job.run_keys += [(out / c).relative_to(self.root).as_posix() for c in job.controllers]
            job.message = f"done: {len(job.run_keys)} run directories in {job.out}"
            job.state = "done"
        except HeronGridError as exc:  # bad input found while building (e.g. data files): shown on the page
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # an internal error: shown, not swallowed (the thread would die silently)
            job.state, job.message = "failed", f"internal error: {type(exc).__name__}: {exc}"
            raise

    def get(self, job_id: int) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise HeronGridError(f"no dashboard job {job_id}")
            return self._jobs[job_id]
