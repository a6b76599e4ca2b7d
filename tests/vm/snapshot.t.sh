#!/usr/bin/env bash
# tests/vm/snapshot.t.sh — snapshot and restore of the software engine end to end, through the
# per-VM API (vmkit run --api-sock --start; PATCH /vm Paused; PUT /snapshot/create) and
# `vmkit run --restore DIR`. The guest runs a counter loop that also appends to a file it keeps open
# (fd 3 on /tmp/f): after a restore the counter continues from where it was (not from 0) and the open
# file keeps growing with it. Then: a diff snapshot of the restored VM (parent = the first snapshot)
# restored in turn; damaged snapshots (truncated / corrupt / wrong version state, truncated or foreign
# memory file, a changed disk) refused with their message; the state left by a crash between the
# two renames of a second snapshot restores the first; a snapshot that runs out of space (tmpfs)
# leaves no valid-looking snapshot, the previous snapshot in that directory intact, the VM running;
# kill -9 of the VMM while it writes a snapshot over an earlier one: the directory still restores.
set -u
T=snapshot
FAIL_TAIL=15
. "$(dirname "$0")/lib.sh"
vm_require Image initramfs.cpio.gz fw_dynamic.bin disk.ext4
vm_need curl

W=$(mktemp -d /tmp/vmkit-snap-test.XXXXXX)
PIDS=()
MNT=
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
last_c() { grep -oE 'c=[0-9]+ lines=[0-9]+' "$1" | tail -n1; }
first_c() { grep -oE 'c=[0-9]+ lines=[0-9]+' "$1" | head -n1; }
num() { sed -E 's/c=([0-9]+) lines=([0-9]+)/\1 \2/' <<<"$1"; }

# the guest program: a counter that appends to a file it holds open and prints the file's length
PROG='i=0; exec 3>/tmp/f; while true; do i=$((i+1)); echo l$i >&3; echo "c=$i lines=$(wc -l </tmp/f)"; sleep 0.2; done'
APPEND="vmkit.net=0 vmkit.run=b64:$(printf '%s' "$PROG" | base64 -w0)"
cp "$IMAGES/disk.ext4" "$W/disk.ext4"

# ---- 1. boot, pause, full snapshot, kill -9 ----
"$VMKIT" run --mem 64M --net none --console stdio --disk "$W/disk.ext4" --api-sock "$W/a1.sock" --start \
  --append "$APPEND" </dev/null >"$W/out1" 2>&1 &
P1=$!; PIDS+=($P1)
if ! wait_for "$W/out1" 'c=10 ' 120; then
  fail snapshot_create "the guest counter never reached 10" "$W/out1"; exit 0
fi
r=$(api "$W/a1.sock" PATCH /vm '{"state": "Paused"}')
t0=$(date +%s%N)
r2=$(api "$W/a1.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/s1\"}")
t1=$(date +%s%N)
sleep 0.3
before=$(last_c "$W/out1")
if [ "${r%% *}" = 204 ] && [ "${r2%% *}" = 204 ] && [ -f "$W/s1/state" ] && [ -f "$W/s1/memory" ]; then
  echo "PASS snapshot_create (paused at '$before', $(( (t1 - t0) / 1000000 )) ms incl. curl, memory $(du -k "$W/s1/memory" | cut -f1) KiB on disk)"
else
  fail snapshot_create "pause: $r; create: $r2" "$W/out1"; exit 0
fi
sleep 0.5
[ "$(last_c "$W/out1")" = "$before" ] && echo "PASS snapshot_vm_stays_paused" ||
  fail snapshot_vm_stays_paused "the counter moved from '$before' to '$(last_c "$W/out1")' while paused"
kill -9 $P1; wait $P1 2>/dev/null

# ---- 2. restore: the counter continues, the open file still works ----
read -r bc bl <<<"$(num "$before")"
t0=$(date +%s%N)
"$VMKIT" run --restore "$W/s1" --console stdio --api-sock "$W/a2.sock" </dev/null >"$W/out2" 2>&1 &
P2=$!; PIDS+=($P2)
if wait_for "$W/out2" "c=$((bc + 5)) " 60; then
  t1=$(date +%s%N)
  read -r c l <<<"$(num "$(first_c "$W/out2")")"
  if [ "$c" = $((bc + 1)) ] && [ "$l" = $((bl + 1)) ]; then
    echo "PASS restore_counter_continues (snapshot at c=$bc, restored prints c=$c lines=$l; first 5 lines in $(( (t1 - t0) / 1000000 )) ms)"
  else
    fail restore_counter_continues "snapshot at c=$bc lines=$bl, restored VM first printed c=$c lines=$l" "$W/out2"
  fi
