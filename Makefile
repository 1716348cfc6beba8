# The two commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fuzz fuzz test-unit test-integration bench bench-gateway bench-e2e bench-worker bench-logflux bench-insert-size bench-profound bench-query bench-limiter bench-logstash bench-poison bench-peer bench-steady bench-hot-path bench-capacity bench-search bench-attribute-indexes bench-memory test-faults broker clean

# The worker's hot path (hotpath/) is Rust, built by maturin into the venv; cargo's build
# directory stays out of the repository.
HOTPATH := hotpath/Cargo.toml hotpath/Cargo.lock hotpath/pyproject.toml $(wildcard hotpath/src/*.rs)
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sluice/hotpath-target
# pytest processes of `make test`: each integration module brings its own broker, worker and gateway up,
# mostly waiting on them, so two halve the suite's time on a 2-core machine
TEST_PROCESSES ?= 2

$(STAMP): pyproject.toml sdk/python/pyproject.toml $(HOTPATH)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e 'sdk/python[logflux,zstd]' ./hotpath
	touch $(STAMP)

## run: set up everything and run Sluice (local Kafka + embedded ClickHouse + gateway + worker)
run: $(STAMP)
	$(BIN)/sluice up

## test: the whole suite, against a real Kafka broker and the real ClickHouse engine
test: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/sluice redis fetch >/dev/null
	cd sdk/js && npm ci --silent --no-audit --no-fund && npm test --silent
	if command -v go >/dev/null; then cd sdk/go && go test ./...; else echo "go not installed: sdk/go's tests skipped"; fi
	cd hotpath && PYO3_PYTHON=$(abspath $(BIN)/python) cargo test --quiet
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile -m 'not faults and not serial'
	$(BIN)/python -m pytest -q -m 'serial and not faults'

## test-faults: fault injection under sustained load (worker SIGKILLs, broker kill, poison records)
test-faults: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m pytest -q -s -m faults

## test-fuzz: schemathesis with 100 examples per operation (2,000+ cases), atheris on the decoders for 5 minutes,
## and 2,000 drawn bodies per format holding the hot path to the reference mapping
test-fuzz: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	SLUICE_FUZZ_EXAMPLES=100 SLUICE_ATHERIS_SECONDS=$${SLUICE_ATHERIS_SECONDS:-300} SLUICE_HOT_PATH_EXAMPLES=2000 \
		$(BIN)/python -m pytest -q -s tests/integration/test_openapi_fuzz.py tests/unit/test_fuzz_decoders.py \
		tests/unit/test_hot_path.py tests/unit/test_hot_path_otlp.py tests/unit/test_hot_path_logstash.py

## fuzz: accepted means storable, end to end: every dialect's values at and beyond the tables' bounds through
## the real gateway, broker and engine for 10 minutes (SLUICE_STORABLE_FUZZ_SECONDS)
fuzz: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	SLUICE_STORABLE_FUZZ_SECONDS=$${SLUICE_STORABLE_FUZZ_SECONDS:-600} $(BIN)/python -m pytest -q -s \
		tests/integration/test_storable_fuzz.py

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q -m integration

## bench: the gateway, worker, hot path, end-to-end, LogFlux, peer and memory scenarios, each against ceilings or
## peers measured in the same run; reports (JSON and Markdown) in $(BENCH_OUT), and report.md there: the goals
## (absolute ones also as the ratio they imply against their same-run peer, which decides) and every figure
BENCH_OUT ?= .sluice/bench
bench: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m bench.gateway --json $(BENCH_OUT)/gateway.json --markdown $(BENCH_OUT)/gateway.md
	$(BIN)/python -m bench.worker --json $(BENCH_OUT)/worker.json
	$(BIN)/python -m bench.hot_path --json $(BENCH_OUT)/hot_path.json
	$(BIN)/python -m bench.e2e --json $(BENCH_OUT)/e2e.json
	$(BIN)/python -m bench.logflux --json $(BENCH_OUT)/logflux.json
	$(BIN)/python -m bench.peer --json $(BENCH_OUT)/peer.json
	$(MAKE) --no-print-directory bench-memory
	$(BIN)/python -m bench.capacity --peer $(BENCH_OUT)/peer.json --hot-path $(BENCH_OUT)/hot_path.json --write docs/capacity.md
	$(BIN)/python -m bench.summary $(BENCH_OUT)

## bench-memory: the worker's peak RSS with a backlog of 1,000 records of 1 MiB, against a separate engine (the
## deployed topology: the worker's own memory) and with the engine inside it (make run's one process)
bench-memory: $(STAMP)
	$(BIN)/python -m bench.batching --probes 2 --big-records 1000 --engine process --json $(BENCH_OUT)/memory.json
	$(BIN)/python -m bench.batching --probes 2 --big-records 1000 --engine embedded --json $(BENCH_OUT)/memory_embedded.json

## bench-gateway: HTTP → Kafka acknowledged vs decode-only, kcat and the OpenTelemetry Collector
bench-gateway: $(STAMP)
	$(BIN)/python -m bench.gateway --json $(BENCH_OUT)/gateway.json --markdown $(BENCH_OUT)/gateway.md

## bench-e2e: end-to-end throughput of the local topology against its ceilings
bench-e2e: $(STAMP)
	$(BIN)/python -m bench.e2e --json $(BENCH_OUT)/e2e.json

## bench-steady: one fixed rate (STEADY_RATE records/s) for six 30 s windows back to back, the engine's merges
## included: freshness, the age of the oldest record not yet stored, CPU per record by process, window by window
STEADY_RATE ?= 100000
bench-steady: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m bench.steady --rate $(STEADY_RATE) --json $(BENCH_OUT)/steady.json

## bench-peer: the same records into VictoriaLogs (built from the Go module proxy into the cache) and into Sluice,
## each until the last is queryable: stored rate, accept latency, CPU and disk per record, and the ratios
bench-peer: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m bench.peer --json $(BENCH_OUT)/peer.json

## bench-search: the same generated records (16 systems, a unique rid each) in VictoriaLogs and in Sluice: per-query
## warm medians with the same rows checked, counts and a histogram, disk per record, time until queryable
## (1,000,000 records by default: SEARCH_RECORDS=5000000 for the issue's size)
SEARCH_RECORDS ?= 1000000
bench-search: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m bench.search --records $(SEARCH_RECORDS) --json $(BENCH_OUT)/search.json

## bench-attribute-indexes: what each attribute index costs at insert against what it saves attribute searches
bench-attribute-indexes: $(STAMP)
	$(BIN)/python -m bench.attribute_indexes --json $(BENCH_OUT)/attribute_indexes.json

## bench-worker: the worker stage alone against raw ClickHouse inserts
bench-worker: $(STAMP)
	$(BIN)/python -m bench.worker

## bench-logflux: encrypted entries with a warm key cache, and during a fresh-salt flood
bench-logflux: $(STAMP)
	$(BIN)/python -m bench.logflux --json $(BENCH_OUT)/logflux.json

## bench-insert-size: ClickHouse's CPU per row (merges included) for inserts of 12,500 to 100,000 rows
bench-insert-size: $(STAMP)
	$(BIN)/python -m bench.insert_size --json $(BENCH_OUT)/insert_size.json

## bench-profound: access logs end to end with enrichment, against plain logs
bench-profound: $(STAMP)
	$(BIN)/python -m bench.profound

## bench-query: search latency (p50/p99) over 10 million rows
bench-query: $(STAMP)
	$(BIN)/python -m bench.query

## bench-limiter: gateway throughput with rate limits on vs off, in process and through Redis
bench-limiter: $(STAMP)
	$(BIN)/python -m bench.limiter

## bench-logstash: events/s over TCP json_lines end to end, against HTTP batches of the same events
bench-logstash: $(STAMP)
	$(BIN)/python -m bench.logstash

## bench-hot-path: worker CPU per row by dialect, the hot path (Rust) against the reference mapping, with and without the
## insert, and against the engine mapping and inserting LogTrace's values itself (issue #25's floor, bench/sql_floor.py)
bench-hot-path: $(STAMP)
	$(BIN)/python -m bench.hot_path --json $(BENCH_OUT)/hot_path.json

## bench-capacity: docs/capacity.md's sizing table from the last bench-peer and bench-hot-path reports
bench-capacity: $(STAMP)
	$(BIN)/python -m bench.capacity --peer $(BENCH_OUT)/peer.json --hot-path $(BENCH_OUT)/hot_path.json --write docs/capacity.md

## bench-poison: one tenant floods undecryptable entries while another sends at a fixed rate (containment)
bench-poison: $(STAMP)
	$(BIN)/sluice broker fetch >/dev/null
	$(BIN)/python -m bench.poison --json $(BENCH_OUT)/poison.json

broker: $(STAMP)
	$(BIN)/sluice broker fetch

clean:
	rm -rf $(VENV) .sluice .pytest_cache
