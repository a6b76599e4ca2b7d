# tests/riscv/module.mk — builds the bare-metal ISA test programs (tests/riscv/isa/*.S) and the
# user-mode differential-test support with Debian's riscv64-linux-gnu cross toolchain into
# build/tests/riscv/isa/*.elf (one place for every build flavour: the runner finds them there).
# Without the cross compiler nothing is built and the runner prints SKIP.
RV_CROSS    ?= riscv64-linux-gnu-
RV_HAVE_CROSS := $(shell command -v $(RV_CROSS)gcc 2>/dev/null)
RV_ISA_DIR  := build/tests/riscv/isa
RV_ISA_SRCS := $(wildcard tests/riscv/isa/*.S)
RV_ISA_SRCS := $(filter-out tests/riscv/isa/u_%.S,$(RV_ISA_SRCS))
RV_ISA_ELFS := $(patsubst tests/riscv/isa/%.S,$(RV_ISA_DIR)/%.elf,$(RV_ISA_SRCS))
RV_ISA_CFLAGS := -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -Wl,--build-id=none \
                 -Itests/riscv/isa

ifneq ($(RV_HAVE_CROSS),)
$(RV_ISA_DIR)/%.elf: tests/riscv/isa/%.S tests/riscv/isa/isa.inc tests/riscv/isa/link.ld
	@mkdir -p $(dir $@)
	$(RV_CROSS)gcc $(RV_ISA_CFLAGS) -T tests/riscv/isa/link.ld $< -o $@.$$$$.tmp && mv $@.$$$$.tmp $@

.PHONY: riscv-isa
riscv-isa: $(RV_ISA_ELFS)
$(B)/tests/riscv/test_isa: | $(RV_ISA_ELFS)
mod-riscv: riscv-isa
endif

# The ISA runner drives the hart through cpu.h; until the hart (src/riscv/cpu.c) exists it builds as
# a stub that prints SKIP. Rebuilt when cpu.c appears.
$(B)/tobj/riscv/test_isa.o: CFLAGS += $(if $(wildcard src/riscv/cpu.c),-DRV_HAVE_HART=1)
$(B)/tobj/riscv/test_isa.o: $(wildcard src/riscv/cpu.c)

# The same programs for QEMU's virt machine (pass/fail through its sifive_test device): isa.t.sh runs
# them on qemu-system-riscv64 to check the tests' own expectations independently of our hart.
RV_ISA_QDIR  := build/tests/riscv/isa-qemu
RV_ISA_QELFS := $(patsubst tests/riscv/isa/%.S,$(RV_ISA_QDIR)/%.elf,$(RV_ISA_SRCS))
ifneq ($(RV_HAVE_CROSS),)
$(RV_ISA_QDIR)/%.elf: tests/riscv/isa/%.S tests/riscv/isa/isa.inc tests/riscv/isa/link.ld
	@mkdir -p $(dir $@)
	$(RV_CROSS)gcc $(RV_ISA_CFLAGS) -DQEMU_VIRT -T tests/riscv/isa/link.ld $< -o $@.$$$$.tmp && mv $@.$$$$.tmp $@
riscv-isa: $(RV_ISA_QELFS)
$(B)/tests/riscv/test_isa: | $(RV_ISA_QELFS)
endif
ifneq ($(RV_HAVE_CROSS),)
$(RV_ISA_DIR)/ustub_vm.elf $(RV_ISA_QDIR)/ustub_vm.elf $(RV_ISA_DIR)/ustub_s.elf $(RV_ISA_QDIR)/ustub_s.elf: \
    tests/riscv/isa/ustub.S
endif
