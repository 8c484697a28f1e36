# Everything runs from a virtual environment inside the checkout, created on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SIMARGS ?=
FUZZARGS ?= --rounds 6000
SYNTHARGS ?=

.PHONY: all help sim tap qemu test bench fuzz verilog lint crosssim synth regs clean distclean

all: sim

## help: this list of targets, and the variables they take
help:
	@awk '/^## [a-z]+:/ { sub(/^## /, ""); at = index($$0, ": "); \
		printf "  make %-10s %s\n", substr($$0, 1, at - 1), substr($$0, at + 2) }' $(MAKEFILE_LIST)
	@echo
	@echo "Variables:"
	@echo "  SIMARGS=...     options for sim, tap and qemu (e.g. SIMARGS='-c \"ping -c 2 10.0.2.2\"';"
	@echo "                  'python -m sim --help' lists them)"
	@echo "  SYNTHARGS=...   options for synth (e.g. '--seed 2', or '--seed 1,2,3' to place once per seed)"
	@echo "  FUZZARGS=...    options for fuzz (default '--rounds 6000'; e.g. '--seed 7 --rounds 500';"
	@echo "                  'python -m sim.fuzz --help' lists them)"
	@echo "  PYTHON=python3  the interpreter the virtual environment is made with"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or newer" >&2; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "error: Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## sim: run the main scenario (bring-up of the simulated e1000), writing build/sim.vcd and build/sim.gtkw
sim: $(STAMP)
	$(PY) -m sim $(SIMARGS)

## tap: the reference commands with the kernel's own ip and ping over the simulated NIC (root)
tap: $(STAMP)
	@[ "$$(id -u)" = 0 ] || { echo "error: make tap needs root (network namespaces, TAP devices): sudo make tap" >&2; exit 1; }
	@command -v ping >/dev/null || { echo "error: ping not found (Debian: apt-get install iputils-ping)" >&2; exit 1; }
	$(PY) -m sim tap $(SIMARGS)

## qemu: the kernel's own e1000.ko under QEMU, with the Amaranth core as its NIC (apt-get; QEMU)
qemu: $(STAMP)
	$(PY) -m sim qemu $(SIMARGS)

## test: run the test suite
test: $(STAMP)
	$(PY) -m pytest -n 2 -q

## verilog: write the core's Verilog to build/e1000.v
verilog: $(STAMP)
	$(PY) -m hw.export -o build/e1000.v

# Verilator's warnings that come from Amaranth's generated Verilog, waived by name: WIDTH
# (operands widened or truncated on purpose) and CASEINCOMPLETE (cases with no default branch
# where the generator has already assigned the default). Any other warning fails.
LINT_WAIVERS := -Wno-WIDTH -Wno-CASEINCOMPLETE

## lint: Verilator's linter on the exported Verilog
lint: verilog
	@command -v verilator >/dev/null || { echo "error: verilator not found (Debian: apt-get install verilator)" >&2; exit 1; }
	verilator --lint-only $(LINT_WAIVERS) --top-module e1000 build/e1000.v
	@echo "lint: clean"

## crosssim: the exported Verilog under Icarus Verilog and Verilator, cycle by cycle against Amaranth
crosssim: $(STAMP)
	$(PY) -m sim.crosssim

## synth: synthesize, place and route for an ECP5-25F and report resources and Fmax
synth: $(STAMP)
	$(PY) -m pip install --quiet -e '.[synth,plot]'
	$(PY) -m hw.synth $(SYNTHARGS)

## regs: regenerate docs/registers.md from the register map
regs: $(STAMP)
	$(PY) -m hw.regmap > docs/registers.md

## clean: remove build/ (waveforms, captures, reports, the guest's files) and the test cache
clean:
	rm -rf build .pytest_cache

# Compiled models and the prompt's history live in the user's cache folder (sim/paths.py).
CACHE_DIR = $(or $(E1000_COSIM_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/e1000-cosim)

## distclean: clean, and remove the virtual environment and the compiled models' cache
distclean: clean
	rm -rf $(VENV) *.egg-info "$(CACHE_DIR)"

## bench: line rate in simulated time, simulator speed, make sim wall time (build/bench.json)
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[plot]'
	$(PY) -m sim.benchmark

## fuzz: the long fault campaign: hostile traffic and rings, resets, cable pulls (build/fuzz.json)
fuzz: $(STAMP)
	$(PY) -m sim.fuzz $(FUZZARGS)
