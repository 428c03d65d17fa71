"""Several seeds, a confidence interval, a report for a paper, and the dashboard — from Python.

    python examples/05_seeds_report_dashboard.py [--serve]

Writes `heron compare`-style run directories for three seeds of community-5 under results/example-05/, pools the
seeds per controller (mean ± 95 % Student-t interval, the same aggregation `heron sweep` and the dashboard use),
writes one self-contained HTML report with PNG figures, and with --serve opens the dashboard on those runs
(http://127.0.0.1:8050; the Playback page then shows a confidence band across the seeds).
"""

import sys
from pathlib import Path

from powergrid.analytics import NA
from powergrid.analytics.aggregate import aggregate_kpis
from powergrid.app.figures import comparison_figure
from powergrid.app.report import write_report
from powergrid.runner.compare import write_comparison
from powergrid.scenarios import load_scenario

folder = Path("results/example-05")
controllers = ["truthful-bidder", "mpc"]
reports: dict[str, list] = {c: [] for c in controllers}
for seed in (0, 1, 2):
    spec = load_scenario("community-5", seed=seed)
    out = write_comparison(spec, controllers, folder / f"seed{seed}", overwrite=True, draw=comparison_figure)
    for name in controllers:
        reports[name].append(out[name])

for name, runs in reports.items():
    stats = aggregate_kpis(runs)
    savings = stats["savings"]
    band = "" if isinstance(savings.half_width, NA) else f" ± {savings.half_width:.2f}"
    print(f"{name:>16}: savings {savings.mean:.2f}{band} over {savings.n} seeds (95 % CI)")

html, pngs = write_report([folder / "seed0"])
print(f"report: {html} with {len(pngs)} figures in {html.parent / 'figures'}")

if "--serve" in sys.argv:
    from powergrid.app.server import serve

    serve(folder, host="127.0.0.1", port=8050)
