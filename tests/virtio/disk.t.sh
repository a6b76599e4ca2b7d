#!/usr/bin/env bash
# tests/virtio/disk.t.sh — virtio-blk end to end: data a guest writes to a virtio disk (a fresh raw
# file, written with dd at a fixed sector) in one boot is on the host file and reads back intact in the
# next boot; data the guest synced survives a kill -9 of the VMM; a read-only disk refuses writes;
# two disks; an image in use is refused; ext4 on a copy of disk.ext4 persists; the guest uses virtio-rng.
# Uses the guest's vmkit.run= protocol (guest/init.sh): output between VMKIT-RUN-BEGIN/END rc=N.
set -u
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMAGES=${VMKIT_IMAGES:-$ROOT/build/images}
export VMKIT_IMAGES=$IMAGES                 # vmkit finds its default kernel/initrd there
TMO=${VMKIT_TEST_TIMEOUT:-300}
T=disk

[ -x "$VMKIT" ] || { echo "SKIP $T: $VMKIT not built"; exit 0; }
for f in Image initramfs.cpio.gz; do
  [ -f "$IMAGES/$f" ] || { echo "SKIP $T: guest image $IMAGES/$f missing (make images)"; exit 0; }
done

W=$(mktemp -d /tmp/vmkit-disk-test.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

b64() { printf '%s' "$1" | base64 -w0; }

# boot <log> <disk args...> -- <guest command>: runs to power-off (bounded by $TMO); returns vmkit's status
boot() {
  local log=$1; shift
  local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  timeout "$TMO" "$VMKIT" run "${args[@]}" --net none --append "vmkit.net=0 vmkit.run=b64:$(b64 "$1")" \
    </dev/null >"$log" 2>&1
}
# runout <log>: the command's output (between the markers)
runout() { sed -n '/^VMKIT-RUN-BEGIN/,/^VMKIT-RUN-END/p' "$1" | tr -d '\r' | sed '1d;$d'; }
runrc() { tr -d '\r' <"$1" | sed -n 's/^VMKIT-RUN-END rc=\([0-9]*\).*/\1/p' | tail -n1; }
fail() { echo "FAIL $1: $2"; [ -n "${3:-}" ] && tail -n 20 "$3" | sed 's/^/    /'; }

D=$W/disk.raw
truncate -s 16M "$D"
TOKEN="vmkit-disk-$$-$RANDOM"

# 1. write at sector 2048 (1 MiB), sync, power off; the host sees the bytes in the file
boot "$W/b1.log" --disk "$D" -- "printf '%s' $TOKEN > /tmp/t && dd if=/tmp/t of=/dev/vda bs=512 seek=2048 conv=notrunc 2>/dev/null && sync && echo WROTE"
if [ "$(runout "$W/b1.log")" != WROTE ]; then
  fail disk_write_boot "guest could not write /dev/vda" "$W/b1.log"
elif [ "$(dd if="$D" bs=512 skip=2048 count=1 2>/dev/null | head -c ${#TOKEN})" != "$TOKEN" ]; then
  fail disk_write_boot "token not found at sector 2048 of the host file" "$W/b1.log"
else
  echo "PASS disk_write_boot"
fi

# 2. a second boot reads it back
#    (the same boot checks the always-present virtio-rng: the guest's hw_random uses it and reads bytes)
boot "$W/b2.log" --disk "$D" -- "dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c ${#TOKEN}; echo; \
cat /sys/class/misc/hw_random/rng_current; head -c 64 /dev/hwrng | od -An -tx1 | tr -d ' \n' | wc -c"
if [ "$(runout "$W/b2.log" | sed -n 1p)" = "$TOKEN" ]; then echo "PASS disk_read_next_boot"
else fail disk_read_next_boot "second boot read '$(runout "$W/b2.log" | head -c 80)'" "$W/b2.log"; fi
if [ "$(runout "$W/b2.log" | sed -n 2p)" = virtio_rng.0 ] && [ "$(runout "$W/b2.log" | sed -n 3p | tr -d ' ')" = 128 ]; then
  echo "PASS rng_guest_hwrng"
else fail rng_guest_hwrng "guest hw_random is not virtio_rng.0 or /dev/hwrng gave no data" "$W/b2.log"; fi

# 3. kill -9 after the guest synced: the data is in the file
TOKEN2="vmkit-kill-$$-$RANDOM"
CMD="printf '%s' $TOKEN2 > /tmp/t && dd if=/tmp/t of=/dev/vda bs=512 seek=4096 conv=notrunc 2>/dev/null && sync && echo SYNCED-NOW && sleep 600"
"$VMKIT" run --disk "$D" --net none --append "vmkit.net=0 vmkit.run=b64:$(b64 "$CMD")" </dev/null >"$W/b3.log" 2>&1 &
PID=$!
ok=0
for _ in $(seq 1 "$TMO"); do
  grep -q '^SYNCED-NOW' "$W/b3.log" 2>/dev/null && { ok=1; break; }
  kill -0 "$PID" 2>/dev/null || break
  sleep 1
done
# while that VMM runs, a second one must refuse the same image (flock) with a one-line error
if [ $ok = 1 ]; then
  timeout 60 "$VMKIT" run --disk "$D" --net none </dev/null >"$W/lock.log" 2>&1
  lrc=$?
  if [ $lrc -ne 0 ] && [ $lrc -ne 124 ] && grep -q "in use" "$W/lock.log" && [ "$(grep -c . "$W/lock.log")" = 1 ]; then
    echo "PASS disk_locked_while_in_use"
  else fail disk_locked_while_in_use "second VMM on the same image: status $lrc" "$W/lock.log"; fi
fi
kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
if [ $ok != 1 ]; then
  fail disk_kill9_after_sync "guest never reported SYNCED-NOW" "$W/b3.log"
elif [ "$(dd if="$D" bs=512 skip=4096 count=1 2>/dev/null | head -c ${#TOKEN2})" != "$TOKEN2" ]; then
  fail disk_kill9_after_sync "synced data lost after kill -9" "$W/b3.log"
else
  boot "$W/b4.log" --disk "$D" -- "dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | head -c ${#TOKEN2}; echo"
  if [ "$(runout "$W/b4.log")" = "$TOKEN2" ]; then echo "PASS disk_kill9_after_sync"
  else fail disk_kill9_after_sync "next boot read '$(runout "$W/b4.log" | head -c 80)'" "$W/b4.log"; fi
fi

# 4. two disks: vda a second scratch disk (rw), vdb the first disk read-only: reads work, writes to the
#    read-only disk fail in the guest and its file is unchanged, the rw disk takes a write
D2=$W/disk2.raw
truncate -s 4M "$D2"
SUM=$(md5sum <"$D")
TOKEN3="vmkit-two-$$-$RANDOM"
# the guest tells the disks apart by size (32768 vs 8192 sectors), not by probe order
boot "$W/b5.log" --disk "$D2" --disk "$D,ro" -- "for b in /sys/block/vd*; do case \$(cat \$b/size) in 32768) RO=/dev/\${b##*/};; 8192) RW=/dev/\${b##*/};; esac; done; \
echo ROFLAG=\$(cat /sys/block/\${RO##*/}/ro); \
dd if=\$RO bs=512 skip=2048 count=1 2>/dev/null | head -c ${#TOKEN}; echo; \
if echo x | dd of=\$RO bs=512 seek=10 conv=notrunc 2>/dev/null && sync; then echo WRITE-OK; else echo WRITE-REFUSED; fi; \
printf '%s' $TOKEN3 | dd of=\$RW bs=512 seek=7 conv=notrunc 2>/dev/null && sync && echo VDA-WROTE"
out=$(runout "$W/b5.log")
if [ "$(md5sum <"$D")" != "$SUM" ]; then fail disk_readonly "read-only disk file changed" "$W/b5.log"
elif ! printf '%s\n' "$out" | grep -qx "$TOKEN"; then fail disk_readonly "could not read the read-only disk" "$W/b5.log"
elif printf '%s\n' "$out" | grep -q WRITE-OK; then fail disk_readonly "guest write to a read-only disk succeeded" "$W/b5.log"
elif ! printf '%s\n' "$out" | grep -qx ROFLAG=1; then fail disk_readonly "guest does not see the disk as read-only (F_RO)" "$W/b5.log"
else echo "PASS disk_readonly"; fi
if printf '%s\n' "$out" | grep -q VDA-WROTE && [ "$(dd if="$D2" bs=512 skip=7 count=1 2>/dev/null | head -c ${#TOKEN3})" = "$TOKEN3" ]; then
  echo "PASS disk_two_disks"
else fail disk_two_disks "write to the second (rw) disk not found in its file" "$W/b5.log"; fi

# 5. ext4: a file written on a copy of disk.ext4 survives a reboot (when the image exists)
if [ -f "$IMAGES/disk.ext4" ]; then
  E=$W/disk.ext4
  cp --sparse=always "$IMAGES/disk.ext4" "$E"
  boot "$W/b6.log" --disk "$E" -- "mkdir -p /mnt && mount /dev/vda /mnt && echo $TOKEN > /mnt/vmkit-test.txt && sync && umount /mnt && echo EXT4-WROTE"
  boot "$W/b7.log" --disk "$E" -- "mkdir -p /mnt && mount -o ro /dev/vda /mnt && cat /mnt/vmkit-test.txt"
  if [ "$(runout "$W/b6.log")" != EXT4-WROTE ]; then fail disk_ext4_persist "write boot failed" "$W/b6.log"
  elif [ "$(runout "$W/b7.log")" != "$TOKEN" ]; then fail disk_ext4_persist "file not read back: '$(runout "$W/b7.log" | head -c 80)'" "$W/b7.log"
  elif command -v e2fsck >/dev/null && ! e2fsck -fn "$E" >/dev/null 2>&1; then fail disk_ext4_persist "e2fsck reports errors after two boots"
  else echo "PASS disk_ext4_persist"; fi
else
  echo "SKIP disk_ext4_persist: $IMAGES/disk.ext4 not built"
fi
