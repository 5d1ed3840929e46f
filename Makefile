# Lathe's front door. Two commands set up a fresh Debian 12 machine:
#   make run    install what is missing, build, start the server on the embedded defaults
#   make test   install what is missing, build (with ASan + UBSan), run every test
# Also: make build (only build), make bench (benchmarks), make clean.

HOST     ?= 127.0.0.1
PORT     ?= 8080
DATA_DIR ?= ./lathe-data
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build build-test run test bench clean

all: build

# Installs only the Debian packages that are missing, so a second run costs nothing.
deps:
	@missing=$$(for p in $$(grep -v '^\s*#' deps/debian.txt); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

build-test: deps
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DLT_SANITIZE=ON >/dev/null
	@cmake --build build-test -j$(JOBS)

run: build
	./build/lathe server --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: build-test
	cd build-test && ctest --output-on-failure -j$(JOBS)

bench: build
	/usr/bin/python3 bench/run.py --lathe ./build/lathe

clean:
	rm -rf build build-test
