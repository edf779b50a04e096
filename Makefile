# The two set-up commands of the README, plus the benchmark.
#   make demo   install what is missing, build, run the demo (Ctrl-C to stop)
#   make test   install what is missing, build, run every test
#   make cluster  the demo as three instances (PostgreSQL, Redis, HAProxy in front)
#   make package  a Debian package (build-package/tollgate_<version>_amd64.deb)
#   make bench  install what is missing, build (release), run the benchmarks
#   make test-asan  every test on an AddressSanitizer + UBSan build (build-asan)
#   make test-tsan  every test on a ThreadSanitizer build (build-tsan)
#   make fuzz   build the fuzz targets (clang, libFuzzer, ASan+UBSan), run each FUZZ_SECONDS
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: deps build test test-asan test-tsan demo cluster bench fuzz package clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Sanitizer builds: their own build trees, the same ctest cases. Leak checking
# stays on: a leak fails the test that made it.
test-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOLLGATE_SANITIZE=address >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

# TSan: every test (unit, integration, fuzz replays) on a ThreadSanitizer build;
# a race report in any tollgate or tollgate-sim process fails its test.
test-tsan: deps
	@cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOLLGATE_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

demo: build
	@scripts/demo.sh $(BUILD)

cluster: build
	@scripts/cluster.sh $(BUILD)

bench:
	@scripts/install-deps.sh --bench
	@cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/run.sh build-bench

package: deps
	@cmake -S . -B build-package -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-package -j $(JOBS)
	@cd build-package && cpack -G DEB
	@ls build-package/tollgate_*.deb

fuzz:
	@scripts/install-deps.sh --fuzz
	@scripts/fuzz.sh

clean:
	rm -rf $(BUILD) build-bench build-fuzz build-asan build-tsan build-package
