# tests/kvm/guests.mk — the freestanding x86-64 test guests of the KVM engine (tests/kvm/guests/), built
# with the host gcc as bzImage-shaped files into build/kvm-guests/<name>.bzimage, plus ELF <name>.vmlinux
# variants of hello and bootcheck (`make kvm-guests`;
# `make` builds them too on x86-64 hosts). Also `make images-x86` (guest/x86/build.sh: the x86-64 Linux
# guest images) and `make bench-kvm` (bench/kvm/run.sh).
KG_DIR   := build/kvm-guests
KG_SRC   := tests/kvm/guests
KG_NAMES := hello bootcheck virtio smp
KG_CC    ?= gcc
KG_CFLAGS := -std=gnu11 -O2 -ffreestanding -nostdlib -static -fno-pic -fno-pie -no-pie -mno-red-zone \
             -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin \
             -Wall -Wextra -Werror -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments
KG_COMMON := $(KG_SRC)/header.S $(KG_SRC)/start.S $(KG_SRC)/lib.c

.PHONY: kvm-guests images-x86 bench-kvm
.PRECIOUS: $(KG_DIR)/%.elf
kvm-guests: $(foreach g,$(KG_NAMES),$(KG_DIR)/$(g).bzimage) $(KG_DIR)/hello.vmlinux $(KG_DIR)/bootcheck.vmlinux

$(KG_DIR)/%.elf: $(KG_SRC)/%.c $(KG_COMMON) $(KG_SRC)/lib.h $(KG_SRC)/guest.ld
	@mkdir -p $(dir $@)
	$(KG_CC) $(KG_CFLAGS) -T $(KG_SRC)/guest.ld -o $@ $(KG_COMMON) $<

$(KG_DIR)/%.bzimage: $(KG_DIR)/%.elf
	objcopy -O binary $< $@.tmp && mv $@.tmp $@

# The same guests as ELF vmlinux files (no setup area): booted at their ELF entry point, as Firecracker does.
$(KG_DIR)/%.vmlinux: $(KG_DIR)/%.elf
	@objcopy --remove-section=.setup $< $@.tmp 2>$@.log || { cat $@.log; exit 1; }   # (warns: empty segment)
	@rm -f $@.log; mv $@.tmp $@

ifeq ($(shell uname -m),x86_64)
all: kvm-guests
endif

images-x86:
	bash guest/x86/build.sh

bench-kvm: $(B)/vmkit kvm-guests
	bash bench/kvm/run.sh
