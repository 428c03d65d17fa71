"""Ray for the tests that need it: one local instance (2 CPUs) for the whole session — starting Ray takes ~7 s."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    import ray
    import ray.rllib  # installed by the `ray` extra (ray[rllib]): missing is a failure, not a skip

    # a new local instance, never a running cluster; workers with seeded string hashes, as ray_session starts them
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}},
    )
    yield ray
    ray.shutdown()
