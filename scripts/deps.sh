#!/usr/bin/env bash
# Installs every Debian package vmkit needs to build, test, build guest images and benchmark.
# Idempotent: packages already present are skipped by apt-get. Run as root (or via sudo).
set -euo pipefail
PKGS=(
  # toolchain
  build-essential clang pkg-config make
  # libFuzzer runtime for clang -fsanitize=fuzzer (make fuzz-evm-interp)
  libclang-rt-14-dev
  # libraries vmkit links against
  libfdt-dev libslirp-dev libglib2.0-dev libseccomp-dev libsecp256k1-dev libssl-dev
  libgmp-dev libsqlite3-dev libcjson-dev liburing-dev
  # guest images: cross toolchain, kernel source, firmware, rootfs tools
  gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu linux-source-6.1 opensbi
  bc flex bison libelf-dev cpio xz-utils e2fsprogs debootstrap fakeroot
  device-tree-compiler
  # tests and benchmarks: differential ISA tests and the peer emulator
  qemu-user qemu-system-misc curl iproute2 python3
  # guest images (guest/): static qemu for the Debian rootfs second stage, file(1), GNU time for bench/riscv
  qemu-user-static file time
  # KVM engine (x86-64): the peer VMM for tests/kvm and bench/kvm (qemu microvm, TCG and KVM)
  qemu-system-x86
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "deps: all ${#PKGS[@]} packages present"; exit 0; fi
echo "deps: installing ${#missing[@]} packages: ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
