# pgcarry: build, test, demo and benchmark.
#
#   make            build ./pgcarry
#   make check      every test (installs missing Debian packages when root)
#   make demo       seven databases moved between two local servers
#   make bench      pgcarry copy against pg_dump/pg_restore on the same data
#   make bench-archive, make bench-expand   export/import, and live backfill
#   make bench-follow   copy --follow + cutover under load against the guide's downtime
#   make bench-profile, bench-many-tables, bench-scale   where the CPU goes,
#                   many small tables, two data sizes
#   make demo-expand  a live expand/contract migration under an application
#   make check-asan the tests again with AddressSanitizer + UBSan
#   make install    the binary, man pages and bash completion under PREFIX
#                   (default /usr/local), staged under DESTDIR if given;
#                   make uninstall removes exactly those files
#   make check-faults  proof that the tests catch each injected fault
#
# Libraries come from Debian's packages only; see scripts/deps.sh.

CC       ?= cc
PG_INC   := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
# -MMD -MP: each object depends on the headers it includes (build/**/*.d).
CPPFLAGS += -D_GNU_SOURCE -Isrc -I$(PG_INC) -MMD -MP
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Werror -pthread
LDLIBS   += -lpq -lzstd -ljansson -lxxhash -lsqlite3 -lcrypto -larchive -lpg_query -lpthread

BUILD    ?= build
SRCS     := $(sort $(wildcard src/*.c src/*/*.c))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))
# Everything but main() is one static library: the program and the unit
# tests link the same core.
LIB      := $(BUILD)/libpgcarry.a
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MANPAGES := $(sort $(wildcard man/*.1))
INSTALL  ?= install

PROVE_FLAGS ?=
TESTS    ?= tests/t/*.t
# The sanitizer run leaves out what needs no second run: the cross-version
# oracle (servers of three majors, minutes; the plain build runs it), the
# demos (the copy and expand/contract tests cover their code) and the test
# of the independent checker, which runs no pgcarry at all.  A TESTS given
# on the command line runs as given.
ASAN_SKIP ?= tests/t/20-dbcheck.t tests/t/45-oracle-versions.t tests/t/70-follow-versions.t tests/t/90-demo.t \
	tests/t/91-demo-expand.t
ifeq ($(origin TESTS),file)
ASAN_TESTS := $(filter-out $(ASAN_SKIP),$(wildcard $(TESTS)))
else
ASAN_TESTS := $(TESTS)
endif

.PHONY: all bin check check-race check-unit check-asan check-faults deps demo demo-expand bench bench-archive bench-expand bench-profile bench-many-tables bench-scale bench-follow clean unit \
	install uninstall

all: pgcarry

pgcarry: $(BUILD)/pgcarry
	cp $< $@

$(BUILD)/pgcarry: $(BUILD)/src/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)

unit: $(UNIT_BINS)

# The binary and the unit tests in $(BUILD) only (make BUILD=build-x bin).
bin: $(BUILD)/pgcarry $(UNIT_BINS)

deps:
	@sh scripts/deps.sh

# Every test: unit tests (C, TAP) and integration tests against throwaway
# servers, all run by prove.  PGCARRY_BIN and PGCARRY_UNIT_DIR tell the
# scripts which build to test.
check: deps
	@$(MAKE) --no-print-directory pgcarry unit
	@rm -rf $(BUILD)/test-logs
	PGCARRY_TEST_LOG_DIR=$(abspath $(BUILD)/test-logs) PGCARRY_BIN=$(abspath $(BUILD)/pgcarry) PGCARRY_UNIT_DIR=$(abspath $(BUILD)/tests) \
		prove --exec bash $(PROVE_FLAGS) $(TESTS)

# The post-data race test a hundred times (make check runs it ten times).
check-race: deps
	@$(MAKE) --no-print-directory pgcarry
	PGCARRY_RACE_RUNS=100 PGCARRY_TEST_LOG_DIR=$(abspath $(BUILD)/test-logs) PGCARRY_BIN=$(abspath $(BUILD)/pgcarry) \
		prove --exec bash $(PROVE_FLAGS) tests/t/32-postdata-race.t

check-unit: deps
	@$(MAKE) --no-print-directory pgcarry unit
	PGCARRY_BIN=$(abspath $(BUILD)/pgcarry) PGCARRY_UNIT_DIR=$(abspath $(BUILD)/tests) \
		prove --exec bash $(PROVE_FLAGS) tests/t/00*.t

# The same tests with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer; any report fails the run.
check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" build-asan/pgcarry unit
	@rm -rf build-asan/test-logs
	PGCARRY_TEST_LOG_DIR=$(abspath build-asan/test-logs) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	PGCARRY_BIN=$(abspath build-asan/pgcarry) PGCARRY_UNIT_DIR=$(abspath build-asan/tests) \
		prove --exec bash $(PROVE_FLAGS) $(ASAN_TESTS)

# The fault build (-DPGCARRY_FAULTS, src/util/fault.h): each fault that
# PGCARRY_FAULT can inject must make at least one test fail
# (tests/lib/faults.sh lists them).  FAULTS="name ..." runs only those.
check-faults: deps
	@$(MAKE) --no-print-directory BUILD=build-faults \
		CFLAGS="-O1 -g -std=c11 -Wall -Wextra -Werror -pthread -DPGCARRY_FAULTS" build-faults/pgcarry
	@rm -rf build-faults/test-logs
	PGCARRY_TEST_LOG_DIR=$(abspath build-faults/test-logs) PGCARRY_BIN=$(abspath build-faults/pgcarry) \
		bash tests/lib/faults.sh $(FAULTS)

demo: deps pgcarry
	bash scripts/demo.sh

# The cat lovers moved to a cats table while a simulated application runs.
demo-expand: deps pgcarry
	bash scripts/demo-expand.sh

bench: deps pgcarry
	bash bench/copy-bench.sh

bench-archive: deps pgcarry
	bash bench/archive-bench.sh

bench-expand: deps pgcarry
	bash bench/expand-bench.sh

# Where the CPU of copy, export and import goes, phase by phase.
bench-profile: deps pgcarry
	bash bench/profile.sh

# 10,000 and 30,000 (BENCH_TABLES) small tables in one database.
bench-many-tables: deps pgcarry
	bash bench/many-tables.sh

# The seven databases at two scales: time per GB and peak memory.
bench-scale: deps pgcarry
	bash bench/scale.sh

bench-follow: deps pgcarry
	bash bench/follow-bench.sh

install: $(BUILD)/pgcarry
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(BASHCOMPDIR)"
	$(INSTALL) -m 755 $(BUILD)/pgcarry "$(DESTDIR)$(BINDIR)/pgcarry"
	$(INSTALL) -m 644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	$(INSTALL) -m 644 completion/pgcarry.bash "$(DESTDIR)$(BASHCOMPDIR)/pgcarry"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/pgcarry" "$(DESTDIR)$(BASHCOMPDIR)/pgcarry"
	rm -f $(patsubst man/%,"$(DESTDIR)$(MANDIR)/man1/%",$(MANPAGES))

clean:
	rm -rf build build-* pgcarry
