#!/usr/bin/env bash
# cow.t.sh — copy-on-write overlays end to end: two overlays of the ext4 disk image; a guest booted on
# overlay A writes a file and syncs; the base image is unchanged (sha256); a second boot on A sees
# the file; a boot on overlay B does not; the guest's view of A, copied out by the guest to a raw disk,
# passes e2fsck; a corrupted overlay and a changed base are refused with one line and no boot.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
MK=$(dirname "$VMKIT")/tests/virtio/mkcow
[ -x "$MK" ] || MK=$ROOT/build/tests/virtio/mkcow
[ -x "$VMKIT" ] || { echo "SKIP cow: $VMKIT not built"; exit 0; }
[ -x "$MK" ] || { echo "SKIP cow: mkcow not built"; exit 0; }
for f in Image initramfs.cpio.gz disk.ext4; do
  [ -f "$IMG/$f" ] || { echo "SKIP cow: no guest image $IMG/$f (run make images)"; exit 0; }
done
T=$(mktemp -d /tmp/vmkit-cow.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$IMG/disk.ext4" "$T/base.ext4"
h0=$(sha256sum < "$T/base.ext4")
ca=$("$MK" "$T/a.cow" "$T/base.ext4") && "$MK" "$T/b.cow" "$T/base.ext4" >/dev/null ||
  { echo "FAIL cow_create: $ca"; exit 0; }
echo "PASS cow_create (overlay $ca)"
run() {  # run <disk> <command>
  timeout 120 "$VMKIT" run --mem 64M --net none --disk "$1" --append "vmkit.run=$(printf '%s' "$2" | base64 -w0 | sed 's/^/b64:/')" </dev/null 2>&1 | tr -d '\r'
}
out=$(run "$T/a.cow" 'mkdir -p /m; mount -t ext4 /dev/vda /m && dd if=/dev/urandom of=/m/big bs=64k count=32 2>/dev/null && md5sum /m/big > /m/sum && echo clone-a-$((6*7)) > /m/hello && sync && umount /m && echo wrote-ok')
h1=$(sha256sum < "$T/base.ext4")
if grep -q "^wrote-ok" <<<"$out" && grep -q "VMKIT-RUN-END rc=0" <<<"$out" && [ "$h0" = "$h1" ]; then
  echo "PASS cow_guest_write_base_untouched ($(du -k "$T/a.cow" | cut -f1) KiB allocated in the overlay)"
else echo "FAIL cow_guest_write_base_untouched: base changed=$([ "$h0" = "$h1" ] && echo no || echo yes); $(tail -n 4 <<<"$out" | tr '\n' ' ')"; fi
out=$(run "$T/a.cow" 'mkdir -p /m; mount -t ext4 -o ro /dev/vda /m && cat /m/hello && cd /m && md5sum -c sum && echo check-ok')
if grep -q "^clone-a-42" <<<"$out" && grep -q "^check-ok" <<<"$out"; then echo "PASS cow_reboot_sees_data"
else echo "FAIL cow_reboot_sees_data: $(tail -n 4 <<<"$out" | tr '\n' ' ')"; fi
out=$(run "$T/b.cow" 'mkdir -p /m; mount -t ext4 -o ro /dev/vda /m && ls /m && (cat /m/hello 2>/dev/null || echo no-hello)')
if grep -q "^no-hello" <<<"$out"; then echo "PASS cow_overlays_independent"
else echo "FAIL cow_overlays_independent: $(tail -n 4 <<<"$out" | tr '\n' ' ')"; fi
if command -v e2fsck >/dev/null; then
  # flatten the guest view of overlay A through the guest itself: dd /dev/vda to a second raw disk
  truncate -s "$(stat -c %s "$T/base.ext4")" "$T/flat.ext4"
  out=$(timeout 120 "$VMKIT" run --mem 64M --net none --disk "$T/a.cow" --disk "$T/flat.ext4" \
        --append "vmkit.run=$(printf '%s' 'dd if=/dev/vda of=/dev/vdb bs=64k 2>/dev/null && sync && echo flat-ok' | base64 -w0 | sed 's/^/b64:/')" </dev/null 2>&1 | tr -d '\r')
  if grep -q "^flat-ok" <<<"$out" && e2fsck -fn "$T/flat.ext4" >/dev/null 2>&1; then echo "PASS cow_fsck_clean"
  else echo "FAIL cow_fsck_clean: $(e2fsck -fn "$T/flat.ext4" 2>&1 | tail -n 2 | tr '\n' ' ') $(tail -n 2 <<<"$out" | tr '\n' ' ')"; fi
else echo "SKIP cow_fsck_clean: e2fsck missing"; fi
# corrupted header: one line, non-zero exit, nothing booted
printf 'XX' | dd of="$T/b.cow" bs=1 seek=30 conv=notrunc 2>/dev/null
out=$(timeout 30 "$VMKIT" run --mem 64M --net none --disk "$T/b.cow" </dev/null 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "checksum" <<<"$out"; then echo "PASS cow_corrupt_refused ($out)"
else echo "FAIL cow_corrupt_refused: rc=$rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"; fi
touch -d '2001-01-01' "$T/base.ext4"
out=$(timeout 30 "$VMKIT" run --mem 64M --net none --disk "$T/a.cow" </dev/null 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "changed" <<<"$out"; then echo "PASS cow_changed_base_refused"
else echo "FAIL cow_changed_base_refused: rc=$rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"; fi
