#!/usr/bin/env bash
# bench/snapshot/run.sh — snapshot create, restore-to-running and clones per second, vmkit vs QEMU side
# by side in the same run (README.md in this directory explains each figure).
#  1. in-process (bench/snapshot/snapbench.c, built here against build/lib): vmk_vm_snapshot full/diff,
#     vmk_vm_restore alone, restore until the guest retires instructions, N clones with disk overlays.
#  2. process-level (bench.py): vmkit run --api-sock (PUT /snapshot/create) / --restore / --clone-dir
#     vs qemu-system-riscv64 -M virt (HMP migrate "exec:cat > FILE" / -incoming "exec:cat FILE").
# Not a test: never fails on slowness. Usage: bench/snapshot/run.sh [--mem MIB] [--clones N]
#   [--inproc-clones N] [--reps N] [--vmkit-only]. Env: VMKIT_IMAGES, QEMU.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
QEMU=${QEMU:-qemu-system-riscv64}
MEM=256 CLONES=10 INCLONES=100 REPS=5 WHICH=vmkit,qemu
while [ $# -gt 0 ]; do
  case "$1" in
    --mem) MEM=$2; shift ;; --clones) CLONES=$2; shift ;; --inproc-clones) INCLONES=$2; shift ;;
    --reps) REPS=$2; shift ;; --vmkit-only) WHICH=vmkit ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench/snapshot/run.sh: unknown option $1"; exit 1 ;;
  esac; shift
done
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  [ -f "$IMG/$f" ] || { echo "bench/snapshot: no guest image $IMG/$f (make images)"; exit 1; }
done
command -v "$QEMU" >/dev/null || { echo "SKIP qemu: $QEMU not installed (package qemu-system-misc)"; WHICH=vmkit; }
W=$(mktemp -d /tmp/vmkit-snapbench.XXXXXX)
trap 'rm -rf "$W"' EXIT

make -C "$ROOT" -s -j2 build/vmkit || exit 1
L=$ROOT/build/lib
BIN=$ROOT/build/bench/snapbench
mkdir -p "$ROOT/build/bench"
cc -std=c17 -D_GNU_SOURCE -O2 -g -pthread -I"$ROOT/src" "$ROOT/bench/snapshot/snapbench.c" -o "$BIN" \
   -Wl,--start-group $L/libvmk_vm.a $L/libvmk_riscv.a $L/libvmk_kvm.a $L/libvmk_virtio.a $L/libvmk_dev.a \
   $L/libvmk_mem.a $L/libvmk_base.a -Wl,--end-group $(pkg-config --libs slirp glib-2.0) -lfdt -lseccomp \
   -lcrypto -lm || exit 1

echo "== in-process (vmkit library), ${MEM} MiB guest, busy loop, ${INCLONES} clones"
mkdir -p "$W/in"
"$BIN" "$IMG" "$W/in" "$MEM" "$INCLONES" "$REPS" | tee "$W/in.txt" | sed 's/^/  /'
echo "== process level, ${MEM} MiB guest, ${CLONES} clones ($WHICH)"
python3 "$ROOT/bench/snapshot/bench.py" --vmkit "$ROOT/build/vmkit" --qemu "$QEMU" --images "$IMG" --work "$W/p" \
  --mem "$MEM" --reps "$REPS" --clones "$CLONES" --which "$WHICH" | tee "$W/p.txt" | sed 's/^/  /'

v() { awk -v k="$1" '$1 == k { print $2 }' "$W/in.txt" "$W/p.txt"; }
row() {   # row LABEL VMKIT_KEY QEMU_KEY LOWER_IS_BETTER
  local x y r
  x=$(v "$2"); y=$(v "$3")
  if [ -n "$x" ] && [ -n "$y" ]; then r=$(awk -v x="$x" -v y="$y" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')
  else r=-; fi
  printf '| %-44s | %10s | %10s | %6s |\n' "$1" "${x:--}" "${y:--}" "$r"
}
echo
echo "${MEM} MiB guest, $(date -u +%F) on $(nproc) cores; ratio = vmkit / QEMU"
printf '| %-44s | %10s | %10s | %6s |\n' "figure" "vmkit" "QEMU" "ratio"
printf '| %-44s | %10s | %10s | %6s |\n' "---" "---" "---" "---"
row "snapshot create, ms (API request / QEMU total time)" vmkit_create_ms qemu_create_ms
row "snapshot create, wall ms until done (QEMU HMP)" vmkit_create_ms qemu_create_wall_ms
row "snapshot size on disk, KiB" vmkit_snapshot_kib qemu_snapshot_kib
row "restore to first guest output, ms (process)" vmkit_restore_to_running_ms qemu_restore_to_running_ms
row "clones/s ($CLONES processes until all print)" vmkit_clones_per_s qemu_clones_per_s
row "in-process: vmk_vm_snapshot full, ms" snapshot_full_ms -
row "in-process: vmk_vm_snapshot diff, ms" snapshot_diff_ms -
row "in-process: vmk_vm_restore, ms" restore_ms -
row "in-process: vmk_vm_restore of a diff, ms" restore_diff_ms -
row "in-process: restore to running, ms" restore_to_running_ms -
row "in-process: clones restored+started/s ($INCLONES)" clones_per_s -
row "in-process: $INCLONES clones all running, ms" clones_all_running_ms -
