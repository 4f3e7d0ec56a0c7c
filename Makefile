# Thin driver over CMake. The two commands a user needs:
#   make demo   - the seed's agent-delegation flow against the embedded reference
#   make test   - every test (plus the ASan+UBSan build when CI=true)
# Both install missing Debian packages when run as root.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
CTEST_ARGS ?=

RUNNER = $(BUILD)/suites/conformance/aauth-conformance

.PHONY: all build demo test evidence test-asan asan deps bench load fuzz fuzz-smoke valgrind clean format help

all: build

help:
	@echo "make demo       run the agent-delegation flow (seed) against the embedded reference"
	@echo "make test       build and run every test (CI=true adds the ASan+UBSan build)"
	@echo "make test-asan  the whole suite under ASan+UBSan"
	@echo "make bench      benchmarks (writes bench/results.json)"
	@echo "make load       load and fault tests of the reference servers (~1-2 min, loopback)"
	@echo "make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 600)"
	@echo "make valgrind   the seed flow under valgrind memcheck"

deps:
	@scripts/deps.sh core

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DAA_WERROR=ON $(CMAKE_ARGS) >/dev/null

# The build log goes to a file so `make demo` shows only the report; on
# failure the log is printed. V=1 shows it live.
build: deps $(BUILD)/CMakeCache.txt
	@if [ -n "$(V)" ]; then cmake --build $(BUILD) -j $(JOBS); \
	else echo "building in $(BUILD)/ (log: $(BUILD)/build.log)"; \
	  cmake --build $(BUILD) -j $(JOBS) >$(BUILD)/build.log 2>&1 || { cat $(BUILD)/build.log; exit 1; }; fi

demo: build
	@$(RUNNER) --suite delegation --seed-report

test:
	@scripts/deps.sh test
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	@$(MAKE) --no-print-directory evidence
	@if [ "$${CI:-}" = "true" ]; then $(MAKE) --no-print-directory test-asan; fi

# What the passing tests proved, printed after `make test`: the
# structured-field corpus count and every fixed-vector check.
evidence:
	@echo; echo "== Structured Field corpus (../shared/vendor/structured-field-tests) =="
	@grep -h "structured-field-tests:" $(BUILD)/Testing/Temporary/LastTest.log 2>/dev/null | tail -n 1 | grep . \
	  || echo "(corpus absent: test_sf_corpus skipped; see its output)"
	@echo; echo "== Fixed vectors (aauth-conformance --suite vectors) =="
	@$(RUNNER) --suite vectors --no-color

$(ASAN_BUILD)/CMakeCache.txt:
	@cmake -S . -B $(ASAN_BUILD) -DAA_WERROR=ON -DAA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	@echo "building in $(ASAN_BUILD)/ (log: $(ASAN_BUILD)/build.log)"
	@cmake --build $(ASAN_BUILD) -j $(JOBS) >$(ASAN_BUILD)/build.log 2>&1 || { cat $(ASAN_BUILD)/build.log; exit 1; }

test-asan:
	@scripts/deps.sh test
	$(MAKE) --no-print-directory asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

BENCH_BUILD ?= build-release
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build BUILD=$(BENCH_BUILD) CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release"
	bench/run.sh $(BENCH_BUILD)

load: build
	@scripts/deps.sh bench
	scripts/load.sh $(BUILD)

FUZZ_SECONDS ?= 600
fuzz:
	@scripts/deps.sh fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DAA_FUZZ=ON -DAA_SANITIZE=ON -DAA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

valgrind: build
	@scripts/deps.sh test
	scripts/valgrind.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