else
  fail restore_counter_continues "the restored guest did not count to $((bc + 5))" "$W/out2"
fi

# ---- 2b. two vCPUs, one of them spinning: the counter continues after a restore ----
SMP='i=0; (while true; do :; done) & while true; do i=$((i+1)); echo "c=$i lines=$i"; sleep 0.2; done'
"$VMKIT" run --mem 128M --cpus 2 --net none --console stdio --api-sock "$W/m.sock" --start \
  --append "vmkit.net=0 vmkit.run=b64:$(printf '%s' "$SMP" | base64 -w0)" </dev/null >"$W/outm" 2>&1 &
PM=$!; PIDS+=($PM)
if wait_for "$W/outm" 'c=5 ' 120; then
  api "$W/m.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
  r=$(api "$W/m.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/sm\"}")
  sleep 0.3; bm=$(last_c "$W/outm"); kill -9 $PM; wait $PM 2>/dev/null
  read -r mc _ <<<"$(num "$bm")"
  "$VMKIT" run --restore "$W/sm" --console stdio </dev/null >"$W/outm2" 2>&1 &
  PM2=$!; PIDS+=($PM2)
  if wait_for "$W/outm2" "c=$((mc + 3)) " 60 && [ "$(num "$(first_c "$W/outm2")" | cut -d' ' -f1)" = $((mc + 1)) ]; then
    echo "PASS restore_smp_continues (2 vCPUs, snapshot at c=$mc, restored continues at c=$((mc + 1)))"
  else
    fail restore_smp_continues "snapshot: ${r:0:80}, at c=$mc" "$W/outm2"
  fi
  kill -9 $PM2 2>/dev/null; wait $PM2 2>/dev/null
else
  fail restore_smp_continues "the 2-vCPU guest did not count" "$W/outm"
fi

# ---- 3. diff snapshot of the restored VM (its parent is s1), restore of the diff ----
r=$(api "$W/a2.sock" PATCH /vm '{"state": "Paused"}')
r2=$(api "$W/a2.sock" PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$W/s2\"}")
sleep 0.3
before2=$(last_c "$W/out2")
kill -9 $P2; wait $P2 2>/dev/null
if [ "${r2%% *}" = 204 ] && [ -f "$W/s2/state" ]; then
  d1=$(du -k "$W/s1/memory" | cut -f1); d2=$(du -k "$W/s2/memory" | cut -f1)
  echo "PASS snapshot_diff_create (diff memory $d2 KiB on disk vs full $d1 KiB)"
  read -r bc bl <<<"$(num "$before2")"
  "$VMKIT" run --restore "$W/s2" --console stdio </dev/null >"$W/out3" 2>&1 &
  P3=$!; PIDS+=($P3)
  if wait_for "$W/out3" "c=$((bc + 3)) " 60; then
    read -r c l <<<"$(num "$(first_c "$W/out3")")"
    [ "$c" = $((bc + 1)) ] && [ "$l" = $((bl + 1)) ] && echo "PASS restore_diff_continues (diff at c=$bc, restored prints c=$c)" ||
      fail restore_diff_continues "diff at c=$bc lines=$bl, restored printed c=$c lines=$l first" "$W/out3"
  else
    fail restore_diff_continues "the guest restored from the diff did not count on" "$W/out3"
  fi
  kill -9 $P3 2>/dev/null; wait $P3 2>/dev/null
else
  fail snapshot_diff_create "pause: $r; create: $r2"
fi

