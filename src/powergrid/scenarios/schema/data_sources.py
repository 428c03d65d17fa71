"""Where a scenario's load and PV come from (``data.source``): synthetic, Ausgrid, a table, a CityLearn data set."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from powergrid.scenarios.schema.base import Fraction, NonNeg, Strict


class SyntheticData(Strict):
    source: Literal["synthetic"] = "synthetic"
    cloudiness: Fraction = Field(0.3, description="0 = always clear sky, 1 = very cloudy.")
    load_variability: NonNeg = Field(0.25, description="Std of per-household multiplicative load noise.")


class AusgridData(Strict):
    source: Literal["ausgrid"]
    path: Path = Field(description="Ausgrid Solar Home CSV (relative to the scenario file).")
    customers: list[int] | None = Field(None, description="Customer numbers, in agent order.")
    fill_missing: Literal["error", "previous-day"] = "error"


class TableData(Strict):
    source: Literal["table"]
    path: Path = Field(description="Long-format CSV/Parquet: agent_id, timestamp, load_kw, pv_kw.")
    native_minutes: Literal[15, 30, 60] | None = None


class CityLearnData(Strict):
    """A CityLearn data set: one prosumer per building, devices from its schema, prices and carbon from its files."""

    source: Literal["citylearn"]
    path: Path | None = Field(
        None,
        description="Folder of a CityLearn data set (schema.json and the CSVs it names), relative to the scenario "
        "file; none = the bundled CityLearn Challenge 2022 set (17 homes, one year).",
    )
    buildings: list[str] | None = Field(
        None, min_length=1, description="Building names in agent order (they become the agent ids); default: all."
    )
    start: datetime | None = Field(
        None,
        description="Timestamp of the data's first row (the start of its hour, local time); default: time.start. "
        "The bundled 2022 set starts 2022-07-31T23:00. Rows are checked against this calendar.",
    )


DataConfig = Annotated[SyntheticData | AusgridData | TableData | CityLearnData, Field(discriminator="source")]
