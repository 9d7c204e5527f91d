# The two set-up commands of the README:
#   make demo   -- create .venv, install zkmargin, run the demo on built-in data
#   make test   -- create .venv, install zkmargin with test extras (and node tools), run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install install-test node demo verify-demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Installing also builds the native (ahead-of-time) prover kernels: 30-70 s once, with a progress
# display; without them `groth16 prove` would build them on first use.
install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/zkmargin warmup --no-jit

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/zkmargin warmup --no-jit

# snarkjs / circom2 / circomlib / circomlibjs for the interop tests (npm registry).
node:
	@if command -v npm >/dev/null 2>&1; then \
	  [ -d node_modules/snarkjs ] && [ -d node_modules/circomlibjs ] && [ -d node_modules/circom2 ] && [ -d node_modules/solc ] && [ -d node_modules/@ethereumjs/evm ] || \
	  npm install --no-audit --no-fund --silent; \
	else echo "npm not found: interop tests will be skipped"; fi

# The first run also compiles the JIT kernels (minutes) and makes a DEVELOPMENT-ONLY setup.
demo: install
	$(BIN)/zkmargin demo --out out

# Check the demo's proof with the reference verifier (snarkjs, installed from package.json).
verify-demo: node
	@test -f out/proof.json || { echo "no out/proof.json: run \`make demo\` first"; exit 1; }
	node_modules/.bin/snarkjs groth16 verify out/verification_key.json out/public.json out/proof.json

# The real-market backtests read price series from $ZKMARGIN_DATA; by default a `shared/data`
# folder beside the checkout, when there is one (they skip without it).
ZKMARGIN_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export ZKMARGIN_DATA

# Two workers, one test file each at a time; TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2
test: install-test node
	$(BIN)/python -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules build dist *.egg-info algebra/_native out
