"""Child process of test_ledger_crash: appends blocks until killed, printing the count of committed blocks.

python crash_writer.py RUN_DIR loop     # append 40-trade blocks forever
python crash_writer.py RUN_DIR pause    # commit 3 blocks, then stop inside the 4th block's transaction
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ledger_fixtures import AGENTS, FEE, RUN_SEED, step_trades

from powergrid.ledger import LedgerWriter


class PausingConnection:
    """Wraps the writer's SQLite connection: after inserting a block's trades (before COMMIT) it says so and
    sleeps, so the parent kills the writer mid-transaction."""

    def __init__(self, db) -> None:
        self._db = db

    def execute(self, *args):
        return self._db.execute(*args)

    def executemany(self, *args):
        result = self._db.executemany(*args)
        print("in-transaction", flush=True)
        time.sleep(60)
        return result


def main(folder: Path, mode: str) -> None:
    writer = LedgerWriter(folder, AGENTS, RUN_SEED)
    step = 0
    while True:
        if mode == "pause" and step == 3:
            writer._db = PausingConnection(writer._db)
        t = step_trades(step)
        writer.append_step(t.step, t.sim_time, t.buyer, t.seller, t.kwh, t.price, FEE)
        print(writer.blocks - 1, flush=True)
        step += 1


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
