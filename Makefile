# Convenience wrapper around CMake. `make demo` and `make test` are the two
# commands README.md promises work on a fresh Debian 12 machine.
BUILD      ?= build
BUILD_SAN  ?= build-sanitize
BUILD_FUZZ ?= build-fuzz
BUILD_COV  ?= build-coverage
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test test-sanitize fuzz coverage bench-smoke format clean

all: build

deps:
	bash scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

# The interop suite needs socat, curl, ab...: installed here so that
# `make test` runs every test (the suite skips itself when not root).
test: build
	bash scripts/deps.sh --interop
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-sanitize: deps
	bash scripts/deps.sh --interop
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DUTCP_SANITIZE=ON -DUTCP_WERROR=ON >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)
	ctest --test-dir $(BUILD_SAN) --output-on-failure -j $(JOBS)

fuzz:
	bash scripts/deps.sh --fuzz
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUTCP_FUZZ=ON \
	  -DUTCP_BUILD_TESTS=OFF -DUTCP_BUILD_BENCH=OFF >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	bash scripts/fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

coverage:
	bash scripts/deps.sh --coverage
	cmake -S . -B $(BUILD_COV) -DCMAKE_BUILD_TYPE=Debug -DUTCP_COVERAGE=ON >/dev/null
	cmake --build $(BUILD_COV) -j $(JOBS)
	ctest --test-dir $(BUILD_COV) -j $(JOBS) >/dev/null
	gcovr -r . --filter 'src/' $(BUILD_COV)/src

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) $(BUILD_COV)
