#!/usr/bin/env bash
# tests/guest/images.t.sh — checks the guest images built by guest/build.sh (owned by the guest-images
# part): files exist and are what they claim (Image header, cpio contents, static riscv64 busybox, ext4
# passes e2fsck -n, the manifest), then boots them under the reference emulator qemu-system-riscv64:
# the initramfs to its banner with DHCP on virtio-net, the vmkit.run= protocol, disk.ext4 as a second
# disk and disk.ext4 as the root filesystem with its httpd. Each boot is time-bounded.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
QEMU=${QEMU:-qemu-system-riscv64}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
DISK_TEXT="vmkit disk.ext4: busybox httpd OK"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

missing=
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4 manifest; do
  [ -s "$IMG/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
  fail images-exist "missing in $IMG:$missing (run guest/build.sh)"; exit 1
fi
pass images-exist

# RISC-V Linux Image header: magic "RISCV\0\0\0" at 0x30 and magic2 "RSC\x05" at 0x38 (little endian).
m1=$(od -An -c -j 48 -N 5 "$IMG/Image" | tr -d ' \n')
m2=$(od -An -tx1 -j 56 -N 4 "$IMG/Image" | tr -d ' \n')
if [ "$m1" = RISCV ] && [ "$m2" = 52534305 ]; then pass image-header; else fail image-header "magic '$m1' / '$m2'"; fi

# The kernel's .config (copied beside Image) has every option of guest/kernel.config.
if [ -f "$IMG/kernel.config" ] && [ -f "$ROOT/guest/kernel.config" ]; then
  bad=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$ROOT/guest/kernel.config" | while read -r l; do grep -qxF "$l" "$IMG/kernel.config" || echo "$l"; done | tr '\n' ' ')
  if [ -z "$bad" ]; then pass kernel-config; else fail kernel-config "missing in the built config: $bad"; fi
else
  fail kernel-config "$IMG/kernel.config or guest/kernel.config missing"
fi

if cmp -s "$IMG/fw_dynamic.bin" /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin; then
  pass firmware-is-opensbi
else
  fail firmware-is-opensbi "fw_dynamic.bin differs from Debian's OpenSBI"
fi

if ! gzip -t "$IMG/initramfs.cpio.gz" 2>/dev/null; then
  fail initramfs-contents "not a valid gzip file"
else
  list=$(gzip -dc "$IMG/initramfs.cpio.gz" | cpio -it --quiet 2>/dev/null)
  bad=
  for want in init sbin/vmkit-init bin/busybox bin/sh sbin/poweroff dev/console etc/udhcpc/default.script bin/cpubench; do
    grep -qx "$want" <<<"$list" || bad="$bad $want"
  done
  if [ -z "$bad" ]; then pass initramfs-contents; else fail initramfs-contents "missing:$bad"; fi
  (cd "$TMP" && gzip -dc "$IMG/initramfs.cpio.gz" | cpio -id --quiet bin/busybox bin/cpubench 2>/dev/null)
  if file -b "$TMP/bin/busybox" 2>/dev/null | grep -q 'RISC-V.*statically linked'; then
    pass busybox-static-riscv64
  else
    fail busybox-static-riscv64 "bin/busybox is: $(file -b "$TMP/bin/busybox" 2>&1)"
  fi
fi

if e2fsck -fn "$IMG/disk.ext4" > "$TMP/fsck.log" 2>&1; then pass disk-e2fsck; else fail disk-e2fsck "$(tail -n1 "$TMP/fsck.log")"; fi
got=$(debugfs -R 'cat /www/index.html' "$IMG/disk.ext4" 2>/dev/null)
init=$(debugfs -R 'stat /sbin/init' "$IMG/disk.ext4" 2>/dev/null | grep -c 'Type: symlink')
if [ "$got" = "$DISK_TEXT" ] && [ "$init" = 1 ]; then pass disk-contents; else fail disk-contents "index.html='$got', /sbin/init symlink=$init"; fi

bad=
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  grep -q "^$f " "$IMG/manifest" || bad="$bad $f"
  want=$(sha256sum "$IMG/$f" | cut -d' ' -f1)
  grep -q "^sha256 $want  $f\$" "$IMG/manifest" || bad="$bad sha256($f)"
done
if [ -z "$bad" ]; then pass manifest; else fail manifest "manifest lacks or mismatches:$bad"; fi

# ---- boots under qemu-system-riscv64 (the reference emulator)
if ! command -v "$QEMU" >/dev/null 2>&1; then
  for t in qemu-initramfs-boot qemu-run-protocol qemu-second-disk qemu-virtio-rng-console qemu-disk-root disk-clean-after-boot; do
    skip "$t" "$QEMU not installed (package qemu-system-misc)"
  done
  exit 0
fi

# qboot <log> <append> [extra qemu args...]: boots Image+initramfs (or not, see QB_NOINITRD), bounded.
qboot() {
  local log=$1 append=$2; shift 2
  local initrd=(-initrd "$IMG/initramfs.cpio.gz")
  [ "${QB_NOINITRD:-0}" = 1 ] && initrd=()
  local t0=$EPOCHREALTIME
  timeout "$BOOT_TIMEOUT" "$QEMU" -M virt -smp 2 -m 256M -nographic -no-reboot -bios "$IMG/fw_dynamic.bin" \
    -kernel "$IMG/Image" "${initrd[@]}" -append "console=ttyS0 $append" "$@" < /dev/null > "$log" 2>&1
  local rc=$?
  BOOT_SECS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  tr -d '\r' < "$log" > "$log.txt"
  return $rc
}
# run_output <log.txt>: the lines between the protocol markers
run_output() { sed -n '/^VMKIT-RUN-BEGIN$/,/VMKIT-RUN-END rc=/p' "$1" | sed '1d;$d'; }

enc() { printf 'b64:%s' "$(printf '%s' "$1" | base64 -w0)"; }

# 1. initramfs with virtio-net (DHCP from QEMU's user network) and the run protocol
cmd='uname -m; cat /proc/sys/kernel/osrelease; ip -4 -o addr show dev eth0 | awk "{print \$4}"; cpubench 1 | cut -d" " -f1,2; exit 7'
qboot "$TMP/b1" "vmkit.run=$(enc "$cmd")" -netdev user,id=n0 -device virtio-net-device,netdev=n0
rc=$?
if grep -q '^vmkit guest ready (initramfs' "$TMP/b1.txt"; then
  pass "qemu-initramfs-boot (${BOOT_SECS}s to power-off)"
else
  fail qemu-initramfs-boot "no banner (qemu rc=$rc); last lines: $(tail -n 5 "$TMP/b1.txt" | tr '\n' '|')"
fi
out=$(run_output "$TMP/b1.txt")
exp=$(printf 'riscv64\n%s\n10.0.2.15/24\nCPUBENCH scale=1' "$(grep -o 'Linux version [^ ]*' "$TMP/b1.txt" | cut -d' ' -f3)")
if [ "$out" = "$exp" ] && grep -q '^VMKIT-RUN-END rc=7$' "$TMP/b1.txt" && grep -q 'reboot: Power down' "$TMP/b1.txt"; then
  pass qemu-run-protocol
else
  fail qemu-run-protocol "output '$(echo "$out" | tr '\n' '|')' expected '$(echo "$exp" | tr '\n' '|')', end: $(grep -o 'VMKIT-RUN-END.*' "$TMP/b1.txt")"
fi

# 2. disk.ext4 as a second disk, mounted on request (vmkit.mount=), %-encoded command
cp --sparse=always "$IMG/disk.ext4" "$TMP/disk.ext4"
#    plus the kernel's virtio-rng (hw_random) and virtio-console drivers
cmd='cat /mnt/www/index.html; cat /sys/class/misc/hw_random/rng_current; head -c 16 /dev/hwrng | wc -c; ls /sys/bus/virtio/drivers/virtio_console | grep -c virtio'
qboot "$TMP/b2" "vmkit.net=0 vmkit.mount=/dev/vda:/mnt:ro vmkit.run=$(enc "$cmd")" \
  -drive "file=$TMP/disk.ext4,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0 \
  -device virtio-rng-device -device virtio-serial-device -chardev null,id=c0 -device virtconsole,chardev=c0
out=$(run_output "$TMP/b2.txt")
if [ "$(head -n1 <<<"$out")" = "$DISK_TEXT" ] && grep -q '^VMKIT-RUN-END rc=0$' "$TMP/b2.txt"; then
  pass "qemu-second-disk (${BOOT_SECS}s)"
else
  fail qemu-second-disk "got '$(echo "$out" | tr '\n' '|')'; last lines: $(tail -n 5 "$TMP/b2.txt" | tr '\n' '|')"
fi
if [ "$(tail -n +2 <<<"$out")" = "$(printf 'virtio_rng.0\n16\n1')" ]; then
  pass qemu-virtio-rng-console
else
  fail qemu-virtio-rng-console "got '$(tail -n +2 <<<"$out" | tr '\n' '|')', expected 'virtio_rng.0|16|1'"
fi

# 3. disk.ext4 as the root filesystem: its /sbin/init starts httpd on port 80
QB_NOINITRD=1 qboot "$TMP/b3" "root=/dev/vda rw vmkit.net=0 vmkit.run=$(enc 'wget -q -O - http://127.0.0.1/; cat /etc/vmkit-role')" \
  -drive "file=$TMP/disk.ext4,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0
if [ "$(run_output "$TMP/b3.txt")" = "$(printf '%s\ndisk' "$DISK_TEXT")" ] && grep -q '^vmkit guest ready (disk' "$TMP/b3.txt"; then
  pass "qemu-disk-root (${BOOT_SECS}s)"
else
  fail qemu-disk-root "got '$(run_output "$TMP/b3.txt" | tr '\n' '|')'; last lines: $(tail -n 5 "$TMP/b3.txt" | tr '\n' '|')"
fi
if e2fsck -fn "$TMP/disk.ext4" > "$TMP/fsck2.log" 2>&1; then pass disk-clean-after-boot; else fail disk-clean-after-boot "$(tail -n1 "$TMP/fsck2.log")"; fi
