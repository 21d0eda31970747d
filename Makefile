# bcci-gateway — build, run, test, bench.
#
#   make run     install missing Debian packages, build, start the demo system
#   make test    install missing Debian packages, build with ASan+UBSan, run every test
#   make bench   build optimised, print throughput beside same-run baselines
#   make lint    clang-tidy (.clang-tidy) over every C file, the analyzer unbounded; minutes, so not part
#                of make test, which runs lint-fast (the same checks, the analyzer on a node budget)
#
# Modes change SANITIZER or OPT, never CFLAGS on the command line.

SANITIZER ?=
OPT       ?= -O2 -g
PREFIX    ?= /usr/local
DESTDIR   ?=

PKGS := libmicrohttpd libzmq jansson libcurl sqlite3 libpq libqrencode cairo pangocairo libutf8proc openssl xlsxwriter
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZER),address)
  BUILD    := build/san
  SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT      := -O1 -g
  MALLOC_LIBS :=
else
  BUILD    := build/rel
  SAN_FLAGS :=
  # jemalloc: glibc's malloc spent ~14% of bccid's CPU at intake (free-list consolidation,
  # arena locks across the HTTP threads and the writer); never under the sanitizers, which
  # bring their own allocator. Valgrind is told of it (--soname-synonyms, make valgrind).
  MALLOC_LIBS := -ljemalloc
endif

CC      ?= cc
WARN    := -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Werror
DEFS    := -D_GNU_SOURCE -DBCCI_VERSION=\"0.1.0\"
INCS    := -I. -Icommon
ALL_CFLAGS  = $(WARN) $(OPT) $(SAN_FLAGS) $(DEFS) $(INCS) $(PKG_CFLAGS) -MMD -MP -pthread
ALL_LDFLAGS = $(SAN_FLAGS) -pthread
LIBS    = $(PKG_LIBS) -lm $(MALLOC_LIBS)

