# cfsecondary: a CoreDNS with the cfsecondary plugin built in.
#
#   make run    build the custom CoreDNS and start the demo (Corefile.example) on 127.0.0.1:1053
#   make test   vet and run every test with the race detector (needs bind9 and dnsutils)
#   make bench  cfsecondary vs CoreDNS's secondary against a real BIND primary (bench/README.md);
#               small settings: make bench BENCHFLAGS='-runs 1 -records 100000 -zones 300 -duration 3'

GO     ?= go
BINARY ?= coredns

.PHONY: all build run test bench clean

all: build

build:
	$(GO) build -o $(BINARY) ./cmd/coredns

run: build
	./$(BINARY) -conf Corefile.example

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench: build
	$(GO) run ./bench $(BENCHFLAGS)

clean:
	rm -f $(BINARY)
