"""Beyond one machine: a Ray session (local or an existing cluster) and Ray-parallel scenario sweeps."""