# Library code: every .c under these folders except program mains (*_main.c) and the simulator.
LIB_DIRS := common domain labels carriers queues gateway
LIB_SRC := $(filter-out %_main.c carriers/sim/%,$(shell find $(LIB_DIRS) -name '*.c' | LC_ALL=C sort))
SIM_SRC := $(filter-out %_main.c,$(wildcard carriers/sim/*.c))
# The clerk page's HTML, JS and CSS are embedded as C strings by a rule, rebuilt when one is edited.
PAGE_ASSETS := gateway/pages/clerk.html gateway/pages/clerk.js gateway/pages/clerk.css
GEN_SRC := $(BUILD)/gen/pages_clerk.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/pages_clerk.o
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/%.o)
LIBA    := $(BUILD)/libbcci.a

BINDIR  := $(BUILD)/bin
PROGS   := $(BINDIR)/bccid $(BINDIR)/bcci-worker $(BINDIR)/bcci-carrier-sim $(BINDIR)/bcci

# tests/unit mirrors the source tree (tests/unit/<folder>/<module>_test.c); each binary is
# $(BUILD)/tests/<module>_test.
UNIT_SRC  := $(shell find tests/unit -name '*_test.c' -not -path 'tests/unit/support/*' | LC_ALL=C sort)
UNIT_BINS := $(foreach t,$(UNIT_SRC),$(BUILD)/tests/$(notdir $(t:.c=)))
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/support/*.c))

# test tools: programs the integration tests drive (tests/tools/NAME.c -> $(BUILD)/tests/NAME), never installed
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)

BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run test test-unit test-integration test-browser test-labels label-pictures fuzz-smoke bench clean install valgrind fuzz test-faults check-layers clean-objects format format-check

all: $(PROGS)
	@mkdir -p bin && cp -f $(PROGS) bin/

# deps: install whatever Debian packages are missing (sudo only when not root).
# Build: compilers and -dev libraries. Tests: decoders for labels (zbar, poppler, xmllint),
# clang's libFuzzer, promtool, Chromium for the browser tests; Node.js and npm only when the
# machine has no node at all (the browser and OpenAPI tests pin their npm packages).
DEB_PKGS := build-essential pkg-config libcurl4-openssl-dev libjansson-dev libqrencode-dev libzmq3-dev \
            libsqlite3-dev libpq-dev postgresql libmicrohttpd-dev libssl-dev libcmocka-dev libcairo2-dev libpango1.0-dev \
            libutf8proc-dev fonts-dejavu-core sqlite3 curl python3 zbar-tools poppler-utils libxml2-utils \
            clang clang-tidy libclang-rt-14-dev valgrind prometheus chromium wrk python3-yaml python3-jsonschema \
            python3-aiosmtpd \
            librsvg2-bin qpdf libxlsxwriter-dev libjemalloc-dev
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi

# Changing the compiler or its flags rebuilds everything: the flags are kept in a file whose
# content changes only when they do, and every object depends on it.
FLAGS_FILE := $(BUILD)/.flags
FLAGS_NOW  := $(CC) $(ALL_CFLAGS)
$(shell mkdir -p $(BUILD) && (test -f $(FLAGS_FILE) && test "$$(cat $(FLAGS_FILE))" = '$(FLAGS_NOW)' || printf '%s' '$(FLAGS_NOW)' > $(FLAGS_FILE)))

$(BUILD)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(GEN_SRC): $(PAGE_ASSETS) gateway/pages/embed.py
	@mkdir -p $(dir $@)
	@echo "  EMBED $@"
	@python3 gateway/pages/embed.py $@

$(BUILD)/gen/pages_clerk.o: $(GEN_SRC) $(FLAGS_FILE)
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

# The built-in administrative units (domain/admin_units.c): a C table generated from the data file,
# rebuilt when the file or its generator changes.
ADMIN_TABLE := $(BUILD)/gen/admin_units_table.h
$(ADMIN_TABLE): data/vn-admin-units.tsv domain/gen_admin_units.py
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	@python3 domain/gen_admin_units.py data/vn-admin-units.tsv $@
$(BUILD)/domain/admin_units.o: $(ADMIN_TABLE)
$(BUILD)/domain/admin_units.o: INCS += -I$(BUILD)/gen

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(BINDIR)/bccid: $(BUILD)/gateway/bccid_main.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/bcci: $(BUILD)/gateway/cli/bcci_main.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/bcci-worker: $(BUILD)/queues/worker_main.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/bcci-carrier-sim: $(BUILD)/carriers/sim/sim_main.o $(SIM_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

define unit_test_rule
$(BUILD)/tests/$(notdir $(1:.c=)): $(BUILD)/$(1:.c=.o) $(TEST_SUPPORT_OBJ) $(LIBA)
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	@$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS) -lcmocka
endef
# the simulator is not in the library: its own tests (tests/unit/carriers/sim/) link its objects
# instead of the test support, which has a process-level stand-in for some of its functions
SIM_UNIT_SRC := $(filter tests/unit/carriers/sim/%,$(UNIT_SRC))
define sim_unit_test_rule
$(BUILD)/tests/$(notdir $(1:.c=)): $(BUILD)/$(1:.c=.o) $(SIM_OBJ) $(LIBA)
	@mkdir -p $$(dir $$@)
	@echo "  LD    $$@"
	@$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS) -lcmocka
endef
$(foreach t,$(filter-out $(SIM_UNIT_SRC),$(UNIT_SRC)),$(eval $(call unit_test_rule,$(t))))
$(foreach t,$(SIM_UNIT_SRC),$(eval $(call sim_unit_test_rule,$(t))))

$(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

build-progs: $(PROGS)
build-units: $(UNIT_BINS) $(TOOL_BINS)
# the storage ceiling once more with glibc's malloc: the figures before bccid moved to jemalloc
# were measured against it (make bench prints both)
$(BUILD)/bench/sqlite_baseline_libc: $(BUILD)/bench/sqlite_baseline.o $(LIBA)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build-bench: $(BENCH_BINS) $(PROGS) $(if $(MALLOC_LIBS),$(BUILD)/bench/sqlite_baseline_libc)

run: deps
	@$(MAKE) --no-print-directory all
	@python3 tests/run_demo.py --bin bin --http-port $(or $(HTTP_PORT),8080) --sim-port $(or $(SIM_PORT),9090)

# The test target builds the ASan+UBSan variant and runs unit then integration tests: everything
# on SQLite, then the store's unit tests and the core integration modules again on a PostgreSQL
# started for the run (tests/pg/pg_server.py). BCCI_TEST_STORE=sqlite skips the second part;
# BCCI_TEST_STORE=postgresql runs only it.
TEST_STORE := $(or $(BCCI_TEST_STORE),both)
test: deps
	@$(MAKE) --no-print-directory check-layers check-alerts lint-fast
	@$(MAKE) --no-print-directory SANITIZER=address build-progs build-units
	@if [ "$(TEST_STORE)" != postgresql ]; then \
	  BCCI_TEST_STORE=sqlite $(MAKE) --no-print-directory SANITIZER=address test-unit test-integration test-browser \
	    test-labels && $(MAKE) --no-print-directory fuzz-smoke; fi
	@if [ "$(TEST_STORE)" != sqlite ]; then $(MAKE) --no-print-directory SANITIZER=address test-postgresql; fi

# test-postgresql: the store's unit tests and the core integration modules on PostgreSQL, one
# server for all of them (an already running one when BCCI_TEST_PG_URI names it)
PG_UNIT_BINS := $(foreach t,$(filter tests/unit/gateway/store/%,$(UNIT_SRC)),$(BUILD)/tests/$(notdir $(t:.c=)))
# test_faults: what the store decides (SIGKILL, SIGTERM, exactly once under carrier faults); the
# SQLite file's own faults are SQLite's, the breaker and the worker faults do not touch the store,
# and the overload test is a throughput one (make bench measures PostgreSQL)
PG_INTEGRATION := test_return_flow.py test_faults.GatewayKillTest test_faults.GracefulStopTest \
                  test_faults.CarrierFaultTest.test_mixed_faults_deliver_exactly_once test_security.py \
                  test_labels_api.py test_lifecycle.LegsTest test_pg_outage.py test_clerk_api.py test_ha.py
.PHONY: test-postgresql test-unit-pg test-integration-pg
test-postgresql:
	@if [ -n "$$BCCI_TEST_PG_URI" ]; then $(MAKE) --no-print-directory test-unit-pg test-integration-pg; \
	else python3 tests/pg/pg_server.py run -- $(MAKE) --no-print-directory test-unit-pg test-integration-pg; fi
test-unit-pg:
	@set -e; for t in $(PG_UNIT_BINS); do echo "== $$t (postgresql)"; BCCI_TEST_STORE=postgresql \
	  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 $$t; done
test-integration-pg:
	@BCCI_TEST_JOBS=$(TEST_JOBS) BCCI_TEST_STORE=postgresql BCCI_BIN=$(CURDIR)/$(BINDIR) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  python3 tests/integration/run_all.py $(PG_INTEGRATION)

# check-alerts: the shipped Prometheus alert rules parse and pass their unit tests
.PHONY: check-alerts
check-alerts:
	@cd dist/prometheus && promtool check rules bcci-alerts.yml && promtool test rules bcci-alerts.test.yml

# check-layers: SQL only in the store's SQLite backend, no folder including one above it
check-layers:
	@python3 tests/layers/test_check_layers.py -q
	@python3 tests/layers/check_layers.py

# lint: clang-tidy with the checks of .clang-tidy over every C file of the programs and the
# library, with the build's defines and include paths. It takes several minutes on 2 cores,
# so it is a target of its own; make test runs lint-fast below.
LINT_SRC := $(LIB_SRC) $(SIM_SRC) $(sort $(wildcard gateway/*_main.c gateway/cli/*_main.c queues/*_main.c \
            carriers/sim/*_main.c))
LINT_FLAGS := -std=c11 $(DEFS) $(INCS) -I$(BUILD)/gen $(PKG_CFLAGS)
.PHONY: lint
lint: $(ADMIN_TABLE)
	@command -v clang-tidy >/dev/null || { echo "lint: clang-tidy is needed (apt-get install clang-tidy)"; exit 1; }
	@mkdir -p $(BUILD)
	@printf '%s\n' $(LINT_SRC) | xargs -P2 -n8 sh -c 'clang-tidy --quiet "$$@" -- $(LINT_FLAGS)' lint 2>/dev/null | \
	  grep -E 'warning:|error:' -A3 > $(BUILD)/lint.log; \
	  if [ -s $(BUILD)/lint.log ]; then cat $(BUILD)/lint.log; echo "lint: findings above"; exit 1; fi; \
	  echo "lint: clean ($(words $(LINT_SRC)) files)"

# lint-fast: the check of make test, well under two minutes on two cores over the whole tree:
# clang-tidy with the bug-prone checks of .clang-tidy (AST matchers: fractions of a second a file),
# then clang's static analyzer with the same checkers left out as .clang-tidy, on a budget of
# LINT_NODES exploded nodes a function (the default, 225000, is what makes make lint take minutes;
# 10000 still finds the simulator's use-after-free of f8a29f9 when it is put back).
LINT_NODES ?= 10000
LINT_ANALYZER_OFF := deadcode.DeadStores,core.NonNullParamChecker,valist.Uninitialized,$\
  security.insecureAPI.DeprecatedOrUnsafeBufferHandling,security.insecureAPI.strcpy
.PHONY: lint-fast
lint-fast: $(ADMIN_TABLE)
	@command -v clang-tidy >/dev/null || { echo "lint-fast: clang-tidy is needed (apt-get install clang-tidy)"; exit 1; }
	@mkdir -p $(BUILD)
	@printf '%s\n' $(LINT_SRC) | xargs -P2 -n8 sh -c 'clang-tidy --quiet --checks="-clang-analyzer-*" "$$@" -- \
	  $(LINT_FLAGS)' lint 2>/dev/null | grep -E 'warning:|error:' -A3 > $(BUILD)/lint-fast.log; \
	printf '%s\n' $(LINT_SRC) | xargs -P2 -n1 sh -c 'clang --analyze -o /dev/null $(LINT_FLAGS) \
	  -Xanalyzer -analyzer-config -Xanalyzer max-nodes=$(LINT_NODES) \
	  -Xanalyzer -analyzer-disable-checker -Xanalyzer $(LINT_ANALYZER_OFF) "$$1" 2>&1' lint | \
	  grep -E 'warning:|error:' -A3 >> $(BUILD)/lint-fast.log; \
	if [ -s $(BUILD)/lint-fast.log ]; then cat $(BUILD)/lint-fast.log; echo "lint-fast: findings above"; exit 1; fi; \
	echo "lint-fast: clean ($(words $(LINT_SRC)) files: clang-tidy bug-prone checks, analyzer at $(LINT_NODES) nodes)"

# compile_commands.json for clangd and clang-tidy: the compiler lines of a full build
compile_commands.json: $(LIB_SRC) Makefile
	@command -v bear >/dev/null || { echo "compile_commands.json: bear is needed (apt-get install bear)"; exit 1; }
	@$(MAKE) --no-print-directory clean-objects
	@bear --output $@ -- $(MAKE) --no-print-directory -j2 build-progs build-units

clean-objects:
	@rm -rf $(BUILD)

# format: apply .clang-format to every C file of the project; format-check lists the ones that differ
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	@clang-format -i $(FORMAT_SRC)
format-check:
	@bad=0; for f in $(FORMAT_SRC); do clang-format $$f | cmp -s - $$f || { echo "format-check: $$f differs"; bad=1; }; done; exit $$bad

test-browser:
	@BCCI_BIN=$(CURDIR)/$(BINDIR) tests/browser/run.sh

# label outputs through tools that are not ours: zpl-renderer-js (pinned in tests/labels/), zbarimg,
# rsvg-convert, qpdf, pdftoppm; needs $(BUILD)/tests/label_test (build-units)
test-labels:
	@BCCI_BUILD=$(CURDIR)/$(BUILD) sh tests/labels/run.sh

# PNG pictures of every label kind under docs/labels/ (tests/labels/pictures.sh)
label-pictures: $(BUILD)/tests/label_test
	@BCCI_BUILD=$(CURDIR)/$(BUILD) sh tests/labels/pictures.sh

test-unit:
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 $$t; done

# The integration tests mostly wait for the programs they start (about 15% of two cores for one
# test at a time), so TEST_JOBS test classes run at once (tests/integration/run_all.py).
TEST_JOBS ?= 3
test-integration:
	@BCCI_TEST_JOBS=$(TEST_JOBS) BCCI_BIN=$(CURDIR)/$(BINDIR) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  python3 tests/integration/run_all.py

bench: deps
	@$(MAKE) --no-print-directory OPT="-O2 -g -DNDEBUG" build-bench
	@BCCI_BIN=$(CURDIR)/$(BINDIR) BCCI_BENCH=$(CURDIR)/$(BUILD)/bench python3 bench/run_bench.py

valgrind: deps
	@$(MAKE) --no-print-directory build-progs build-units
	@set -e; for t in $(UNIT_BINS); do echo "== valgrind $$t"; \
	  valgrind -q '--soname-synonyms=somalloc=libjemalloc.so*' --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    --suppressions=tests/valgrind.supp $$t; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/bccid bin/bcci bin/bcci-worker bin/bcci-carrier-sim $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin

MAIN_DEPS := $(patsubst %.c,$(BUILD)/%.d,$(wildcard */*_main.c */*/*_main.c) $(BENCH_SRC))
-include $(LIB_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(TOOL_SRC:%.c=$(BUILD)/%.d) $(TEST_SUPPORT_OBJ:.o=.d) $(MAIN_DEPS)
.SECONDARY:

# --- fault tests, fuzzing, memory checks (tests/integration/test_faults.py, tests/fuzz/) ---
# make fuzz          every libFuzzer target of tests/fuzz/ for FUZZ_SECONDS (default 60) each
# make fuzz-smoke    the same for a few seconds each, after replaying tests/fuzz/regressions/
# make fuzz-campaign every target for FUZZ_CPU_SECONDS of its own CPU time (default 3600), FUZZ_JOBS
#                    at once (default 2), at nice 19; prints the figures, merges the grown corpora
# make test-faults   the full-size crash, fault and overload tests (ASan build, minutes)
# make valgrind      also runs a short bccid + worker scenario under memcheck (build/rel)
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: fuzz fuzz-smoke fuzz-campaign fuzz-lib valgrind-scenario

fuzz-lib:
	@command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)"; exit 1; }
	@$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_BUILD) SAN_FLAGS="$(FUZZ_SAN)" OPT="-O1 -g" \
	  WARN="$(WARN) -Wno-unknown-warning-option" $(FUZZ_BUILD)/libbcci.a

fuzz: fuzz-lib
	@CFLAGS_PKG="$(PKG_CFLAGS)" LIBS_PKG="$(PKG_LIBS)" sh tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-lib
	@CFLAGS_PKG="$(PKG_CFLAGS)" LIBS_PKG="$(PKG_LIBS)" sh tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) 5

FUZZ_CPU_SECONDS ?= 3600
FUZZ_JOBS        ?= 2
fuzz-campaign: fuzz-smoke
	@python3 tests/fuzz/campaign.py --build $(FUZZ_BUILD) --cpu-seconds $(FUZZ_CPU_SECONDS) --jobs $(FUZZ_JOBS) --merge

test-faults: deps
	@$(MAKE) --no-print-directory SANITIZER=address build-progs
	@BCCI_FAULTS_FULL=1 BCCI_BIN=$(CURDIR)/build/san/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  python3 tests/integration/run_all.py test_faults.py

# valgrind and sanitizers never together: the scenario runs the build/rel programs
valgrind: valgrind-scenario
valgrind-scenario:
	@$(MAKE) --no-print-directory SANITIZER= build-progs
	@BCCI_BIN=$(CURDIR)/build/rel/bin python3 tests/valgrind_scenario.py
