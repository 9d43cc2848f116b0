# cfsecondary: a CoreDNS with the cfsecondary plugin built in.
#
#   make run    build the custom CoreDNS and start the demo (Corefile.example) on 127.0.0.1:1053
#   make test   vet and run every test with the race detector (needs bind9 and dnsutils)
#   make bench  Go benchmarks of the lookup path

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./zone/

clean:
	rm -f $(BINARY)