# ---- 4. damaged snapshots are refused with their message ----
refused() {   # refused NAME DIR REGEX [extra args]
  local name=$1 dir=$2 re=$3; shift 3
  timeout 30 "$VMKIT" run --restore "$dir" --console null "$@" </dev/null >"$W/bad.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE "$re" "$W/bad.out" && [ "$(grep -c . "$W/bad.out")" -le 2 ]; then
    echo "PASS $name ($(head -n1 "$W/bad.out"))"
  else
    fail "$name" "rc=$rc, expected /$re/" "$W/bad.out"
  fi
}
mk() { rm -rf "$W/$1"; cp -a "$W/s1" "$W/$1"; }
mk bt; sz=$(stat -c %s "$W/bt/state"); truncate -s $((sz / 2)) "$W/bt/state"
refused restore_rejects_truncated_state "$W/bt" 'truncated'
mk bc; printf '\x5a' | dd of="$W/bc/state" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
refused restore_rejects_corrupt_state "$W/bc" 'corrupt'
mk bv; printf '\x07' | dd of="$W/bv/state" bs=1 seek=8 conv=notrunc 2>/dev/null
refused restore_rejects_wrong_version "$W/bv" 'format version 7 is not supported'
mk bn; printf 'QFI\xfb' | dd of="$W/bn/state" bs=1 seek=0 conv=notrunc 2>/dev/null
refused restore_rejects_not_a_snapshot "$W/bn" 'no vmkit snapshot magic'
mk bm; truncate -s 100000 "$W/bm/memory"
refused restore_rejects_truncated_memory "$W/bm" 'memory file is truncated'
if [ -f "$W/s2/memory" ]; then
  mk bf; cp "$W/s2/memory" "$W/bf/memory"
  refused restore_rejects_foreign_memory "$W/bf" 'does not belong to its state'
fi
mkdir -p "$W/empty"; refused restore_rejects_empty_dir "$W/empty" 'is not a snapshot'
# a crash between the two renames of a second snapshot into s1: old state, new memory, and the old
# memory kept as memory-<id> (what vmk_vm_snapshot links before renaming): the old snapshot restores
if [ -f "$W/s2/memory" ]; then
  mk bk; id=$(od -An -tx8 -j24 -N8 "$W/s1/memory" | tr -d ' \n')
  ln "$W/bk/memory" "$W/bk/memory-$id" && cp "$W/s2/memory" "$W/bk/memory.new" && mv "$W/bk/memory.new" "$W/bk/memory"
  "$VMKIT" run --restore "$W/bk" --console stdio </dev/null >"$W/out7" 2>&1 &
  P7=$!; PIDS+=($P7)
  read -r bc0 _ <<<"$(num "$before")"
  if wait_for "$W/out7" 'c=[0-9]+ ' 30 && [ "$(num "$(first_c "$W/out7")" | cut -d' ' -f1)" = $((bc0 + 1)) ]; then
    echo "PASS restore_after_interrupted_snapshot (old state found its memory as memory-$id)"
  else
    fail restore_after_interrupted_snapshot "expected c=$((bc0 + 1)) first" "$W/out7"
  fi
  kill -9 $P7 2>/dev/null; wait $P7 2>/dev/null
fi
sleep 0.01; echo >>"$W/disk.ext4"; truncate -s "$(stat -c %s "$IMAGES/disk.ext4")" "$W/disk.ext4"
refused restore_rejects_changed_disk "$W/s1" 'changed since the snapshot.*--force-disks'
"$VMKIT" run --restore "$W/s1" --force-disks --console stdio </dev/null >"$W/out4" 2>&1 &
P4=$!; PIDS+=($P4)
wait_for "$W/out4" 'c=[0-9]+ ' 30 && echo "PASS restore_force_disks_runs" || fail restore_force_disks_runs "no counter" "$W/out4"
kill -9 $P4 2>/dev/null; wait $P4 2>/dev/null

