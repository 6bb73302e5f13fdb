# One command per task, the same for people and CI.
.PHONY: up down status demo test test-unit lint bench bench-load bench-rebuild eval-classifier rebuild rebuild-capacity asyncapi

export PYTHONPATH := $(CURDIR):$(CURDIR)/services/intake:$(CURDIR)/services/classifier:$(CURDIR)/services/capacity:$(CURDIR)/services/notifier
PY := .venv/bin/python
comma := ,

up:            ## Kafka, Redis and the four services on this machine
	bash scripts/stack.sh up

down:
	bash scripts/stack.sh down

status:
	bash scripts/stack.sh status

demo:          ## publish the sample OKRs and submit the product brief's stories (after make up)
	bash scripts/bootstrap.sh
	$(PY) scripts/demo.py

test:          ## the whole suite: unit, integration (real Kafka + Redis), end to end; TEST_WORKERS=0 runs it in one process
	bash scripts/bootstrap.sh
	bash scripts/redis.sh install
	bash scripts/kafka.sh jars
	$(PY) -m pytest -q -n $(or $(TEST_WORKERS),3) --dist loadfile

test-unit:     ## the unit tests alone: no broker, no Redis
	bash scripts/bootstrap.sh
	$(PY) -m pytest -q tests/unit

lint:
	bash scripts/bootstrap.sh
	$(PY) -m ruff check .
	$(PY) -m mypy shared services tests scripts bench

bench:         ## figures, not assertions: classifier speed, then the pipeline of the running stack
	bash scripts/stack.sh up >/dev/null
	$(PY) bench/bench_classifier.py
	$(PY) bench/bench_capacity.py
	$(PY) bench/bench_capacity_service.py
	$(PY) bench/bench_capacity_history.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_access.py
	$(PY) bench/bench_flow.py

bench-load:    ## open-loop load on a fresh stack of its own (ports +10000) beside two baselines: RATES=10,25,50 SECONDS=20
	bash scripts/bootstrap.sh
	vegeta="$$(bash bench/load/vegeta.sh)" && $(PY) -m bench.load --vegeta "$$vegeta" \
	  --rates $(or $(RATES),10$(comma)25$(comma)50) --seconds $(or $(SECONDS),20) $(BENCH_LOAD_ARGS)

bench-rebuild: ## rebuild time per service over 10,000 requests' events, on a broker and Redis of its own
	bash scripts/bootstrap.sh
	bash scripts/redis.sh install
	bash scripts/kafka.sh jars
	$(PY) bench/bench_rebuild.py $(ARGS)

eval-classifier:  ## agreement of the classifier with the labelled sets in data/; similarity precision and recall
	bash scripts/bootstrap.sh
	$(PY) scripts/eval_classifier.py
	$(PY) scripts/eval_similarity.py

rebuild:       ## wipe one service's Redis state and replay it from Kafka: make rebuild SERVICE=intake|classifier|capacity|notifier
	bash scripts/bootstrap.sh
	bash scripts/stack.sh rebuild $(SERVICE)

rebuild-capacity:
	$(MAKE) rebuild SERVICE=capacity

asyncapi:      ## regenerate docs/asyncapi.json from shared/events/ and shared/topics.py
	bash scripts/bootstrap.sh
	$(PY) -m shared.observability.asyncapi > docs/asyncapi.json.new && mv docs/asyncapi.json.new docs/asyncapi.json
