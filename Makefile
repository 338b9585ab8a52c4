# heapd — one Makefile for the daemon, the client, the tests and the benches.
#
#   make                 build $(B)/heapd and $(B)/heapctl
#   make run ARGS=...    build heapd and heapctl, run heapd in the foreground
#   make test            build everything, run every unit test (+ integration, node, python)
#   make test SANITIZE=1 the same with ASan+UBSan, in build/san
#   make crash-test      the effect log's SIGKILL tests, CRASH_RUNS runs of each
#   make valgrind        unit tests under valgrind (VALGRIND_SKIP="test_x ...")
#   make bench           build the benches and run bench/run.sh
#   make bench-gen       the generational collector's bench (bench/gen_compare.py;
#                        BENCH_TODAY=DIR adds 7fa32b0's collector, BENCH_GEN_SIZES)
#   make man             build the man pages (scdoc) into $(B)/man
#   make install         PREFIX=/usr/local DESTDIR= (see "install" below)
#   make uninstall       remove what make install added
#   make format | format-check | clean

CC ?= cc
AR ?= ar
CLANG_FORMAT ?= clang-format
VALGRIND ?= valgrind

PKGS        := libuv msgpack libcjson
CLIENT_PKGS := libedit
# heapd only (daemon/server/notify.c: sd_notify, the watchdog, socket activation);
# the unit tests, benches and fuzzer link it too, since they link libheapd.a.
DAEMON_PKGS := libsystemd
TEST_PKGS   := cmocka

ifeq ($(SANITIZE),1)
B        := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
# every reply is checked to be exactly one msgpack object (server/reply.h)
CHECKFLAGS := -DHEAPD_CHECK_REPLIES
else
B        := build
SANFLAGS :=
CHECKFLAGS :=
endif

# pkg-config is queried lazily, once, on first use: by then the `deps`
# prerequisite has run, so a fresh machine gets its packages first.
PKG_CFLAGS  = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
TEST_CFLAGS = $(eval TEST_CFLAGS := $$(shell pkg-config --cflags $(TEST_PKGS)))$(TEST_CFLAGS)
TEST_LIBS   = $(eval TEST_LIBS := $$(shell pkg-config --libs $(TEST_PKGS)))$(TEST_LIBS)
CLIENT_CFLAGS = $(eval CLIENT_CFLAGS := $$(shell pkg-config --cflags $(CLIENT_PKGS)))$(CLIENT_CFLAGS)
CLIENT_LIBS   = $(eval CLIENT_LIBS := $$(shell pkg-config --libs $(CLIENT_PKGS)))$(CLIENT_LIBS)
DAEMON_CFLAGS = $(eval DAEMON_CFLAGS := $$(shell pkg-config --cflags $(DAEMON_PKGS)))$(DAEMON_CFLAGS)
DAEMON_LIBS   = $(eval DAEMON_LIBS := $$(shell pkg-config --libs $(DAEMON_PKGS)))$(DAEMON_LIBS)

# The daemon's parts (docs/architecture.md) and what each may include. The
# heap engine and the common helpers see neither libuv nor msgpack: the
# fence directories put an #error-ing uv.h and msgpack.h ahead of the
# system's, so the compiler, not a reviewer, keeps the heap off the network.
# The codec (wire values <-> objects) speaks msgpack but not libuv.
FENCE_UV      := -Idaemon/fence/uv
FENCE_MSGPACK := -Idaemon/fence/msgpack
INC_HEAP      := -Iproto -Idaemon/common -Idaemon/heap
INC_CODEC     := $(INC_HEAP) -Idaemon/codec
INC_PERSIST   := $(INC_CODEC) -Idaemon/persist
INC_DAEMON    := $(INC_PERSIST) -Idaemon/server

BASE_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE $(SANFLAGS) $(CHECKFLAGS)
CFLAGS   = $(BASE_CFLAGS) $(INC_DAEMON) $(PKG_CFLAGS) $(DAEMON_CFLAGS)
HEAP_CFLAGS    = $(BASE_CFLAGS) $(FENCE_UV) $(FENCE_MSGPACK) $(INC_HEAP)
CODEC_CFLAGS   = $(BASE_CFLAGS) $(FENCE_UV) $(INC_CODEC) $(PKG_CFLAGS)
PERSIST_CFLAGS = $(BASE_CFLAGS) $(INC_PERSIST) $(PKG_CFLAGS)
DEPFLAGS = -MMD -MP
LDFLAGS  = $(SANFLAGS)
LDLIBS   = $(PKG_LIBS) -lm

