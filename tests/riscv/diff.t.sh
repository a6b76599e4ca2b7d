#!/usr/bin/env bash
# diff.t.sh — differential tests of vmkit's RISC-V hart against qemu-riscv64 (Debian qemu-user):
# the same static user programs run on both and their outputs (register/FP/fcsr/memory dumps or
# computed results) must be identical. Programs: seeded random instruction sequences from
# tests/riscv/isa/gen_diff.py (VMKIT_DIFF_SEED, VMKIT_DIFF_COUNT, VMKIT_DIFF_LEN) and the
# hand-written tests/riscv/isa/u_*.c / u_*.S. The hart side runs each program three times: in U-mode
# under test_isa --user (no translation), --user-vm (Sv39, 4 KiB pages) and in S-mode under Sv39
# (--user-s): NAME, vm_NAME and s_NAME.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
for tool in qemu-riscv64 riscv64-linux-gnu-gcc python3; do
  command -v $tool >/dev/null || { echo "SKIP riscv_diff: $tool not installed"; exit 0; }
done
RUNNER=${VMKIT_ISA_RUNNER:-build/tests/riscv/test_isa}
[ -x "$RUNNER" ] || make -s "$RUNNER" >/dev/null 2>&1
[ -x "$RUNNER" ] || { echo "FAIL riscv_diff: $RUNNER not built"; exit 1; }
make -s riscv-isa >/dev/null 2>&1
for stub in ustub ustub_vm ustub_s; do
  [ -f build/tests/riscv/isa/$stub.elf ] || { echo "FAIL riscv_diff: build/tests/riscv/isa/$stub.elf not built"; exit 1; }
done
case $("$RUNNER" --user /dev/null 2>&1) in
  *"built without the hart"*) echo "SKIP riscv_diff: the runner was built without the hart"; exit 0 ;;
esac
SEED=${VMKIT_DIFF_SEED:-20261121}
COUNT=${VMKIT_DIFF_COUNT:-48}
LEN=${VMKIT_DIFF_LEN:-600}
# one directory per run: several runs may share this working tree; kept when something fails
mkdir -p build/tests/riscv/diff
OUT=$(mktemp -d build/tests/riscv/diff/run.XXXXXX) || { echo "FAIL riscv_diff: mktemp failed"; exit 1; }
mkdir -p "$OUT/gen"
CC="riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -nostdlib -nostartfiles -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T tests/riscv/isa/u_link.ld"
python3 tests/riscv/isa/gen_diff.py --seed "$SEED" --count "$COUNT" --len "$LEN" --out "$OUT/gen" \
  || { echo "FAIL riscv_diff: generator failed"; exit 1; }

# names of the dump lines of generated programs
names() {
  for i in $(seq 0 31); do echo "x$i"; done
  for i in $(seq 0 31); do echo "f$i"; done
  echo fcsr
  for i in $(seq 0 31); do echo "mem[$((i*8))]"; done
}
names > "$OUT/names"
FAILS=0
fail() { echo "FAIL $*"; FAILS=$((FAILS+1)); }

compare() {  # compare <name> <elf> <generated 0|1>: U-mode bare, U-mode under Sv39, S-mode under Sv39
  local qr
  timeout 60 qemu-riscv64 "$2" > "$OUT/$1.qemu" 2>"$OUT/$1.qemu.err"; qr=$?
  compare1 "$1" "$2" "$3" --user "$qr" "$OUT/$1.qemu"
  compare1 "vm_$1" "$2" "$3" --user-vm "$qr" "$OUT/$1.qemu"
  compare1 "s_$1" "$2" "$3" --user-s "$qr" "$OUT/$1.qemu"
}
compare1() {  # compare1 <name> <elf> <gen> <runner mode> <qemu status> <qemu output>
  local name=$1 elf=$2 gen=$3 q=$6 v=$OUT/$1.vmkit qr=$5 vr
  timeout 120 "$RUNNER" "$4" "$elf" > "$v" 2>"$v.err"; vr=$?
  if [ $qr -ne $vr ]; then
    fail "$name: exit status qemu $qr, vmkit $vr $(head -c 300 "$v.err" | tr '\n' ' ')"; return
  fi
  if cmp -s "$q" "$v"; then echo "PASS $name"; return; fi
  local first
  if [ "$gen" = 1 ]; then
    # line k of the dump is slot k: x0..x31 (x0 and x2 are not stored), f0..f31, fcsr, buffer
    first=$(paste -d' ' "$OUT/names" "$q" "$v" | awk '$2 != $3 { print $1 ": qemu " $2 " vmkit " $3 }' | head -n 3 | tr '\n' ';')
  else
    first=$(diff "$q" "$v" | head -n 4 | tr '\n' ' ')
  fi
  fail "$name: output differs: $first"
}

for s in "$OUT"/gen/*.S; do
  name=$(basename "$s" .S)
  if ! $CC "$s" -o "$OUT/$name.elf" 2>"$OUT/$name.as.log"; then
    fail "$name: does not assemble: $(head -n 2 "$OUT/$name.as.log" | tr '\n' ' ')"; continue
  fi
  compare "$name" "$OUT/$name.elf" 1
done
for s in tests/riscv/isa/u_*.c tests/riscv/isa/u_*.S; do
  [ -f "$s" ] || continue
  case $s in */u_crt.S) continue ;; esac
  name=diff_$(basename "${s%.*}")
  if [ "${s##*.}" = c ]; then
    $CC -O2 -ffreestanding -fno-stack-protector -Itests/riscv/isa tests/riscv/isa/u_crt.S "$s" -lgcc -o "$OUT/$name.elf" 2>"$OUT/$name.cc.log"
  else
    $CC "$s" -o "$OUT/$name.elf" 2>"$OUT/$name.cc.log"
  fi || { fail "$name: does not build: $(head -n 2 "$OUT/$name.cc.log" | tr '\n' ' ')"; continue; }
  compare "$name" "$OUT/$name.elf" 0
done
if [ "$FAILS" -eq 0 ]; then rm -rf "$OUT"; else echo "  ($FAILS failed: programs and outputs kept in $OUT)"; fi
