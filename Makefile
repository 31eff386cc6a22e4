# Thin wrapper over CMake/CTest: `make demo` and `make test` are the README's two commands.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 5
JOBS       ?= $(shell nproc)

.PHONY: all deps build asan fuzz demo test test-fast clean

all: build

deps:
	@tools/setup-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLUAWS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# libFuzzer targets (clang, ASan/UBSan) run FUZZ_SECONDS each from fuzz/corpus; see fuzz/README.md.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUAWS_FUZZ=ON \
	  -DLUAWS_SANITIZE=ON -DLUAWS_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Builds, starts the local cloud and runs the main job on it.
demo: build
	@tools/demo $(BUILD)/luaws

# Every test, in the sanitizer build first and then the release build; ctest's summary closes.
test: build asan fuzz
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
