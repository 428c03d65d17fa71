"""Build the package's compressed copy of a CityLearn data set (run once by a maintainer; nothing runs it at run time).

    python tools/bundle_citylearn.py SRC_DIR src/powergrid/data/citylearn_2022

Reads ``SRC_DIR/schema.json`` and the CSVs it names and writes, into the target folder: ``schema.json`` (unchanged),
``buildings.parquet`` (long format: building, then every column of the building CSVs the loader uses, values
unchanged as float64; the calendar as int8) and ``grid.parquet`` (``electricity_pricing``, ``carbon_intensity``),
zstd level 19 with dictionaries only for the categorical columns (measured: 0.94 MB instead of 1.4 MB), plus the
data set's ``LICENSE`` (unchanged). ``powergrid.data.citylearn`` reads either layout.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from powergrid.data.citylearn import BUILDING_COLUMNS

CALENDAR = ("month", "hour", "day_type")


def main(src: Path, out: Path) -> None:
    schema = json.loads((src / "schema.json").read_text(encoding="utf-8"))
    frames = []
    for name, building in schema["buildings"].items():
        df = pd.read_csv(src / building["energy_simulation"], usecols=list(BUILDING_COLUMNS))
        frames.append(df.assign(building=name)[["building", *BUILDING_COLUMNS]])
    buildings = pd.concat(frames, ignore_index=True)
    buildings["building"] = buildings["building"].astype("category")
    buildings[list(CALENDAR)] = buildings[list(CALENDAR)].astype("int8")
    first = next(iter(schema["buildings"].values()))
    grid = pd.DataFrame(
        {
            "electricity_pricing": pd.read_csv(src / first["pricing"])["electricity_pricing"],
            "carbon_intensity": pd.read_csv(src / first["carbon_intensity"])["carbon_intensity"],
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(buildings, preserve_index=False),
        out / "buildings.parquet",
        compression="zstd",
        compression_level=19,
        use_dictionary=["building", *CALENDAR],
    )
    pq.write_table(
        pa.Table.from_pandas(grid, preserve_index=False),
        out / "grid.parquet",
        compression="zstd",
        compression_level=19,
        use_dictionary=False,
    )
    shutil.copyfile(src / "schema.json", out / "schema.json")
    shutil.copyfile(src / "LICENSE", out / "LICENSE")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
