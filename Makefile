# mediagate: `make run` starts the server on the embedded default (SQLite +
# ./data); `make test` runs every test, the PostgreSQL, Redis and MinIO
# backends' included. CI runs `make test` through .ci/run.

GO ?= go

.PHONY: run build test deps services vet fuzz bench clean screenshots

run: deps
	$(GO) run ./cmd/mediagate serve

build: deps
	$(GO) build -o bin/mediagate ./cmd/mediagate

# deps installs what the build needs beyond Go modules (a C compiler for the
# SQLite driver) when it is missing.
deps:
	@bash scripts/deps.sh

# services makes sure what the scale-out backends' tests talk to is there:
# PostgreSQL and Redis running on loopback, and the pinned MinIO built into
# .tools/bin (the tests start it themselves). A service that cannot be had
# fails the run.
services:
	@bash scripts/services.sh
	@bash scripts/minio.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps services vet
	@bash scripts/browser.sh
	MEDIAGATE_REQUIRE_BROWSER=1 $(GO) test -race -count=1 ./...

# screenshots retakes the web UI's screenshots in docs/screenshots (the
# browser test's own run).
screenshots: deps
	@bash scripts/browser.sh
	MEDIAGATE_REQUIRE_BROWSER=1 MEDIAGATE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowser ./web

# fuzz runs each fuzz target for a while (FUZZTIME, default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./urlsign
	$(GO) test -run '^$$' -fuzz '^FuzzSanitizeFilename$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzClientIP$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzEXIFOrientation$$' -fuzztime $(FUZZTIME) ./api
	$(GO) test -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime $(FUZZTIME) ./internal/safedial
	$(GO) test -run '^$$' -fuzz '^FuzzPublic$$' -fuzztime $(FUZZTIME) ./internal/safedial
	$(GO) test -run '^$$' -fuzz '^FuzzAnalyze$$' -fuzztime $(FUZZTIME) ./examples/wavstats

bench: build
	bash bench/run.sh

clean:
	rm -rf bin
