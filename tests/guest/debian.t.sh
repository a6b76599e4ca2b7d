#!/usr/bin/env bash
# tests/guest/debian.t.sh — boots the Debian trixie riscv64 image (build/images/debian.ext4, made on demand
# by `guest/build.sh debian`) with systemd to multi-user.target (owned by the guest-images part): under
# $VMKIT, and under qemu-system-riscv64 as the reference. Checks the vmkit-ready marker line and the
# vmkit.run= protocol (a systemd query run inside the guest). SKIPs with the reason when it cannot run.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
QEMU=${QEMU:-qemu-system-riscv64}
# Bounds: vmkit's interpreter is slower than qemu's JIT; both stay under tests/run.sh's 1800 s per script.
VTIMEOUT=${DEBIAN_VMKIT_TIMEOUT:-1100}
QTIMEOUT=${DEBIAN_QEMU_TIMEOUT:-500}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

if [ ! -s "$IMG/debian.ext4" ]; then
  echo "SKIP debian-vmkit-boot: $IMG/debian.ext4 not built (run 'sudo guest/build.sh debian' or 'make debian-image', ~15 min)"
  echo "SKIP debian-qemu-boot: $IMG/debian.ext4 not built (run 'sudo guest/build.sh debian' or 'make debian-image', ~15 min)"
  exit 0
fi
for f in Image fw_dynamic.bin; do
  [ -s "$IMG/$f" ] || { echo "FAIL debian-images: $IMG/$f missing (run guest/build.sh)"; exit 1; }
done

CMD='systemctl is-active multi-user.target; . /etc/os-release; echo "$ID $VERSION_CODENAME $(uname -m)"'
APPEND="root=/dev/vda rw console=ttyS0 vmkit.run=b64:$(printf '%s' "$CMD" | base64 -w0)"
EXPECT=$(printf 'active\ndebian trixie riscv64')

# check <name> <log> <seconds>: the marker line, then the protocol output
check() {
  local name=$1 log=$2 secs=$3 out
  tr -d '\r' < "$log" > "$log.txt"
  if ! grep -q 'vmkit debian ready: multi-user.target reached' "$log.txt"; then
    echo "FAIL $name: no multi-user.target marker after ${secs}s; last lines: $(tail -n 5 "$log.txt" | tr '\n' '|')"; return
  fi
  # The serial getty's auto-login may print between the markers: look for the expected lines in order.
  out=$(sed -n '/VMKIT-RUN-BEGIN/,/VMKIT-RUN-END rc=/p' "$log.txt" | sed '1d;$d' | grep -xF -e active -e 'debian trixie riscv64')
  if [ "$out" = "$EXPECT" ] && grep -q 'VMKIT-RUN-END rc=0' "$log.txt"; then
    echo "PASS $name (${secs}s to power-off, $(grep -o 'multi-user.target reached (uptime [0-9.]*s)' "$log.txt"))"
  else
    echo "FAIL $name: run output '$(echo "$out" | tr '\n' '|')', expected '$(echo "$EXPECT" | tr '\n' '|')'"
  fi
}

# Each boot gets its own copy: the guest writes to its root filesystem.
# vmkit: its command line is a template ({kernel} {bios} {disk} {append}); default below.
if [ ! -x "$VMKIT" ]; then
  echo "SKIP debian-vmkit-boot: $VMKIT not built"
else
  cp --sparse=always "$IMG/debian.ext4" "$TMP/v.ext4"
  tmpl=${VMKIT_DISK_RUN_CMD:-'{vmkit} run --bios {bios} --kernel {kernel} --disk {disk} --mem 512M --cmdline {append}'}
  cmd=()
  for w in $tmpl; do
    case "$w" in
      '{vmkit}') cmd+=("$VMKIT") ;; '{bios}') cmd+=("$IMG/fw_dynamic.bin") ;; '{kernel}') cmd+=("$IMG/Image") ;;
      '{disk}') cmd+=("$TMP/v.ext4") ;; '{append}') cmd+=("$APPEND") ;; *) cmd+=("$w") ;;
    esac
  done
  t0=$SECONDS
  timeout "$VTIMEOUT" "${cmd[@]}" < /dev/null > "$TMP/v.log" 2>&1
  check debian-vmkit-boot "$TMP/v.log" $((SECONDS - t0))
fi

if ! command -v "$QEMU" >/dev/null 2>&1; then
  echo "SKIP debian-qemu-boot: $QEMU not installed (package qemu-system-misc)"
else
  cp --sparse=always "$IMG/debian.ext4" "$TMP/q.ext4"
  t0=$SECONDS
  timeout "$QTIMEOUT" "$QEMU" -M virt -smp 2 -m 512M -nographic -no-reboot -bios "$IMG/fw_dynamic.bin" \
    -kernel "$IMG/Image" -append "$APPEND" \
    -drive "file=$TMP/q.ext4,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0 \
    -netdev user,id=n0 -device virtio-net-device,netdev=n0 < /dev/null > "$TMP/q.log" 2>&1
  check debian-qemu-boot "$TMP/q.log" $((SECONDS - t0))
fi
