#!/usr/bin/env bash
# shutdown.t.sh — graceful shutdown through the per-VM API: PUT /actions SendCtrlAltDel makes the
# RISC-V engine send Magic SysRq over the serial line (break+s sync, break+u remount read-only,
# break+o power off). The guest has written a file on an ext4 disk without syncing; after the
# shutdown the file is on the disk image (checked with debugfs), and vmkit exits 0.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
if [ ! -x "$VMKIT" ]; then echo "SKIP shutdown_sysrq: $VMKIT not built"; exit 0; fi
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  [ -f "$IMG/$f" ] || { echo "SKIP shutdown_sysrq: no guest image $IMG/$f (run make images)"; exit 0; }
done
if [ -f "$IMG/kernel.config" ] && ! grep -q '^CONFIG_MAGIC_SYSRQ_SERIAL=y' "$IMG/kernel.config"; then
  echo "SKIP shutdown_sysrq: guest kernel built without Magic SysRq (run make images)"; exit 0
fi
command -v curl >/dev/null || { echo "SKIP shutdown_sysrq: curl missing"; exit 0; }
T=$(mktemp -d /tmp/vmkit-shutdown.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; exec 3>&- 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
cp "$IMG/disk.ext4" "$T/disk.ext4"
mkfifo "$T/in"
timeout 120 "$VMKIT" run --mem 64M --net none --disk "$T/disk.ext4" --api-sock "$T/api.sock" --start \
  <"$T/in" >"$T/out" 2>&1 &
pid=$!
exec 3>"$T/in"
ready=0
for _ in $(seq 240); do
  grep -q "vmkit guest ready" "$T/out" && { ready=1; break; }
  kill -0 $pid 2>/dev/null || break
  sleep 0.25
done
if [ $ready = 0 ]; then
  echo "FAIL shutdown_sysrq: guest not ready; last lines: $(tail -n 5 "$T/out" | tr '\r\n' '  ')"; exit 0
fi
# write a file without sync; the page cache holds it until SysRq s/u flush it
printf 'mkdir -p /mnt; mount -t ext4 /dev/vda /mnt && echo sysrq-data-$((6*7)) > /mnt/sysrq.txt && echo written-ok\n' >&3
for _ in $(seq 40); do grep -q "^written-ok" "$T/out" && break; sleep 0.25; done
t0=$(date +%s%N)
code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 --unix-socket "$T/api.sock" -X PUT \
       -H 'Content-Type: application/json' -d '{"action_type": "SendCtrlAltDel"}' http://localhost/actions)
wait $pid; rc=$?
pid=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$code" = 204 ] && [ $rc -eq 0 ] && grep -q "sysrq: Power Off" "$T/out" && grep -q "Emergency Sync" "$T/out"; then
  echo "PASS shutdown_sysrq_poweroff (exit 0, ${ms} ms from the request to vmkit's exit)"
else
  echo "FAIL shutdown_sysrq_poweroff: http=$code rc=$rc; last lines: $(tail -n 6 "$T/out" | tr '\r\n' '  ')"
fi
if ! command -v debugfs >/dev/null; then echo "SKIP shutdown_sysrq_synced: debugfs (e2fsprogs) missing"
elif grep -q "^written-ok" "$T/out"; then
  got=$(debugfs -R 'cat /sysrq.txt' "$T/disk.ext4" 2>/dev/null)
  if [ "$got" = "sysrq-data-42" ]; then echo "PASS shutdown_sysrq_synced (unsynced guest write is on the disk)"
  else echo "FAIL shutdown_sysrq_synced: /sysrq.txt on the disk holds '$got'"; fi
else
  echo "FAIL shutdown_sysrq_synced: the guest could not write its file: $(tail -n 4 "$T/out" | tr '\r\n' '  ')"
fi
