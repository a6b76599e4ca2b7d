#!/usr/bin/env bash
# restore.t.sh — engine + device state end to end, below the VM layer (tests/riscv/restore_harness.c):
# Linux on 2 harts with virtio-blk and virtio-rng runs a counter that appends to a file on the disk,
# syncs and reads /dev/hwrng every 0.2 s; the harness pauses it mid-loop, saves the machine and the
# devices, waits 1.5 s, loads everything into a fresh machine and runs it. Checks: the counter
# continues without a gap or repeat, guest uptime does not jump over the pause, the disk file has
# every line, the guest powers off cleanly. Then the same with virtio-net (libslirp): HTTP fetches
# from the host keep working after the restore. Last, RAM moved by pre-copy rounds over the dirty log
# must be byte-identical to the source (no store or DMA write missed).
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
H=$(dirname "$VMKIT")/tests/riscv/restore_harness
[ -x "$H" ] || H=$ROOT/build/tests/riscv/restore_harness
[ -x "$H" ] || { echo "SKIP riscv_restore: restore_harness not built"; exit 0; }
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  [ -f "$IMG/$f" ] || { echo "SKIP riscv_restore: no guest image $IMG/$f (run make images)"; exit 0; }
done
T=$(mktemp -d /tmp/vmkit-restore.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$IMG/disk.ext4" "$T/disk.ext4"
N=60
CMD="mkdir -p /mnt; mount -t ext4 /dev/vda /mnt || exit 3; rm -f /mnt/log; i=0; while [ \$i -lt $N ]; do i=\$((i+1)); echo tick-\$i \$(cut -d' ' -f1 /proc/uptime); echo \$i >> /mnt/log; sync; head -c 16 /dev/hwrng | od -An -tx1 | grep -q . || echo rng-failed; sleep 0.2; done; echo lines=\$(wc -l < /mnt/log)"
B64=$(printf '%s' "$CMD" | base64 -w0)
start=$(date +%s%N)
timeout 170 "$H" "$IMG" "$T/disk.ext4" "console=ttyS0 vmkit.net=0 vmkit.run=b64:$B64" 3000 1500 </dev/null >"$T/out" 2>&1
rc=$?
secs=$(( ($(date +%s%N) - start) / 1000000000 ))
tr -d '\r' < "$T/out" > "$T/o"
ticks=$(grep -oE '^tick-[0-9]+' "$T/o" | sed 's/tick-//' | tr '\n' ' ')
want=$(seq 1 $N | tr '\n' ' ')
# the tick lines just before and after the pause marker
before=$(awk '/\[harness\] paused/{print last; exit} /^tick-/{last=$0}' "$T/o")
after=$(awk '/\[harness\] B loaded/{f=1} f && /^tick-/{print; exit}' "$T/o")
loaded=$(grep -o 'B loaded in [0-9]* us' "$T/o")
saved=$(grep -o 'paused in [0-9]* us, state saved in [0-9]* us ([0-9]* bytes)' "$T/o")
if [ $rc -eq 0 ] && [ "$ticks" = "$want" ] && grep -q "lines=$N" "$T/o" && ! grep -q rng-failed "$T/o" &&
   grep -q "VMKIT-RUN-END rc=0" "$T/o" && [ -n "$before" ] && [ -n "$after" ]; then
  echo "PASS riscv_restore_continues ($before -> [pause 1.5 s, new machine] -> $after; $saved; $loaded; ${secs}s)"
else
  echo "FAIL riscv_restore_continues: rc=$rc ticks='$(echo $ticks | cut -c1-80)...' before='$before' after='$after'; $(grep -E 'harness|lines=|rng-failed|RUN-END' "$T/o" | tr '\n' ' ')"
fi
if [ -n "$before" ] && [ -n "$after" ]; then
  gap=$(awk -v a="${before#* }" -v b="${after#* }" 'BEGIN{printf "%.2f", b-a}')
  if awk -v g="$gap" 'BEGIN{exit !(g > 0 && g < 1.0)}'; then echo "PASS riscv_restore_time_continuous (guest uptime +${gap}s across a 1.5 s pause)"
  else echo "FAIL riscv_restore_time_continuous: guest uptime moved ${gap}s across the pause (tick period 0.2 s)"; fi
else
  echo "FAIL riscv_restore_time_continuous: no ticks around the pause"
fi
# 3. with virtio-net (libslirp): the restored device gets a fresh slirp; the guest keeps its address
#    and fetches from the host before and after the restore
if command -v python3 >/dev/null; then
  mkdir -p "$T/www"; echo hello-from-host > "$T/www/x"
  PORT=$((20000 + RANDOM % 20000))
  (cd "$T/www" && exec timeout 150 python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
  srv=$!
  sleep 0.5
  CMD="i=0; while [ \$i -lt 40 ]; do i=\$((i+1)); echo tick-\$i \$(wget -q -T 3 -O- http://10.0.2.2:$PORT/x); sleep 0.2; done"
  RH_NET=user timeout 170 "$H" "$IMG" "$T/disk.ext4" "console=ttyS0 vmkit.run=b64:$(printf '%s' "$CMD" | base64 -w0)" 3000 500 \
    </dev/null 2>&1 | tr -d '\r' > "$T/o2"
  rc=$?
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  got=$(grep -c '^tick-[0-9]* hello-from-host$' "$T/o2")
  after=$(awk '/\[harness\] B loaded/{f=1} f && /^tick-/{n++} END{print n+0}' "$T/o2")
  if [ $rc -eq 0 ] && [ "$got" = 40 ] && [ "$after" -gt 0 ]; then
    echo "PASS riscv_restore_net_user (40/40 fetches from the host, $after after the restore)"
  else
    echo "FAIL riscv_restore_net_user: rc=$rc fetched=$got after-restore=$after; $(grep -E 'harness|tick' "$T/o2" | tail -n 4 | tr '\n' ' ')"
  fi
else
  echo "SKIP riscv_restore_net_user: python3 missing (host HTTP server)"
fi
# 4. live-migration-style pre-copy (RH_PRECOPY): RAM moved as one copy while running + rounds of
#    dirty pages (rv_machine_dirty_sync + the mem dirty log) + a final paused round; the moved copy
#    must equal RAM exactly (every CPU store, AMO and device DMA was logged) and the guest, which
#    keeps rewriting 1 MiB of tmpfs and checking it, must finish on the new machine
cp "$IMG/disk.ext4" "$T/disk.ext4"
CMD="mkdir -p /mnt; mount -t ext4 /dev/vda /mnt || exit 3; i=0; while [ \$i -lt 40 ]; do i=\$((i+1)); echo tick-\$i; dd if=/dev/urandom of=/tmp/f bs=64k count=16 2>/dev/null; md5sum /tmp/f > /tmp/s; md5sum -c /tmp/s >/dev/null || echo BAD; echo \$i >> /mnt/log; sync; sleep 0.1; done; echo lines=\$(wc -l < /mnt/log)"
RH_PRECOPY=5 timeout 170 "$H" "$IMG" "$T/disk.ext4" "console=ttyS0 vmkit.net=0 vmkit.run=b64:$(printf '%s' "$CMD" | base64 -w0)" 2500 200 \
  </dev/null 2>&1 | tr -d '\r' > "$T/o3"
rc=$?
rounds=$(grep -oE 'round [0-9]+: [0-9]+ dirty' "$T/o3" | sed 's/ dirty//' | tr '\n' ',')
if [ $rc -eq 0 ] && grep -q "copied RAM identical" "$T/o3" && grep -q "^lines=40" "$T/o3" && ! grep -q "^BAD" "$T/o3" &&
   grep -q "VMKIT-RUN-END rc=0" "$T/o3"; then
  echo "PASS riscv_precopy_dirty_log_complete (pages per ${rounds} final: $(grep -oE 'final round: [0-9]+' "$T/o3" | grep -oE '[0-9]+$'))"
else
  echo "FAIL riscv_precopy_dirty_log_complete: rc=$rc; $(grep -E 'harness|lines=|BAD|RUN-END' "$T/o3" | tail -n 12 | tr '\n' ' ')"
fi
