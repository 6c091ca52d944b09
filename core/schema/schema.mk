# core/schema: the Kubernetes type tables are generated at build time from
# the API descriptors embedded in kubectl (see core/schema/README.md).
# Included by the main Makefile before it defines LIB_OBJ (which adds
# GEN_OBJ) and before its first rule.

SCHEMA_GEN := $(BUILD)/gen/k8s_schema.c
GEN_OBJ    := $(BUILD)/obj/gen/k8s_schema.o
# Regenerate when the generator or the kubectl it reads changes.
SCHEMA_KUBECTL := $(realpath $(or $(KUBECTL),$(shell command -v kubectl 2>/dev/null)))

# This fragment is read before the main Makefile's first rule: keep `all`
# the default goal by not letting the rules below claim it.
schema_saved_goal := $(.DEFAULT_GOAL)

$(SCHEMA_GEN): core/schema/gen_schema.py $(SCHEMA_KUBECTL)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@/usr/bin/python3 core/schema/gen_schema.py $@

$(GEN_OBJ): $(SCHEMA_GEN)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Icore/schema -MMD -MP -c $< -o $@

# The libFuzzer target needs the schema sources and jansson; this explicit
# rule takes precedence over the Makefile's generic $(BUILD)/fuzz/% rule.
$(BUILD)/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c $(wildcard core/schema/*.c) $(SCHEMA_GEN)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Icore/schema -fsanitize=fuzzer,address,undefined \
		$(filter %.c,$^) -o $@ $(shell pkg-config --cflags --libs jansson) -lm

.DEFAULT_GOAL := $(schema_saved_goal)