# ---- 5. out of space while writing: error, previous snapshot intact, VM keeps running ----
if [ "$(id -u)" = 0 ]; then
  MNT="$W/small"; mkdir -p "$MNT"
  kb=$(du -k "$W/s1/memory" | cut -f1)
  if mount -t tmpfs -o size=$((kb * 3 / 2 + 256))k tmpfs "$MNT" 2>/dev/null; then
    "$VMKIT" run --mem 64M --net none --console stdio --api-sock "$W/a5.sock" --start --append "$APPEND" \
      </dev/null >"$W/out5" 2>&1 &
    P5=$!; PIDS+=($P5)
    wait_for "$W/out5" 'c=5 ' 120
    api "$W/a5.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
    r=$(api "$W/a5.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$MNT/s\"}")
    first_crc=$(cksum <"$MNT/s/state" 2>/dev/null)
    api "$W/a5.sock" PATCH /vm '{"state": "Resumed"}' >/dev/null
    # fill the guest's RAM with distinct data so the second snapshot cannot fit beside the first
    sleep 1
    api "$W/a5.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
    dd if=/dev/zero of="$MNT/filler" bs=1k count=$((kb / 2)) 2>/dev/null
    r2=$(api "$W/a5.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$MNT/s\"}")
    api "$W/a5.sock" PATCH /vm '{"state": "Resumed"}' >/dev/null
    c1=$(last_c "$W/out5"); sleep 1.5; c2=$(last_c "$W/out5")
    left=$(ls "$MNT/s")
    if [ "${r%% *}" = 204 ] && [ "${r2%% *}" = 400 ] && grep -q "No space left" <<<"$r2" &&
       [ "$left" = "$(printf 'memory\nstate')" ] && [ "$(cksum <"$MNT/s/state")" = "$first_crc" ] && [ "$c1" != "$c2" ]; then
      echo "PASS snapshot_enospc (${r2:0:120}; temp files removed, VM kept running: '$c1' -> '$c2')"
    else
      fail snapshot_enospc "first: ${r:0:80}; second: ${r2:0:160}; files: $(echo $left); counter '$c1' -> '$c2'" "$W/out5"
    fi
    rm -f "$MNT/filler"
    kill -9 $P5 2>/dev/null; wait $P5 2>/dev/null
    "$VMKIT" run --restore "$MNT/s" --console stdio </dev/null >"$W/out6" 2>&1 &
    P6=$!; PIDS+=($P6)
    wait_for "$W/out6" 'c=[0-9]+ ' 30 && echo "PASS snapshot_enospc_previous_intact" ||
      fail snapshot_enospc_previous_intact "the earlier snapshot does not restore" "$W/out6"
    kill -9 $P6 2>/dev/null; wait $P6 2>/dev/null
  else
    echo "SKIP snapshot_enospc: cannot mount a tmpfs here"
  fi
else
  echo "SKIP snapshot_enospc: needs root to mount a small tmpfs"
fi
# ---- 6. kill -9 of the VMM in the middle of a snapshot over an earlier one: the directory always
# restores (the earlier or the new snapshot), never a half-written one ----
BIG='dd if=/dev/urandom of=/tmp/big bs=1M count=96 2>/dev/null; '"$PROG"
BIGAPPEND="vmkit.net=0 vmkit.run=b64:$(printf '%s' "$BIG" | base64 -w0)"
okk=0 detail=
for it in 1 2 3; do
  rm -rf "$W/k"
  "$VMKIT" run --mem 256M --net none --console stdio --api-sock "$W/k.sock" --start --append "$BIGAPPEND" \
    </dev/null >"$W/outk" 2>&1 &
  PK=$!; PIDS+=($PK)
  wait_for "$W/outk" 'c=2 ' 120 || { detail="$detail boot$it"; kill -9 $PK; continue; }
  api "$W/k.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
  api "$W/k.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/k\"}" >/dev/null
  api "$W/k.sock" PATCH /vm '{"state": "Resumed"}' >/dev/null
  sleep 0.5
  api "$W/k.sock" PATCH /vm '{"state": "Paused"}' >/dev/null
  curl -s --max-time 30 --unix-socket "$W/k.sock" -X PUT -d "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/k\"}" \
    http://localhost/snapshot/create >/dev/null 2>&1 &
  CP=$!
  sleep "0.0$((RANDOM % 9))$((RANDOM % 10))"
  kill -9 $PK; wait $PK 2>/dev/null; wait $CP 2>/dev/null
  state="$(ls "$W/k" | tr '\n' ' ')"
  "$VMKIT" run --restore "$W/k" --console stdio </dev/null >"$W/outk2" 2>&1 &
  PR=$!; PIDS+=($PR)
  if wait_for "$W/outk2" 'c=[0-9]+ ' 30; then okk=$((okk + 1)); detail="$detail [$state]"
  else detail="$detail FAILED[$state: $(head -n1 "$W/outk2")]"; fi
  kill -9 $PR 2>/dev/null; wait $PR 2>/dev/null
done
[ $okk = 3 ] && echo "PASS snapshot_kill9_mid_write (3 of 3 restore; files after the kill:$detail)" ||
  fail snapshot_kill9_mid_write "$okk of 3 restored:$detail"
exit 0
