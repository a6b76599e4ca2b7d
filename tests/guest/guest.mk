# tests/guest/guest.mk — make targets of the guest-images part (auto-included by the Makefile).
# `make debian-image`: the on-demand Debian trixie riscv64 root filesystem (build/images/debian.ext4).
.PHONY: debian-image bench-riscv
debian-image:
	bash guest/build.sh debian
# `make bench-riscv`: the vmkit vs qemu-system-riscv64 boot/CPU benchmark (bench/riscv/boot.sh).
bench-riscv: images
	bash bench/riscv/boot.sh
