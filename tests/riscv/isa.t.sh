#!/usr/bin/env bash
# isa.t.sh — checks the bare-metal ISA test programs themselves on a reference machine: each
# tests/riscv/isa/*.S built for QEMU's virt board (-DQEMU_VIRT: pass/fail through its sifive_test
# device) must pass on qemu-system-riscv64. A program failing here is a test bug; one passing here
# and failing in test_isa (the unit test that runs them on vmkit's hart) is a hart bug.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
if ! command -v qemu-system-riscv64 >/dev/null; then
  echo "SKIP isa_qemu: qemu-system-riscv64 not installed (Debian qemu-system-misc)"; exit 0
fi
if ! command -v riscv64-linux-gnu-gcc >/dev/null; then
  echo "SKIP isa_qemu: riscv64-linux-gnu-gcc not installed (Debian gcc-riscv64-linux-gnu)"; exit 0
fi
make -s riscv-isa >/dev/null 2>&1 || { echo "FAIL isa_qemu: make riscv-isa failed"; exit 1; }
n=0
for src in tests/riscv/isa/*.S; do
  name=$(basename "$src" .S)
  case $name in u_*|ustub*) continue ;; esac
  elf=build/tests/riscv/isa-qemu/$name.elf
  [ -f "$elf" ] || { echo "FAIL isa_qemu_$name: $elf not built"; continue; }
  smp=1; case $name in smp*) smp=4 ;; esac
  timeout 60 qemu-system-riscv64 -M virt -smp $smp -bios none -kernel "$elf" -nographic -m 128M \
      -monitor none -serial none >/dev/null 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then echo "PASS isa_qemu_$name"
  elif [ $rc -eq 124 ]; then echo "FAIL isa_qemu_$name: timed out on qemu"
  else echo "FAIL isa_qemu_$name: case $rc failed on qemu-system-riscv64"; fi
  n=$((n+1))
done
[ $n -gt 0 ] || echo "FAIL isa_qemu: no programs found"
