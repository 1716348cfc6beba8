"""Local-machine tooling, out of the runtime core: what ``sluice up``, the tests and the benchmarks use to run
Sluice on one machine.

- ``kafka``: a real Kafka broker from Maven Central's jars (``sluice broker``)
- ``redis``: a real Redis from Debian's packages, for several gateways' shared limits (``sluice redis``)
- ``debian``: unpacking Debian's packages into the cache, without root
- ``topology``: ``sluice up``, the broker, Redis, worker and gateways as child processes
- ``supervisor``: restarting whichever of those exits
- ``worker_group``: several workers in one consumer group (``--workers N``), and why they need a ClickHouse server
- ``harness``: processes, ports, HTTP and SQL helpers shared by the tests and the benchmarks
- ``logflux_client``: the LogFlux doc's client-side encryption, shared by the tests and the benchmarks

The gateway and the worker never import this package; only the operator's CLI (``sluice.cli``) does
(pyproject.toml's import contracts enforce it).
"""
