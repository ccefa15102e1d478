# Syncline's everyday commands. `make demo` and `make test` need nothing but
# this machine's package manager: they install what is missing.
GO ?= go
PKGS := ./...

.PHONY: build test bench demo lint deps clean

build:
	$(GO) build -o bin/syncline ./cmd/syncline

# deps installs the Debian packages of the real servers the tests start.
deps:
	bash .ci/deps

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m -p 2 $(PKGS)

bench: deps
	$(GO) run ./cmd/syncline bench

# demo runs syncline demo until Ctrl-C; run it again to continue. Pass flags
# with DEMO_FLAGS, e.g. make demo DEMO_FLAGS='--rate 100'.
DEMO_FLAGS ?=
demo: deps build
	./bin/syncline demo $(DEMO_FLAGS)

lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
