# MASH Exchange: the two commands a new user needs are `make demo` and `make test`.
.PHONY: setup demo test lint clean

setup:            ## Install Debian packages if missing, the virtualenv and the Kafka jars
	scripts/setup.sh

demo: setup       ## Set everything up and run the main job on embedded defaults
	.venv/bin/mash demo

test:             ## Set everything up and run lint, types and the whole suite (real broker)
	scripts/test.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

clean:            ## Stop the local broker and delete the run folder (keeps the jar cache)
	-.venv/bin/mash broker stop
	rm -rf .mash
