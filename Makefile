# toolwatch build.
#
#   make           build/toolwatch (optimised, with debug info; guided by
#                  a profile of its own run over a simulated stream: see
#                  "Profile-guided build" below; PGO=0 for a plain -O2)
#   make test      every test under ASan+UBSan; last line "N passed, M failed"
#   make fuzz      libFuzzer targets (clang), each run FUZZ_SECONDS seconds
#   make memcheck  unit tests and a few integration tests under valgrind
#                  (no sanitizers), the binary they spawn under valgrind too
#   make bench     end-to-end benchmarks + micro-benchmarks (optimised, no
#                  sanitizers; see BENCHMARKS.md), table + bench/results/
#   make demo      run `toolwatch demo` (DEMO_ARGS="--duration 60")
#   make soak      30-minute soak with a flapping receiver (SOAK_SECONDS=N;
#                  see BENCHMARKS.md), not part of `make test` or CI
#   make deps      install the Debian packages the build needs (idempotent;
#                  the same as `sh tests/deps.sh`)
#   make install   the binary, man pages toolwatch(1) and toolwatch.json(5)
#                  (scdoc), the systemd unit, example configs (under
#                  PREFIX/share/toolwatch/examples) and docs;
#                  PREFIX=/usr/local, DESTDIR, UNITDIR (PREFIX/lib/systemd/
#                  system), INSTALL_BIN (build/toolwatch)
#
# The build never installs anything by itself: when a library is missing
# it stops with one line naming the command to run (check-deps below).

CC      ?= cc
CLANG   ?= clang
PKGS    := libcurl libcjson libmicrohttpd openssl libsodium libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wwrite-strings -Wformat=2
STD     := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
INC     := -I.
CFLAGS_COMMON = $(STD) $(WARN) $(INC) $(PKG_CFLAGS) -MMD -MP
REL_FLAGS  := -O2 -g
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=all

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

