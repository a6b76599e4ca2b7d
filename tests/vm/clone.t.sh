#!/usr/bin/env bash
# tests/vm/clone.t.sh — 10 clones from one snapshot (vmkit run --restore S --clone-dir D --clone-index N):
# a guest mounts its disk and loops writing a file named after fresh randomness from /dev/hwrng
# (virtio-rng, served from the host's entropy in each clone; 80 bytes per read, more than the guest
# kernel's 64-byte hwrng buffer, whose leftover bytes are the same in every clone), printing how many
# such files it sees.
# Every clone runs and continues from the snapshot's count, each with its own random names (fresh
# entropy), each sees only its own files (no jump in its count); afterwards a fresh VM booted on two
# clones' disk overlays finds that clone's files and none of the other's, and the base disk and the
# snapshot are unchanged.
set -u
T=clone
N=${VMKIT_CLONES:-10}
. "$(dirname "$0")/lib.sh"
vm_require Image initramfs.cpio.gz fw_dynamic.bin disk.ext4
vm_need curl

W=$(mktemp -d /tmp/vmkit-clone-test.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT

PROG='mount /dev/vda /mnt || exit 1; i=0; while true; do i=$((i+1)); r=$(head -c 80 /dev/hwrng | md5sum | cut -c1-12); echo $r >/mnt/w-$r; sync; echo "i=$i mine=$r n=$(ls /mnt | grep -c ^w-)"; sleep 0.5; done'
APPEND="vmkit.net=0 vmkit.run=b64:$(printf '%s' "$PROG" | base64 -w0)"
cp "$IMAGES/disk.ext4" "$W/base.ext4"

"$VMKIT" run --mem 64M --net user --console stdio --disk "$W/base.ext4" --api-sock "$W/a.sock" --start \
  --append "$APPEND" </dev/null >"$W/out" 2>&1 &
P=$!; PIDS+=($P)
if ! wait_for "$W/out" 'i=3 ' 120; then fail clone_setup "the guest loop did not start" "$W/out"; exit 0; fi
r=$(api "$W/a.sock" PATCH /vm '{"state": "Paused"}')
r2=$(api "$W/a.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$W/snap\"}")
sleep 0.3
kill -9 $P; wait $P 2>/dev/null
if [ "${r2%% *}" != 204 ]; then fail clone_setup "pause: $r; snapshot: $r2" "$W/out"; exit 0; fi
last=$(grep -oE 'i=[0-9]+ mine=[0-9a-f]+ n=[0-9]+' "$W/out" | tail -n1)
n0=$(sed -E 's/.* n=//' <<<"$last"); i0=$(sed -E 's/i=([0-9]+) .*/\1/' <<<"$last")
base_sum=$(sha256sum <"$W/base.ext4"); snap_sum=$(cat "$W/snap/state" "$W/snap/memory" | sha256sum)

t0=$(date +%s%N)
for k in $(seq 1 "$N"); do
  "$VMKIT" run --restore "$W/snap" --clone-dir "$W/c$k" --clone-index "$k" --console stdio \
    </dev/null >"$W/o$k" 2>&1 &
  PIDS+=($!)
done
t1=$(date +%s%N)
ok=0
for k in $(seq 1 "$N"); do wait_for "$W/o$k" "i=$((i0 + 3)) " 90 && ok=$((ok + 1)); done
t2=$(date +%s%N)
[ $ok = "$N" ] && echo "PASS clones_all_run ($N clones launched in $(( (t1 - t0) / 1000000 )) ms, all 3 iterations on within $(( (t2 - t0) / 1000000 )) ms)" ||
  { fail clones_all_run "$ok of $N clones continued the loop"; for k in $(seq 1 "$N"); do grep -q "i=$((i0 + 3)) " "$W/o$k" || { tail -n 5 "$W/o$k" | sed "s/^/    c$k: /"; break; }; done; }

# each clone continues from the snapshot's count (i0, n0) and only ever sees its own files
bad=0; mines=()
for k in $(seq 1 "$N"); do
  lines=$(grep -oE 'i=[0-9]+ mine=[0-9a-f]+ n=[0-9]+' "$W/o$k")
  first=$(head -n1 <<<"$lines")
  [ "$first" ] || { bad=$((bad + 1)); continue; }
  fi_=$(sed -E 's/i=([0-9]+) .*/\1/' <<<"$first")
  [ "$fi_" = $((i0 + 1)) ] || { echo "    clone $k starts at i=$fi_, expected $((i0 + 1))"; bad=$((bad + 1)); }
  while read -r l; do
    ii=$(sed -E 's/i=([0-9]+) .*/\1/' <<<"$l"); nn=$(sed -E 's/.* n=//' <<<"$l")
    [ "$nn" = $((n0 + ii - i0)) ] || { echo "    clone $k: '$l' (expected n=$((n0 + ii - i0)))"; bad=$((bad + 1)); break; }
  done <<<"$lines"
  mines+=("$(sed -E 's/.*mine=([0-9a-f]+).*/\1/' <<<"$first")")
done
distinct=$(printf '%s\n' "${mines[@]}" | sort -u | grep -c .)
[ $bad = 0 ] && echo "PASS clones_continue_independently (each from i=$((i0 + 1)), n=$((n0 + 1)); counts never include another clone's files)" ||
  fail clones_continue_independently "$bad clone(s) off"
[ "$distinct" = "${#mines[@]}" ] && [ "$distinct" = "$N" ] && echo "PASS clones_fresh_entropy ($distinct distinct first random names)" ||
  fail clones_fresh_entropy "only $distinct distinct first random names among ${#mines[@]}: ${mines[*]}"

{ for p in "${PIDS[@]}"; do kill -9 "$p"; done; wait; } 2>/dev/null
PIDS=()

# a fresh VM on clone 1's overlay and on clone 2's: each holds its own files, not the other's
m1=$(grep -oE 'mine=[0-9a-f]+' "$W/o1" | sed 's/mine=//' | tail -n +2 | head -n1)
m2=$(grep -oE 'mine=[0-9a-f]+' "$W/o2" | sed 's/mine=//' | tail -n +2 | head -n1)
LS='mount -o ro /dev/vda /mnt && ls /mnt'
for k in 1 2; do
  timeout 120 "$VMKIT" run --mem 64M --net none --console stdio --disk "$W/c$k/disk0.cow" \
    --append "vmkit.net=0 vmkit.run=b64:$(printf '%s' "$LS" | base64 -w0)" </dev/null >"$W/ls$k" 2>&1
done
if [ -n "$m1" ] && [ -n "$m2" ] && grep -q "w-$m1" "$W/ls1" && ! grep -q "w-$m2" "$W/ls1" &&
   grep -q "w-$m2" "$W/ls2" && ! grep -q "w-$m1" "$W/ls2"; then
  echo "PASS clone_disks_isolated (clone 1 has w-$m1 only, clone 2 has w-$m2 only)"
else
  fail clone_disks_isolated "m1=$m1 m2=$m2; clone1: $(grep -o 'w-[0-9a-f]*' "$W/ls1" | tr '\n' ' ')" "$W/ls1"
fi
[ "$(sha256sum <"$W/base.ext4")" = "$base_sum" ] && [ "$(cat "$W/snap/state" "$W/snap/memory" | sha256sum)" = "$snap_sum" ] &&
  echo "PASS clone_base_unchanged (base disk and snapshot files identical after $N clones ran)" ||
  fail clone_base_unchanged "the base disk or the snapshot changed"
exit 0