# ---- sources (wildcards: new files are picked up without editing this) ----

PROTO_SRCS  := $(wildcard proto/*.c)
DAEMON_PARTS := common heap codec persist server
DAEMON_SRCS := $(filter-out daemon/server/main.c,$(foreach d,$(DAEMON_PARTS),$(wildcard daemon/$(d)/*.c)))
CLIENT_SRCS := $(wildcard client/*.c)
TEST_SRCS   := $(wildcard tests/unit/test_*.c)
TESTLIB_SRC := $(wildcard tests/unit/testlib.c)
BENCH_SRCS  := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(B)/%.o,$(1))

PROTO_OBJS   := $(call obj,$(PROTO_SRCS))
DAEMON_OBJS  := $(call obj,$(DAEMON_SRCS))
MAIN_OBJ     := $(call obj,daemon/server/main.c)
CLIENT_OBJS  := $(call obj,$(CLIENT_SRCS))
TEST_OBJS    := $(call obj,$(TEST_SRCS))
TESTLIB_OBJ  := $(call obj,$(TESTLIB_SRC))
BENCH_OBJS   := $(call obj,$(BENCH_SRCS))

# A library is only built when it has objects: `ar` with none is not portable.
LIBPROTO := $(if $(PROTO_OBJS),$(B)/libproto.a)
LIBHEAPD := $(if $(DAEMON_OBJS),$(B)/libheapd.a)
LIBS     := $(LIBHEAPD) $(LIBPROTO)

HEAPD      := $(B)/heapd
HEAPCTL    := $(B)/heapctl
TEST_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRCS))
BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))

ALL_OBJS := $(PROTO_OBJS) $(DAEMON_OBJS) $(MAIN_OBJ) $(CLIENT_OBJS) $(TEST_OBJS) $(TESTLIB_OBJ) \
            $(BENCH_OBJS)

ifeq ($(SANITIZE),1)
TEST_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
TEST_ENV :=
endif

ifneq ($(filter valgrind,$(MAKECMDGOALS)),)
ifeq ($(SANITIZE),1)
$(error make valgrind uses the non-sanitized build; drop SANITIZE=1)
endif
endif

.DELETE_ON_ERROR:
.PHONY: crash-test
.PHONY: all deps run tests test check-fences valgrind bench-build bench bench-gen format format-check clean fuzz \
        man install uninstall
.DEFAULT_GOAL := all

all: $(HEAPD) $(HEAPCTL)

# Cheap and stamp-free: one pkg-config call per make invocation.
deps:
	@if ! command -v $(firstword $(CC)) >/dev/null 2>&1 || \
	    ! command -v scdoc >/dev/null 2>&1 || \
	    ! pkg-config --exists $(PKGS) $(CLIENT_PKGS) $(DAEMON_PKGS) $(TEST_PKGS) 2>/dev/null || \
	    ! /usr/bin/python3 -c 'import msgpack, pytest, venv' 2>/dev/null; then \
	    echo "deps: build dependencies missing; running scripts/install-deps.sh" >&2; \
	    scripts/install-deps.sh; \
	fi

# ---- compile ----

$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/daemon/common/%.o $(B)/daemon/heap/%.o: CFLAGS = $(HEAP_CFLAGS)
$(B)/daemon/codec/%.o: CFLAGS = $(CODEC_CFLAGS)
$(B)/daemon/persist/%.o: CFLAGS = $(PERSIST_CFLAGS)

$(B)/client/%.o: client/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Iproto -Iclient $(PKG_CFLAGS) $(CLIENT_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# ---- archive and link ----

$(B)/libproto.a: $(PROTO_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libheapd.a: $(DAEMON_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(HEAPD): $(MAIN_OBJ) $(LIBS) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(DAEMON_LIBS)

$(HEAPCTL): $(CLIENT_OBJS) $(LIBPROTO) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CLIENT_LIBS)

$(TEST_BINS): $(B)/tests/%: $(B)/tests/unit/%.o $(TESTLIB_OBJ) $(LIBS) | deps
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(DAEMON_LIBS) $(TEST_LIBS)

$(BENCH_BINS): $(B)/bench/%: $(B)/bench/%.o $(LIBS) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(DAEMON_LIBS)

tests: $(TEST_BINS)
bench-build: $(BENCH_BINS)

# ---- run ----

# heapctl too: heapd's first line on a terminal says how to reach it with heapctl.
run: all
	$(HEAPD) $(ARGS)

# The include rule (docs/architecture.md), itself tested: each line below
# must fail to compile, or a part could reach what it must not.
FENCE_PROBES := "$(HEAP_CFLAGS)|uv.h" "$(HEAP_CFLAGS)|msgpack.h" "$(HEAP_CFLAGS)|encode.h" \
                "$(HEAP_CFLAGS)|server.h" "$(CODEC_CFLAGS)|uv.h" "$(CODEC_CFLAGS)|server.h" \
                "$(PERSIST_CFLAGS)|server.h" "$(PERSIST_CFLAGS)|conn.h"
check-fences: | deps
	@for p in $(FENCE_PROBES); do \
	    flags=$${p%|*}; hdr=$${p##*|}; \
	    if printf '#include <%s>\n' "$$hdr" | $(CC) $$flags -x c -fsyntax-only - 2>/dev/null; then \
	        echo "check-fences: <$$hdr> compiles with $$flags" >&2; exit 1; fi; \
	done; echo "check-fences: heap without uv.h, msgpack.h or the other parts; codec without" \
	    "uv.h or the server; persist without the server"

# Runs each test in turn, shows its output, and ends with "N passed, N failed".
test: all tests bench-build man check-fences
	@pass=0; fail=0; failed=""; \
	for t in $(TEST_BINS); do \
	    echo "=== $$t"; \
	    if $(TEST_ENV) ./$$t; then pass=$$((pass + 1)); \
	    else rc=$$?; echo "--- FAIL $$t (exit $$rc)"; fail=$$((fail + 1)); failed="$$failed $$t"; fi; \
	done; \
	if [ -x tests/integration/run.sh ]; then \
	    echo "=== tests/integration/run.sh"; \
	    if $(TEST_ENV) HEAPD=$(HEAPD) HEAPCTL=$(HEAPCTL) BUILD_DIR=$(B) tests/integration/run.sh; \
	    then pass=$$((pass + 1)); \
	    else rc=$$?; echo "--- FAIL tests/integration/run.sh (exit $$rc)"; fail=$$((fail + 1)); \
	        failed="$$failed tests/integration/run.sh"; fi; \
	fi; \
	if [ -x tests/node/run.sh ]; then \
	    echo "=== tests/node/run.sh"; \
	    if $(TEST_ENV) HEAPD=$(HEAPD) tests/node/run.sh; \
	    then pass=$$((pass + 1)); \
	    else rc=$$?; echo "--- FAIL tests/node/run.sh (exit $$rc)"; fail=$$((fail + 1)); \
	        failed="$$failed tests/node/run.sh"; fi; \
	fi; \
	if [ -x tests/python/run.sh ]; then \
	    echo "=== tests/python/run.sh"; \
	    if $(TEST_ENV) HEAPD=$(HEAPD) BUILD_DIR=$(B) tests/python/run.sh; \
	    then pass=$$((pass + 1)); \
	    else rc=$$?; echo "--- FAIL tests/python/run.sh (exit $$rc)"; fail=$$((fail + 1)); \
	        failed="$$failed tests/python/run.sh"; fi; \
	fi; \
	[ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "$$pass passed, $$fail failed"; \
	[ "$$fail" -eq 0 ]

# The effect log's crash tests at length: CRASH_RUNS SIGKILL runs of each kind
# (make test runs a dozen of each).
CRASH_RUNS ?= 300
crash-test: all
	HEAPD=$(HEAPD) BUILD_DIR=$(B) HEAPD_CRASH_RUNS=$(CRASH_RUNS) tests/integration/run.sh \
	    -k CrashConsistencyTest

# VALGRIND_SKIP: space-separated test names (test_foo or foo) too slow under valgrind.
# HEAPD_TEST_SCALE divides the size of the heavy tests (deep chains, big cascades,
# random steps), so they stay quick under valgrind.
VALGRIND_SCALE ?= 20
valgrind: tests
	@command -v $(VALGRIND) >/dev/null 2>&1 || { echo "valgrind not found" >&2; exit 1; }; \
	pass=0; fail=0; skip=0; failed=""; \
	for t in $(TEST_BINS); do \
	    n=$${t##*/}; \
	    case " $(VALGRIND_SKIP) " in *" $$n "*|*" $${n#test_} "*) \
	        echo "=== skip $$t (VALGRIND_SKIP)"; skip=$$((skip + 1)); continue;; esac; \
	    echo "=== valgrind $$t"; \
	    if HEAPD_TEST_SCALE=$(VALGRIND_SCALE) $(VALGRIND) --leak-check=full \
	        --errors-for-leak-kinds=definite,indirect,possible \
	        --error-exitcode=99 -q ./$$t; then pass=$$((pass + 1)); \
	    else rc=$$?; echo "--- FAIL $$t (exit $$rc)"; fail=$$((fail + 1)); failed="$$failed $$t"; fi; \
	done; \
	[ "$$skip" -eq 0 ] || echo "$$skip skipped"; \
	[ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "$$pass passed, $$fail failed"; \
	[ "$$fail" -eq 0 ]

# Issue 14: generational vs not vs CPython (and "today", the collector before
# generations: BENCH_TODAY=DIR, a worktree at 7fa32b0 built with
# `make -C DIR B=build bench-build`; bench/gen.c is built against it).
bench-gen: bench-build
	@if [ -n "$(BENCH_TODAY)" ]; then \
	    $(CC) $(BASE_CFLAGS) -I$(BENCH_TODAY)/proto -I$(BENCH_TODAY)/daemon/common \
	        -I$(BENCH_TODAY)/daemon/heap -o $(B)/bench/gen-today bench/gen.c \
	        $(BENCH_TODAY)/build/libheapd.a $(BENCH_TODAY)/build/libproto.a $(LDLIBS) $(DAEMON_LIBS); \
	else rm -f $(B)/bench/gen-today; fi
	BUILD_DIR=$(B) BENCH_TODAY=$(BENCH_TODAY) python3 bench/gen_compare.py $(BENCH_GEN_SIZES)

bench: bench-build all
	@if [ -x bench/run.sh ]; then HEAPD=$(HEAPD) HEAPCTL=$(HEAPCTL) BUILD_DIR=$(B) bench/run.sh; \
	elif [ -f bench/run.sh ]; then HEAPD=$(HEAPD) HEAPCTL=$(HEAPCTL) BUILD_DIR=$(B) sh bench/run.sh; \
	else echo "bench: no bench/run.sh; built $(words $(BENCH_BINS)) bench binaries in $(B)/bench"; fi

# ---- man pages: man/NAME.SECTION.scd → $(B)/man/NAME.SECTION (roff) ----

MAN_SRCS  := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(B)/man/%,$(MAN_SRCS))

