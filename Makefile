# vmkit build. `make` builds build/vmkit; `make SAN=1` builds build-asan/ with ASan+UBSan;
# `make CC=clang` builds build-clang/. `make check` is the whole test suite (see README).
# Each src/<module>/ becomes a static library; a unit test tests/<module>/test_*.c links with its
# module's dependency closure only, so a half-written module never breaks another module's tests.
# Modules may add rules in src/<m>/*.mk or tests/<m>/*.mk (all included below).

CC      ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
SAN     ?= 0
ifeq ($(SAN),1)
B       ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     ?= -O1 -g
else ifneq ($(findstring clang,$(CC)),)
B       ?= build-clang
OPT     ?= -O2 -g
else
B       ?= build
OPT     ?= -O2 -g
endif

PKGS      := slirp glib-2.0
CFLAGS    ?=
CFLAGS    += -std=c17 -D_GNU_SOURCE= -Wall -Wextra -Werror $(OPT) $(SANFLAGS) -MMD -MP -pthread \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS   += $(SANFLAGS) -pthread
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfdt -lseccomp -lsecp256k1 -lcrypto -lgmp \
             -lsqlite3 -lcjson -lm

MODULES   := base mem dev virtio riscv kvm vm hv evm cli
# dependency closure of each module (what its tests link with, in link order)
DEPS_base   := base
DEPS_mem    := mem base
DEPS_dev    := dev mem base
DEPS_virtio := virtio mem base
DEPS_riscv  := riscv dev mem base
DEPS_kvm    := kvm dev mem base
DEPS_vm     := vm riscv kvm virtio dev mem base
DEPS_hv     := hv vm riscv kvm virtio dev mem base
DEPS_evm    := evm
DEPS_cli    := cli hv vm riscv kvm virtio dev mem base evm

srcs_of   = $(filter-out src/cli/main.c,$(wildcard src/$(1)/*.c))
objs_of   = $(patsubst src/%.c,$(B)/obj/%.o,$(call srcs_of,$(1)))
lib_of    = $(B)/lib/libvmk_$(1).a
libs_for  = $(foreach m,$(DEPS_$(1)),$(call lib_of,$(m)))

ALL_OBJS  := $(foreach m,$(MODULES),$(call objs_of,$(m)))
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))

.PHONY: all deps images check test unit clean run lint-clang $(addprefix mod-,$(MODULES))
all: $(B)/vmkit $(TEST_BINS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/tobj/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -c $< -o $@

define MODULE_RULES
$(call lib_of,$(1)): $(call objs_of,$(1)) $(B)/obj/empty.o
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
$(B)/tests/$(1)/%: $(B)/tobj/$(1)/%.o $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$< -Wl,--start-group $(call libs_for,$(1)) -Wl,--end-group $(LDLIBS)
mod-$(1): $(call libs_for,$(1)) $(filter $(B)/tests/$(1)/%,$(TEST_BINS))
endef
$(foreach m,$(MODULES),$(eval $(call MODULE_RULES,$(m))))

$(B)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'typedef int vmk_empty_unit;' | $(CC) -x c -c - -o $@

$(B)/vmkit: $(B)/obj/cli/main.o $(call libs_for,cli)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(call libs_for,cli) -Wl,--end-group $(LDLIBS)

deps:
	bash scripts/deps.sh

images: $(B)/vmkit
	bash guest/build.sh

# The whole suite: unit tests (normal + sanitizer build), then end-to-end tests with real guests.
check: deps
	bash tests/run.sh

# Unit tests only, for a quick loop during development.
unit: all
	bash tests/run.sh --unit-only

lint-clang:
	$(MAKE) CC=clang all

run: deps $(B)/vmkit
	bash guest/build.sh
	$(B)/vmkit run

clean:
	rm -rf build build-asan build-clang

-include $(wildcard src/*/*.mk tests/*/*.mk)
-include $(ALL_OBJS:.o=.d) $(patsubst $(B)/tests/%,$(B)/tobj/%.d,$(TEST_BINS))
