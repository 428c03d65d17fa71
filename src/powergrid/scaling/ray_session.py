"""One way to get a Ray runtime: connect to an existing cluster (``--address``) or start a local instance.

An unreachable address is reported at once (a TCP probe with a short timeout) instead of Ray's own minute of
retries; a missing ``ray`` installation names the extra to install.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

from powergrid.errors import HeronGridError

#: Seconds the TCP probe of ``--address`` waits before reporting the cluster unreachable.
PROBE_TIMEOUT = 5.0


def require_ray() -> None:
    """Raise a HeronGridError naming the `ray` extra when ray[rllib] is not installed."""
    try:
        import ray
        import ray.rllib  # noqa: F401
    except ImportError:
        raise HeronGridError(
            "Ray is not installed: the rllib backend and sweeps on Ray need the `ray` extra: "
            "pip install 'heron-grid[ray]' (make install does)"
        ) from None


def _host_port(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``ray://HOST:PORT`` → (host, port); anything else is an error naming the option."""
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise HeronGridError(
            f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:PORT (Ray Client, "
            "port 10001) or 'auto'"
        )
    return host, int(port)


def check_reachable(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Raise a HeronGridError unless something accepts TCP connections at ``address`` within ``timeout`` s."""
    if address == "auto":
        return
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise HeronGridError(
            f"--address {address}: no Ray cluster reachable at {host}:{port} ({err.strerror or err}); start one "
            "with `ray start --head` there, or omit --address to start a local Ray instance"
        ) from None


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Use the running Ray runtime if there is one (e.g. a notebook's or a test session's); else connect to
    ``address`` (``"auto"``: the cluster this machine belongs to) or start a new local instance (``num_cpus`` CPUs,
    default: all; never silently a cluster left running on this machine), and shut it down afterwards.
    ``address`` is checked to be reachable in either case."""
    require_ray()
    import ray

    if address is not None:
        check_reachable(address)
    if ray.is_initialized():
        yield
        return
    # RLlib iterates over sets of agent ids, whose order follows each process's string-hash seed: fix it for
    # the workers (this process's own seed can only be fixed before it starts: PYTHONHASHSEED=0 heron …).
    env = {"env_vars": {"PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}}
    if address is not None:
        kwargs: dict = {"address": address, "runtime_env": env}
    else:
        kwargs = {
            "address": "local",
            "num_cpus": num_cpus,
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": env,
        }
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError) as err:
        if address is None:
            raise
        raise HeronGridError(
            f"--address {address}: could not connect to the Ray cluster ({err}). Ray 2.60 clusters use token "
            "authentication by default: set RAY_AUTH_MODE=token here, with the cluster's token in "
            "~/.ray/auth_token or RAY_AUTH_TOKEN"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()
