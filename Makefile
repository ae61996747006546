# dossier - plain Makefile.
#
#   make            the dossier binary and build/libdossier.a (the engine)
#   make deps       install missing Debian packages (root) or print the command
#   make test       deps, the test oracles (npm), build, run every test
#   make asan       the tests again under AddressSanitizer + UBSan
#   make fuzz       each fuzz harness for FUZZ_SECONDS with libFuzzer (clang)
#   make demo       run the reference business on fixtures/
#   make bench      throughput and memory figures (PARTS=serve: the server's only)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
BUILD ?= build
BIN ?= dossier

CC ?= gcc
CFLAGS ?= -O2 -g
PKGS := sqlite3 libcjson libpcre2-8 libcrypto libxml-2.0 gmime-3.0 libmicrohttpd
WARN := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wold-style-definition -Wmissing-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wwrite-strings -Wundef \
	-Wcast-align -Wvla -Wdouble-promotion -Wfloat-conversion \
	-Wimplicit-fallthrough -Wnull-dereference -Wbad-function-cast \
	-Wno-format-truncation
ifdef CI
WARN += -Werror
endif
# Libraries' headers are system headers: their warnings are not ours.
PKG_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhpdf -lm -lpthread
ALL_CFLAGS := $(WARN) -Ipipeline -Istages $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS)

LIB_SRC := $(filter-out pipeline/main.c,$(wildcard pipeline/*.c)) $(wildcard stages/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/*.c tests/stages/*.c tests/golden/*.c)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
# Fuzz harnesses: replayed over their seed corpora in every test run
# (build/tests/fuzz/NAME), fuzzed for real by `make fuzz` (clang, libFuzzer).
FUZZ_SRC := $(filter-out tests/fuzz/driver.c,$(wildcard tests/fuzz/*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

# Debian packages: build dependencies and the tools the tests call.
DEB_PKGS := gcc make pkg-config libsqlite3-dev libcjson-dev libpcre2-dev \
	libssl-dev libhpdf-dev libcriterion-dev libxml2-dev libgmime-3.0-dev \
	poppler-utils fonts-dejavu-core graphviz libmicrohttpd-dev wrk chromium openssl

.PHONY: all deps oracle test asan fuzz fuzzers demo bench install clean unit-tests
.DEFAULT_GOAL := all

all: $(BIN)

$(BIN): $(BUILD)/pipeline/main.o $(BUILD)/libdossier.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/libdossier.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c $(BUILD)/libdossier.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/driver.c $(BUILD)/libdossier.a $(ALL_LDFLAGS) \
		$(PKG_LIBS)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(BUILD)/libdossier.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer,address -o $@ $< $(BUILD)/libdossier.a \
		$(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libdossier.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/libdossier.a $(ALL_LDFLAGS) \
		$(PKG_LIBS) $$(pkg-config --libs criterion)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdossier.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libdossier.a $(ALL_LDFLAGS) $(PKG_LIBS)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
		|| missing="$$missing nodejs npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
		|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	else \
		echo "missing Debian packages; run:"; \
		echo "  sudo apt-get install -y$$missing"; exit 2; \
	fi

# The differential tests' oracles (npm packages, test-only, versions pinned
# by tests/oracle/package-lock.json), installed again when the lock changes.
ORACLE_STAMP := tests/oracle/node_modules/.package-lock.json

oracle: $(ORACLE_STAMP)

$(ORACLE_STAMP): tests/oracle/package.json tests/oracle/package-lock.json | deps
	npm ci --prefix tests/oracle --no-audit --no-fund
	@touch $@

unit-tests: $(TEST_BIN) $(FUZZ_BIN)

fuzzers: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)

# Each harness for FUZZ_SECONDS (default 60) from its seed corpus; new
# finds go to build-fuzz/corpus/NAME, crashes to build-fuzz/.
FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS="-O1 -g -fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer -Wno-unknown-warning-option -Wno-format-nonliteral" \
		LDFLAGS="-fsanitize=address" fuzzers
	@for f in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
		mkdir -p build-fuzz/corpus/$$f; \
		build-fuzz/fuzzers/$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build-fuzz/ \
			build-fuzz/corpus/$$f tests/fuzz/corpus/$$f || exit 1; \
	done

test: deps oracle
	@$(MAKE) --no-print-directory all unit-tests
	@tests/run-tests $(BUILD)

asan: deps oracle
	@$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" BIN=build-asan/dossier all unit-tests
	@DOSSIER_BIN=$(CURDIR)/build-asan/dossier \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-tests build-asan

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@sh bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/dossier

clean:
	rm -rf build build-asan build-fuzz dossier

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