man: $(MAN_PAGES)

$(B)/man/%: man/%.scd | deps
	@mkdir -p $(@D)
	scdoc < $< > $@

# ---- install: a Debian-style layout under PREFIX, staged in DESTDIR ----
#
#   BINDIR      heapd, heapctl                      $(PREFIX)/bin
#   MANDIR      heapd(8), heapctl(1), heapd.json(5) $(PREFIX)/share/man
#   DOCDIR      heapd.json.example (conf/heapd.json) $(PREFIX)/share/doc/heapd
#   SYSCONFDIR  heapd/heapd.json, the service's config (systemd/heapd.json),
#               never overwritten                   /etc
#   UNITDIR     heapd.service, heapd.socket         pkg-config systemd's
#               systemdsystemunitdir for PREFIX (/usr/local/lib/systemd/system)
#
# The units name /usr/bin/heapd and /etc/heapd/ in the tree; install
# rewrites them to BINDIR and SYSCONFDIR.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/heapd
SYSCONFDIR ?= /etc
UNITDIR    ?= $(eval UNITDIR := $$(or $$(shell pkg-config --define-variable=prefix=$(PREFIX) \
                  --define-variable=rootprefix=$(PREFIX) --define-variable=root_prefix=$(PREFIX) \
                  --variable=systemdsystemunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system))$(UNITDIR)
UNITS      := heapd.service heapd.socket
UNIT_SED    = -e 's|/usr/bin/heapd|$(BINDIR)/heapd|g' -e 's|/etc/heapd/|$(SYSCONFDIR)/heapd/|g'
CONF_DEST   = $(DESTDIR)$(SYSCONFDIR)/heapd/heapd.json

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/heapd
	install -m 755 $(HEAPD) $(HEAPCTL) $(DESTDIR)$(BINDIR)/
	install -m 644 conf/heapd.json $(DESTDIR)$(DOCDIR)/heapd.json.example
	@if [ -e $(CONF_DEST) ]; then echo "install: keeping the existing $(CONF_DEST)"; \
	else echo "install -m 644 systemd/heapd.json $(CONF_DEST)"; \
	    install -m 644 systemd/heapd.json $(CONF_DEST); fi
	for u in $(UNITS); do \
	    sed $(UNIT_SED) systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u \
	    || exit 1; \
	done
	for p in $(MAN_PAGES); do \
	    d=$(DESTDIR)$(MANDIR)/man$${p##*.}; install -d $$d && install -m 644 $$p $$d/ || exit 1; \
	done

# The config goes only if it is still the one install put there.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/heapd $(DESTDIR)$(BINDIR)/heapctl
	rm -f $(DESTDIR)$(DOCDIR)/heapd.json.example
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	for p in $(notdir $(MAN_PAGES)); do rm -f $(DESTDIR)$(MANDIR)/man$${p##*.}/$$p; done
	@if cmp -s systemd/heapd.json $(CONF_DEST); then echo "rm -f $(CONF_DEST)"; rm -f $(CONF_DEST); \
	elif [ -e $(CONF_DEST) ]; then echo "uninstall: keeping $(CONF_DEST) (changed since install)"; fi
	@rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/heapd 2>/dev/null || true

# ---- housekeeping ----

FORMAT_FILES = find . \( -path ./build -o -path ./.git \) -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print

format:
	@$(FORMAT_FILES) | xargs -r $(CLANG_FORMAT) -i

format-check:
	@$(FORMAT_FILES) | xargs -r $(CLANG_FORMAT) --dry-run --Werror

# ---- fuzzing: libFuzzer (clang) over the request path, the snapshot loader
#      and heapctl's literal parser and printers; FUZZ_SECONDS each ----

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BIN     := build/fuzz/fuzz_dispatch
FUZZ_SNAP_BIN := build/fuzz/fuzz_snapshot
FUZZ_LIT_BIN  := build/fuzz/fuzz_pylit
FUZZ_ELOG_BIN := build/fuzz/fuzz_elog
FUZZ_FLAGS    = -std=c11 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE $(INC_DAEMON) $(PKG_CFLAGS) \
                $(DAEMON_CFLAGS) -DHEAPD_CHECK_REPLIES -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined

$(FUZZ_BIN): tests/fuzz/fuzz_dispatch.c $(DAEMON_SRCS) $(PROTO_SRCS) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lm

$(FUZZ_SNAP_BIN): tests/fuzz/fuzz_snapshot.c $(DAEMON_SRCS) $(PROTO_SRCS) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lm

$(FUZZ_ELOG_BIN): tests/fuzz/fuzz_elog.c $(DAEMON_SRCS) $(PROTO_SRCS) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lm

$(FUZZ_LIT_BIN): tests/fuzz/fuzz_pylit.c client/format.c $(PROTO_SRCS) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Iclient -o $@ $^ $(PKG_LIBS) -lm

# New inputs go to build/fuzz/corpus*; tests/fuzz/corpus* hold the seeds.
fuzz: $(FUZZ_BIN) $(FUZZ_SNAP_BIN) $(FUZZ_LIT_BIN) $(FUZZ_ELOG_BIN)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus-snapshot build/fuzz/corpus-pylit \
	    build/fuzz/corpus-elog
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 build/fuzz/corpus tests/fuzz/corpus
	$(FUZZ_SNAP_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 build/fuzz/corpus-snapshot tests/fuzz/corpus-snapshot
	$(FUZZ_LIT_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	    -print_final_stats=1 build/fuzz/corpus-pylit tests/fuzz/corpus-pylit
	$(FUZZ_ELOG_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 build/fuzz/corpus-elog tests/fuzz/corpus-elog

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d)
