# heapd — one Makefile for the daemon, the client, the tests and the benches.
#
#   make                 build $(B)/heapd and $(B)/heapctl
#   make run ARGS=...    build and run heapd in the foreground
#   make test            build everything, run every unit test (+ integration)
#   make test SANITIZE=1 the same with ASan+UBSan, in build/san
#   make valgrind        unit tests under valgrind (VALGRIND_SKIP="test_x ...")
#   make bench           build the benches and run bench/run.sh
#   make format | format-check | clean

CC ?= cc
AR ?= ar
CLANG_FORMAT ?= clang-format
VALGRIND ?= valgrind

PKGS        := libuv msgpack libcjson
CLIENT_PKGS := libedit
# heapd only (daemon/notify.c: sd_notify, the watchdog, socket activation);
# the unit tests, benches and fuzzer link it too, since they link libheapd.a.
DAEMON_PKGS := libsystemd
TEST_PKGS   := cmocka

ifeq ($(SANITIZE),1)
B        := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
else
B        := build
SANFLAGS :=
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

CFLAGS   = -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Iproto -Idaemon $(PKG_CFLAGS) \
           $(DAEMON_CFLAGS) $(SANFLAGS)
DEPFLAGS = -MMD -MP
LDFLAGS  = $(SANFLAGS)
LDLIBS   = $(PKG_LIBS) -lm

# ---- sources (wildcards: new files are picked up without editing this) ----

PROTO_SRCS  := $(wildcard proto/*.c)
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
CLIENT_SRCS := $(wildcard client/*.c)
TEST_SRCS   := $(wildcard tests/unit/test_*.c)
TESTLIB_SRC := $(wildcard tests/unit/testlib.c)
BENCH_SRCS  := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(B)/%.o,$(1))

PROTO_OBJS   := $(call obj,$(PROTO_SRCS))
DAEMON_OBJS  := $(call obj,$(DAEMON_SRCS))
MAIN_OBJ     := $(call obj,daemon/main.c)
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
.PHONY: all deps run tests test valgrind bench-build bench format format-check clean fuzz
.DEFAULT_GOAL := all

all: $(HEAPD) $(HEAPCTL)

# Cheap and stamp-free: one pkg-config call per make invocation.
deps:
	@if ! command -v $(firstword $(CC)) >/dev/null 2>&1 || \
	    ! command -v scdoc >/dev/null 2>&1 || \
	    ! pkg-config --exists $(PKGS) $(CLIENT_PKGS) $(DAEMON_PKGS) $(TEST_PKGS) 2>/dev/null; then \
	    echo "deps: build dependencies missing; running scripts/install-deps.sh" >&2; \
	    scripts/install-deps.sh; \
	fi

# ---- compile ----

$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/client/%.o: client/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CLIENT_CFLAGS) -Iclient $(DEPFLAGS) -c -o $@ $<

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

run: $(HEAPD)
	$(HEAPD) $(ARGS)

# Runs each test in turn, shows its output, and ends with "N passed, N failed".
test: all tests bench-build
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
	[ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "$$pass passed, $$fail failed"; \
	[ "$$fail" -eq 0 ]

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

bench: bench-build all
	@if [ -x bench/run.sh ]; then HEAPD=$(HEAPD) HEAPCTL=$(HEAPCTL) BUILD_DIR=$(B) bench/run.sh; \
	elif [ -f bench/run.sh ]; then HEAPD=$(HEAPD) HEAPCTL=$(HEAPCTL) BUILD_DIR=$(B) sh bench/run.sh; \
	else echo "bench: no bench/run.sh; built $(words $(BENCH_BINS)) bench binaries in $(B)/bench"; fi

# ---- housekeeping ----

FORMAT_FILES = find . \( -path ./build -o -path ./.git \) -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print

format:
	@$(FORMAT_FILES) | xargs -r $(CLANG_FORMAT) -i

format-check:
	@$(FORMAT_FILES) | xargs -r $(CLANG_FORMAT) --dry-run --Werror

# ---- fuzzing: libFuzzer (clang) over the request path; FUZZ_SECONDS long ----

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BIN     := build/fuzz/fuzz_dispatch
FUZZ_FLAGS    = -std=c11 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE -Iproto -Idaemon $(PKG_CFLAGS) \
                $(DAEMON_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_BIN): tests/fuzz/fuzz_dispatch.c $(DAEMON_SRCS) $(PROTO_SRCS) | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS) $(DAEMON_LIBS) -lm

# New inputs go to build/fuzz/corpus; tests/fuzz/corpus holds the seeds.
fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 build/fuzz/corpus tests/fuzz/corpus

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d)
