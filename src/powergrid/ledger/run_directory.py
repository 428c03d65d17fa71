"""The file names of a run directory, in one leaf module (it imports nothing).

A run directory (``powergrid.analytics.results``) holds ``scenario.yaml``, ``run.json``, ``agents.parquet``,
``timeseries.parquet``, ``trades.parquet``, ``network.parquet`` (with a feeder), ``kpis.json``, the marker file and,
when the scenario keeps a ledger, ``ledger.sqlite`` and ``keys/``; a comparison folder adds ``comparison.csv`` and
``comparison.png``. The names live here, in the ledger (the lowest part that writes into a run directory), so the
ledger, analytics (the results writer and reader, the ledger-against-results check), the runner and the faces all
import them from one place and no import points upwards.
"""

#: Per agent per step (``powergrid.analytics.results.SERIES_COLUMNS``).
TIMESERIES = "timeseries.parquet"
#: One row per matched trade: step, buyer, seller, kWh, price.
TRADES = "trades.parquet"
#: Per step network results (voltages, loadings), with a feeder only.
NETWORK = "network.parquet"
#: The run's KPIs (``KPIReport.to_json``).
KPIS = "kpis.json"
#: The resolved scenario.
SCENARIO = "scenario.yaml"
#: Per-agent facts (``powergrid.analytics.results.AGENT_FACTS``).
AGENTS = "agents.parquet"
#: What the run was: controller, seed, mechanism, feeder, package and format version.
RUN = "run.json"
#: Marker file in every output directory heron-grid writes; ``--overwrite`` replaces only directories that have it.
MARKER = ".heron-output"
#: The signed, hash-chained trade ledger (SQLite).
LEDGER_FILE = "ledger.sqlite"
#: The folder of the ledger's simulation keys, and its two files.
KEYS_DIR = "keys"
PRIVATE_KEYS = "private_keys.json"
PUBLIC_KEYS = "public_keys.json"
#: A comparison folder's KPI table (one row per controller) and figure (drawn by a face).
COMPARISON_CSV = "comparison.csv"
COMPARISON_PNG = "comparison.png"
