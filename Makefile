# mk — build, run, test.  See README.md.
#
#   make            build/mkd and the tools
#   make run        deps + build + mkd in the foreground on ./.mk-data
#   make test       deps + build + every test; ends with "N passed, N failed"
#   make asan       the same binaries with Address+UndefinedBehaviorSanitizer
#   make bench      benchmarks against etcd (not part of make test)

BUILD   ?= build
CC      ?= cc
PKGS    := dqlite raft libuv sqlite3 yaml-0.1 jansson openssl libcurl libarchive libnftables
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter \
	-Wno-format-truncation -g -O2 -D_GNU_SOURCE
SAN     ?=
CFLAGS  += $(CFLAGS_BASE) $(SAN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lpthread
LDFLAGS += $(SAN)

# Subsystems with generated sources describe them in their own fragment
# (e.g. core/schema/schema.mk sets GEN_OBJ).
-include $(wildcard core/*/*.mk)

# Every core/<subsystem>/*.c but the programs' own (mkd, mk-shim) goes into
# libmk.a, which mkd, mk, the tools and the tests link against.
LIB_SRC   := $(filter-out core/mkd/% core/shim/%,$(wildcard core/*/*.c))
SHIM_SRC  := $(wildcard core/shim/*.c)
SHIM_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(SHIM_SRC))
MKD_SRC   := $(wildcard core/mkd/*.c)
CLI_SRC   := $(wildcard cli/*.c)
LIB_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(GEN_OBJ)
MKD_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(MKD_SRC))
CLI_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))

UNIT_SRC  := $(wildcard tests/unit/test_*.c)   # support.c is shared, not a test
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOLS     := $(BUILD)/storectl $(BUILD)/store-bench $(BUILD)/api-bench $(BUILD)/pod-bench \
	     $(BUILD)/sched-bench

.PHONY: all deps run test asan fuzz bench clean
all: $(BUILD)/mkd $(BUILD)/mk $(BUILD)/mk-shim $(TOOLS) $(UNIT_BIN)

deps:
	@sh tests/deps.sh

# Keep objects: they are not throw-away intermediates.
.SECONDARY:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmk.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	@rm -f $@  # ar never drops members whose sources were deleted
	@$(AR) rcs $@ $^

$(BUILD)/mkd: $(MKD_OBJ) $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mk: $(CLI_OBJ) $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The container shim stays small and links only what it uses from libmk.a
# (the CRI log writer): one runs per container, for the container's life.
$(BUILD)/mk-shim: $(SHIM_OBJ) $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs jansson 2>/dev/null)

$(BUILD)/storectl: $(BUILD)/obj/tests/tools/storectl.o $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/store-bench: $(BUILD)/obj/bench/store_bench.o $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcurl

$(BUILD)/api-bench: $(BUILD)/obj/bench/api_bench.o $(BUILD)/obj/bench/api_client.o \
		$(BUILD)/obj/bench/api_watch.o $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcurl

$(BUILD)/pod-bench: $(BUILD)/obj/bench/pod_bench.o $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sched-bench: $(BUILD)/obj/bench/sched_bench.o $(BUILD)/libmk.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/support.o $(BUILD)/libmk.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka




# Fuzz targets (libFuzzer, clang): built by `make all` when clang is present;
# tests/run.sh runs each for a bounded time.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
ifneq ($(shell command -v clang 2>/dev/null),)
all: $(FUZZ_BIN)
endif
# What each target links, besides its own file: the parser under test and
# what it needs (not all of libmk: libFuzzer wants everything instrumented).
FUZZ_LIB_SRC_fuzz_wire     := core/store/dq_wire.c core/base/buf.c
FUZZ_LIB_SRC_fuzz_patch    := $(wildcard core/api/patch*.c) core/base/buf.c core/base/err.c
FUZZ_LIB_SRC_fuzz_selector := $(wildcard core/api/selector_*.c) core/api/object.c core/base/buf.c core/base/err.c
FUZZ_LIB_SRC_fuzz_query    := core/api/query.c core/api/object.c
FUZZ_LIB_SRC_fuzz_cri_log  := core/api/pod_log_cri.c
FUZZ_LIB_SRC_fuzz_websocket := core/http/websocket_frame.c core/base/buf.c core/base/err.c
FUZZ_LIBS := $(shell pkg-config --cflags --libs jansson libuv openssl 2>/dev/null) -lm
.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%.c $$(FUZZ_LIB_SRC_$$*)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $^ -o $@ $(FUZZ_LIBS)

# run, test and bench build in a sub-make: on a fresh machine pkg-config
# only knows the libraries after `deps` installed them.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p .mk-data
	$(BUILD)/mkd --data-dir .mk-data --address 127.0.0.1

test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 sh tests/run.sh build-asan

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(BUILD)
	@sh bench/api_run.sh $(BUILD)
	@bash bench/pod_run.sh $(BUILD)
	@bash bench/sched_run.sh $(BUILD)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