LIB_SRC  := $(sort $(wildcard base/*.c model/*.c consumer/*.c detectors/*.c \
                             alerts/*.c status/*.c config/*.c sim/*.c app/*.c))
LIB_SRC  := $(filter-out app/main.c,$(LIB_SRC))
MAIN_SRC := app/main.c
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
ITEST_SRC := $(sort $(wildcard tests/integration/test_*.c))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

REL_OBJ  := $(LIB_SRC:%.c=build/rel/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=build/asan/%.o)
SUP_OBJ  := $(SUPPORT_SRC:%.c=build/asan/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=build/asan/tests/i%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/rel/bench/%)
# end-to-end tools: corpus writer, cJSON baseline reader, the driver
BENCH_TOOLS := build/rel/bench/corpus build/rel/bench/baseline_cjson \
               build/rel/bench/driver

FUZZ_SECONDS ?= 30

# `make V=1` prints full command lines.
Q := $(if $(V),,@)

.PHONY: all deps check-deps test unit integration fuzz memcheck bench clean demo soak man install
# keep intermediate objects (and keep make quiet about them)
.SECONDARY:
.DEFAULT_GOAL := all

all: build/toolwatch

deps:
	@sh tests/deps.sh

# Order-only prerequisite of every object: one pkg-config call per build.
check-deps:
	@pkg-config --exists $(PKGS) 2>/dev/null || { echo "toolwatch: build dependencies are missing; run: sh tests/deps.sh" >&2; exit 1; }

build/toolwatch: $(REL_OBJ) build/rel/app/main.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -O2 -g -o $@ $^ $(PKG_LIBS)

# Profile-guided build (PGO=1, the default).  The release objects are
# compiled twice: first instrumented (build/pgo/, -fprofile-generate),
# linked and run over a training workload, then again with the counts
# it recorded (-fprofile-use): GCC lays the hot paths out together and
# moves the cold ones aside, which matters because with many rules the
# per-event code no longer fits the instruction cache (BENCHMARKS.md,
# "Fifth session").  The workload is the product's own: a simulated
# stream (`simulate --output`, a fixed seed and start) replayed (stderr
# in build/pgo/train.log) with the example rule set
# (config/examples/rules.json, every kind) and with the default rules.
# The counts are nearly the same from build
# to build (the engine's hash key is random, so chains and slot hints
# differ a little); the layout GCC derives from them may differ in
# detail, the behaviour never.  Functions the workload never ran are
# optimised as in a plain build (-fprofile-partial-training).  The
# instrumented objects are compiled as if they were the release ones
# (-dumpbase build/rel/...): their counts (.gcda) land next to the
# release objects, where -fprofile-use looks, and the names GCC gives
# static functions in the profile match.  PGO=0: a plain -O2 build (the
# default when $(CC) is not GCC, whose options these are).
PGO ?= $(shell $(CC) -v 2>&1 | grep -q '^gcc version' && echo 1 || echo 0)
PGO_GEN := -fprofile-generate -fprofile-update=atomic
PGO_USE := -fprofile-use -fprofile-partial-training -Wno-missing-profile
PGO_OBJ := $(LIB_SRC:%.c=build/pgo/%.o) build/pgo/app/main.o
PGO_TRAIN := build/pgo/toolwatch simulate --scenario mixed-rules \
    --seed 7 --start-time 2026-01-05T00:00:00Z --total 200000 \
    --output build/pgo/train.sse

build/pgo/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/GEN  $<")
	$(Q)$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) $(PGO_GEN) -dumpbase build/rel/$* -DTW_VERSION='"$(VERSION)"' -c -o $@ $<

build/pgo/toolwatch: $(PGO_OBJ)
	@$(if $(Q),echo "  LD/GEN  $@")
	$(Q)$(CC) -O2 -g $(PGO_GEN) -o $@ $^ $(PKG_LIBS)

build/pgo/profile.stamp: build/pgo/toolwatch config/examples/rules.json
	@$(if $(Q),echo "  TRAIN   $@")
	$(Q)find build/rel -name '*.gcda' -type f -delete 2>/dev/null; true
	$(Q)$(PGO_TRAIN)
	$(Q)build/pgo/toolwatch replay -c config/examples/rules.json build/pgo/train.sse >/dev/null 2>build/pgo/train.log
	$(Q)build/pgo/toolwatch replay --drain build/pgo/train.sse >/dev/null 2>>build/pgo/train.log
	$(Q)rm -f build/pgo/train.sse
	$(Q)touch $@

ifeq ($(PGO),1)
REL_PGO := $(PGO_USE)
$(REL_OBJ) build/rel/app/main.o: build/pgo/profile.stamp
endif
# build/rel/mode names how the release objects were built (pgo, plain):
# a change of PGO rebuilds them, and so does a missing profile (every
# target is .SECONDARY, so a missing stamp alone would not be remade)
REL_MODE := $(if $(filter 1,$(PGO)),pgo,plain)
$(shell mkdir -p build/rel && { [ "$$(cat build/rel/mode 2>/dev/null)" = "$(REL_MODE)" ] || echo $(REL_MODE) > build/rel/mode; } && { [ "$(REL_MODE)" = plain ] || [ -f build/pgo/profile.stamp ] || touch build/rel/mode; })
$(REL_OBJ) build/rel/app/main.o: build/rel/mode

build/rel/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) $(REL_PGO) -DTW_VERSION='"$(VERSION)"' -c -o $@ $<

build/asan/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/SAN  $<")
	$(Q)$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -DTW_VERSION='"$(VERSION)"' -c -o $@ $<

build/asan/libtw.a: $(SAN_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

build/rel/libtw.a: $(REL_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

build/asan/toolwatch: build/asan/app/main.o build/asan/libtw.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests: one cmocka binary per module, linked against the library so
# -Wl,--wrap= seams can replace our own thin adapters.
build/asan/tests/test_%: build/asan/tests/unit/test_%.o build/asan/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $< build/asan/libtw.a $(CMOCKA_LIBS) $(PKG_LIBS)

# Integration tests: cmocka binaries that run build/asan/toolwatch against
# servers in tests/support/ listening on 127.0.0.1.
build/asan/tests/itest_%: build/asan/tests/integration/test_%.o $(SUP_OBJ) build/asan/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) $(WRAP_$(@F)) -o $@ $< $(SUP_OBJ) build/asan/libtw.a $(CMOCKA_LIBS) $(PKG_LIBS)

# Link seams of one test binary (STYLE.md, Tests): WRAP_<binary> holds its
# -Wl,--wrap= options; the test defines the __wrap_ functions.
WRAP_itest_reconfigure := -Wl,--wrap=request_create \
    -Wl,--wrap=journal_foreach_pending -Wl,--wrap=journal_append

unit: $(UNIT_BIN)
	@sh tests/run.sh $(UNIT_BIN)

integration: $(ITEST_BIN) build/asan/toolwatch
	@TOOLWATCH_BIN=build/asan/toolwatch sh tests/run.sh $(ITEST_BIN)

# tests/layers.sh (the include rules of STYLE.md) counts as one test.
test: $(UNIT_BIN) $(ITEST_BIN) build/asan/toolwatch
	@TOOLWATCH_BIN=build/asan/toolwatch sh tests/run.sh tests/layers.sh tests/oracle/run.sh $(UNIT_BIN) $(ITEST_BIN)

# libFuzzer targets: clang, ASan+UBSan.  The library is compiled once for
# all targets with coverage instrumentation (fuzzer-no-link) into
# build/fuzz/libtw.a; each target links only what it uses.
FUZZ_SAN := -g -O1 -fno-sanitize-recover=all
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/FUZZ $<")
	$(Q)$(CLANG) $(CFLAGS_COMMON) $(FUZZ_SAN) \
	    -fsanitize=fuzzer-no-link,address,undefined \
	    -DTW_VERSION='"$(VERSION)"' -c -o $@ $<

build/fuzz/libtw.a: $(FUZZ_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) $(CFLAGS_COMMON) $(FUZZ_SAN) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< build/fuzz/libtw.a \
	    $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# valgrind memcheck: the same sources without sanitizers (valgrind and ASan
# do not mix), -O1 -g, into build/memcheck/.  Every unit test, plus the
# integration tests in MEMCHECK_ITESTS: itest_delivery and
# itest_reconfigure drive journal, signing and libcurl in-process (the
# latter through reloads that fail at every step); the others spawn
# build/memcheck/toolwatch
# (check-config, send-test, and in itest_secrets `run` with every sink kind,
# a reload and a clean stop), itself run under valgrind (tests/memcheck.sh).
MC_FLAGS := -O1 -g
MC_OBJ   := $(LIB_SRC:%.c=build/memcheck/%.o)
MC_SUP_OBJ := $(SUPPORT_SRC:%.c=build/memcheck/%.o)
MC_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/memcheck/tests/%)
MEMCHECK_ITESTS ?= delivery reconfigure checkconfig sendtest secrets
MC_ITEST_BIN := $(MEMCHECK_ITESTS:%=build/memcheck/tests/itest_%)

build/memcheck/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/MC   $<")
	$(Q)$(CC) $(CFLAGS_COMMON) $(MC_FLAGS) -DTW_VERSION='"$(VERSION)"' -c -o $@ $<

build/memcheck/libtw.a: $(MC_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

build/memcheck/toolwatch: build/memcheck/app/main.o build/memcheck/libtw.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(MC_FLAGS) -o $@ $^ $(PKG_LIBS)

build/memcheck/tests/test_%: build/memcheck/tests/unit/test_%.o build/memcheck/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(MC_FLAGS) -o $@ $< build/memcheck/libtw.a $(CMOCKA_LIBS) $(PKG_LIBS)

build/memcheck/tests/itest_%: build/memcheck/tests/integration/test_%.o $(MC_SUP_OBJ) build/memcheck/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(MC_FLAGS) $(WRAP_$(@F)) -o $@ $< $(MC_SUP_OBJ) build/memcheck/libtw.a $(CMOCKA_LIBS) $(PKG_LIBS)

memcheck: $(MC_UNIT_BIN) $(MC_ITEST_BIN) build/memcheck/toolwatch
	@sh tests/memcheck.sh build/memcheck/toolwatch $(MC_UNIT_BIN) $(MC_ITEST_BIN)

# the delivery benchmark sends to the test receiver
BENCH_SUP_SRC := tests/support/receiver.c tests/support/tcp.c
build/rel/bench/bench_delivery: bench/bench_delivery.c $(BENCH_SUP_SRC) build/rel/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) -o $@ $< $(BENCH_SUP_SRC) build/rel/libtw.a $(PKG_LIBS)

build/rel/bench/%: bench/%.c build/rel/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) -o $@ $< build/rel/libtw.a $(PKG_LIBS)

# Not part of `make test` or CI: about 7 minutes, and meaningful only on an
# otherwise idle machine.  bench/run.sh builds nothing itself.
bench: $(BENCH_BIN) $(BENCH_TOOLS) build/toolwatch
	@sh bench/run.sh $(BENCH_BIN)

# The soak driver runs the release binary against the test receiver; it
# links every tests/support/ source (receiver, proc, httpget and what they
# use), as the integration tests do.
build/rel/bench/soak: bench/soak.c $(SUPPORT_SRC) build/rel/libtw.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_COMMON) $(REL_FLAGS) -o $@ $< $(SUPPORT_SRC) build/rel/libtw.a $(PKG_LIBS)

# Not part of `make test` or CI: SOAK_SECONDS (default 1800) of steady load
# with a flapping receiver, then a bounded drain; last line PASS or FAIL.
SOAK_SECONDS ?= 1800
soak: build/rel/bench/soak build/toolwatch
	@mkdir -p bench/results
	@SOAK_SECONDS=$(SOAK_SECONDS) build/rel/bench/soak --toolwatch build/toolwatch --json bench/results/soak.json

# The whole pipeline on a simulated stream with a verifying receiver.
demo: build/toolwatch
	build/toolwatch demo $(DEMO_ARGS)

# ---- install -------------------------------------------------------------
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/toolwatch
DATADIR ?= $(PREFIX)/share/toolwatch
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_BIN ?= build/toolwatch
MAN_PAGES := build/man/toolwatch.1 build/man/toolwatch.json.5
DOCS := README.md $(sort $(wildcard docs/*.md))

build/man/%: man/%.scd
	@mkdir -p $(dir $@)
	@command -v scdoc >/dev/null 2>&1 || { echo "toolwatch: scdoc is missing; run: sh tests/deps.sh" >&2; exit 1; }
	$(Q)scdoc < $< > $@.tmp && mv $@.tmp $@

man: $(MAN_PAGES)

# The unit names the installed binary: its ExecStart follows BINDIR.
install: $(INSTALL_BIN) $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/examples
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/toolwatch
	install -m 0644 build/man/toolwatch.1 $(DESTDIR)$(MANDIR)/man1/toolwatch.1
	install -m 0644 build/man/toolwatch.json.5 $(DESTDIR)$(MANDIR)/man5/toolwatch.json.5
	sed 's|/usr/bin/toolwatch|$(BINDIR)/toolwatch|g' docs/toolwatch.service \
	    > $(DESTDIR)$(UNITDIR)/toolwatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/toolwatch.service
	install -m 0644 config/examples/*.json $(DESTDIR)$(DATADIR)/examples/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build

# the compilers' dependency files; build/system holds root file systems
# (tests/system), whose rc2.d and the like are not
-include $(shell find build -path build/system -prune -o -name '*.d' -type f -print 2>/dev/null)
