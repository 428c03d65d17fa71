"""The runner: controllers over scenarios, through the engine.

``powergrid.runner.simulate`` runs one controller (``simulate``); ``powergrid.runner.compare`` runs several on the
same data and seed against the grid-only baseline (``compare``, ``run_controllers``, ``write_comparison``) and
returns their KPI reports; ``powergrid.scaling`` fans sweeps out as Ray tasks. The runner draws nothing: a face
passes ``draw`` when it wants a figure.
"""
