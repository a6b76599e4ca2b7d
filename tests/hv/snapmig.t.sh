#!/usr/bin/env bash
# snapmig.t.sh — snapshots, clones and live migration through the daemon. A running guest is
# snapshotted (`vmkit snapshot`: pause, write, resume), restored under a new name and cloned 3 times;
# each copy answers on its console. Then a second daemon on the same host listens for migrations
# (--migrate-listen on loopback): `vmkit migrate` moves a running guest there (source "migrated",
# destination "running" and answering); a migration to a daemon that already has that name is
# refused with the destination's reason and the source keeps running.
set -uo pipefail
N=hv_snapmig
P=sm$$
. "$(dirname "$0")/lib.sh"
hv_require cgroups
if ! "$VMKIT" run --help 2>/dev/null | grep -- "--incoming-fd" >/dev/null; then echo "SKIP $N: this VMM has no --restore/--incoming-fd"; exit 0; fi
export VMKIT_IMAGES=$IMG
hv_tmp hvsnap
export VMKIT_SOCK=$T/a.sock
B=$T/b.sock
PORT=$((20000 + $$ % 20000))
answers() {   # NAME TAG SOCK: a command typed on the console prints its result
  local n=$1 tag=$2 sock=${3:-$VMKIT_SOCK} dir
  dir=$(VMKIT_SOCK=$sock V inspect "$n" | sed -n 's/^\t"dir":\t"\(.*\)",$/\1/p')
  printf 'echo %s-$((6*7))\n' "$tag" | VMKIT_SOCK=$sock timeout 3 "$VMKIT" console "$n" >/dev/null 2>&1
  for _ in $(seq 50); do grep -q "$tag-42" "$dir/root/console.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
"$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/a" --no-jail --overcommit-cpu 8 2>"$T/err" &&
"$VMKIT" serve --sock "$B" --state-dir "$T/b" --no-jail --migrate-listen 127.0.0.1:$PORT 2>>"$T/err" ||
  { echo "FAIL hv_snapmig_daemons: $(cat "$T/err")"; exit 0; }
for s in "$VMKIT_SOCK" "$B"; do hv_note_cgb "$s"; done

A=$P-a
V create $A --mem 64M --net none --append vmkit.net=0 >/dev/null && V start $A >/dev/null
for _ in $(seq 200); do V logs $A | grep -q "vmkit guest ready" && break; sleep 0.1; done
t0=$(date +%s%N)
out=$(V snapshot $A "$T/snap" 2>&1); rc=$?
t1=$(date +%s%N)
if [ $rc = 0 ] && [ -f "$T/snap/state" ] && [ -f "$T/snap/definition.json" ] && [ "$(state_of $A)" = running ] && answers $A after-snap; then
  echo "PASS hv_snapshot_running_vm ($(( (t1 - t0) / 1000000 )) ms; the VM resumed)"
else echo "FAIL hv_snapshot_running_vm: rc=$rc $out, state $(state_of $A)"; fi
t0=$(date +%s%N)
out=$(V restore "$T/snap" --name $P-r 2>&1); rc=$?
t1=$(date +%s%N)
if [ $rc = 0 ] && [ "$(state_of $P-r)" = running ] && answers $P-r restored; then
  echo "PASS hv_restore_new_name ($(( (t1 - t0) / 1000000 )) ms to running)"
else echo "FAIL hv_restore_new_name: rc=$rc $out"; fi
t0=$(date +%s%N)
out=$(V clone "$T/snap" --count 3 --prefix $P-c 2>&1); rc=$?
t1=$(date +%s%N)
ok=0
for i in 0 1 2; do answers $P-c-$i clone$i && ok=$((ok + 1)); done
[ $rc = 0 ] && [ $ok = 3 ] && echo "PASS hv_clone_3 ($(( (t1 - t0) / 1000000 )) ms for 3; all answer)" || echo "FAIL hv_clone_3: rc=$rc ok=$ok $out"
out=$(V restore "$T/snap" --name $P-r 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "already exists" && echo "PASS hv_restore_duplicate_refused ($out)" || echo "FAIL hv_restore_duplicate_refused: $out"
out=$(V restore "$T" --name $P-x 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "not a snapshot taken through the daemon" && echo "PASS hv_restore_not_a_snapshot" || echo "FAIL hv_restore_not_a_snapshot: $out"

# live migration to the second daemon
out=$(V migrate $A 127.0.0.1:$PORT 2>&1); rc=$?
# the destination daemon marks the VM running once its VMM's API says so (it polls): wait for that
for _ in $(seq 50); do [ "$(VMKIT_SOCK=$B state_of $A)" = running ] && break; sleep 0.1; done
if [ $rc = 0 ] && [ "$(state_of $A)" = migrated ] && [ "$(VMKIT_SOCK=$B state_of $A)" = running ] && answers $A migrated "$B"; then
  echo "PASS hv_migrate_between_daemons ($out)"
else echo "FAIL hv_migrate_between_daemons: rc=$rc $out; source $(state_of $A), destination $(VMKIT_SOCK=$B state_of $A)"; fi
# the destination already has a VM of that name: refused, the source keeps running
VMKIT_SOCK=$B V create $P-r --mem 64M --net none >/dev/null
out=$(V migrate $P-r 127.0.0.1:$PORT 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "already exists on the destination" && [ "$(state_of $P-r)" = running ] && answers $P-r still-here; then
  echo "PASS hv_migrate_refused_keeps_running ($out)"
else echo "FAIL hv_migrate_refused_keeps_running: rc=$rc $out; $(state_of $P-r)"; fi
out=$(V migrate $P-r 127.0.0.1:1 2>&1); rc=$?
[ $rc != 0 ] && [ "$(state_of $P-r)" = running ] && echo "PASS hv_migrate_unreachable ($out)" || echo "FAIL hv_migrate_unreachable: $out"
exit 0
