"""Parts of the scenario schema (``powergrid.scenarios.model`` assembles them into ``Scenario``)."""
