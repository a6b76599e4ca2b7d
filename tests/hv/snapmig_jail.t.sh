#!/usr/bin/env bash
# snapmig_jail.t.sh — snapshots, restores, clones and live migration of JAILED VMs through the
# daemon (serve without --no-jail, --images-root holding the guest images and a writable disk the
# daemon chowns to the VMM's uid). A guest counting on its console is snapshotted (full, then a
# diff), restored and cloned 3 times, every copy jailed and running with the counter continuing past the value it had
# at the snapshot (a fresh boot would not count at all). Before that, a second jailed daemon
# receives a live migration of the jailed VM without network (--net none: the VMM keeps the host
# network namespace because it has an API socket) and the counter continues there; it is stopped
# so that the restore can lock the disk, and the restored VM is stopped before the clones (which
# read the disk as the base of their overlays); at the end the diff is restored jailed.
set -uo pipefail
N=hv_snapmig_jail
P=sj$$
. "$(dirname "$0")/lib.sh"
hv_require "jail, cgroups"
if ! "$VMKIT" run --help 2>/dev/null | grep -- "--allowed-root" >/dev/null; then echo "SKIP $N: this VMM cannot restore under the jail"; exit 0; fi
hv_tmp hvjsnap
chmod 0755 "$T"
mkdir -p "$T/img"
cp "$IMG/Image" "$IMG/initramfs.cpio.gz" "$IMG/fw_dynamic.bin" "$T/img/"
truncate -s 16M "$T/img/data.raw"          # root-owned 0644: the daemon chowns it to the VMM's uid
export VMKIT_IMAGES=$T/img
export VMKIT_SOCK=$T/a.sock
B=$T/b.sock
PORT=$((20000 + ($$ + 7) % 20000))
# last counter value in NAME's console log (0 if none)
count_of() {
  local d; d=$(dir_of "$1")
  { grep -ao 'cnt-[0-9]*' "$d/root/console.log" 2>/dev/null || true; } | tail -1 | sed 's/cnt-//;s/^$/0/'
}
# NAME MIN: the counter exceeds MIN within 15 s
counts_past() {
  local c
  for _ in $(seq 150); do c=$(count_of "$1"); [ "${c:-0}" -gt "$2" ] && return 0; sleep 0.1; done
  return 1
}
"$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/a" --images-root "$T/img" --overcommit-cpu 8 2>"$T/err" &&
"$VMKIT" serve --sock "$B" --state-dir "$T/b" --images-root "$T/img" --migrate-listen 127.0.0.1:$PORT 2>>"$T/err" ||
  { echo "FAIL hv_jail_daemons: $(cat "$T/err")"; exit 0; }
for s in "$VMKIT_SOCK" "$B"; do hv_note_cgb "$s"; done

A=$P-a
if V create $A --mem 64M --net none --disk "$T/img/data.raw" --append vmkit.net=0 >/dev/null 2>"$T/cerr" && V start $A >/dev/null 2>>"$T/cerr"; then :
else echo "FAIL hv_jail_start: $(cat "$T/cerr")"; exit 0; fi
for _ in $(seq 300); do V logs $A 2>/dev/null | grep -q "vmkit guest ready" && break; sleep 0.1; done
if [ "$(field $A jailed)" = true ] && [ "$(stat -c %u "$T/img/data.raw")" = 65534 ]; then
  echo "PASS hv_jail_disk_chowned (the writable disk in the images root now belongs to uid 65534; jailed)"
else echo "FAIL hv_jail_disk_chowned: jailed=$(field $A jailed) owner=$(stat -c %u "$T/img/data.raw")"; fi
printf 'i=0; while true; do i=$((i+1)); echo cnt-$i; sleep 0.1; done &\n' | timeout 3 "$VMKIT" console $A >/dev/null 2>&1
counts_past $A 5 || echo "FAIL hv_jail_counter: the guest does not count ($(tail -c 300 "$(dir_of $A)/root/console.log"))"

t0=$(date +%s%N)
out=$(V snapshot $A "$T/snap" 2>&1); rc=$?
t1=$(date +%s%N)
c0=$(count_of $A)
if [ $rc = 0 ] && [ -f "$T/snap/state" ] && [ "$(state_of $A)" = running ] && counts_past $A "$c0"; then
  echo "PASS hv_jail_snapshot ($(( (t1 - t0) / 1000000 )) ms; counter at $c0, the VM resumed)"
else echo "FAIL hv_jail_snapshot: rc=$rc $out, state $(state_of $A)"; fi
snapc=$c0

counts_past $A $((snapc + 3))
out=$(V snapshot $A "$T/snap2" --diff 2>&1); rc=$?
diffc=$(count_of $A)
[ $rc = 0 ] && [ -f "$T/snap2/state" ] && [ "$(state_of $A)" = running ] &&
  echo "PASS hv_jail_diff_snapshot (counter at $diffc; parent recorded by its host path)" || echo "FAIL hv_jail_diff_snapshot: rc=$rc $out"

# live migration of a jailed VM without network to a jailed destination daemon
out=$(V migrate $A 127.0.0.1:$PORT 2>&1); rc=$?
# the destination daemon marks the VM running once its VMM's API says so (it polls): wait for that
for _ in $(seq 50); do [ "$(VMKIT_SOCK=$B state_of $A)" = running ] && break; sleep 0.1; done
if [ $rc = 0 ] && [ "$(state_of $A)" = migrated ] && [ "$(VMKIT_SOCK=$B state_of $A)" = running ] &&
   [ "$(VMKIT_SOCK=$B field $A jailed)" = true ]; then
  d=$(VMKIT_SOCK=$B dir_of $A); okc=no
  for _ in $(seq 150); do grep -aq 'cnt-' "$d/root/console.log" 2>/dev/null && { okc=yes; break; }; sleep 0.1; done
  c=$({ grep -ao 'cnt-[0-9]*' "$d/root/console.log" || true; } | tail -1 | sed 's/cnt-//')
  [ $okc = yes ] && [ "${c:-0}" -gt "$snapc" ] && echo "PASS hv_jail_migrate_net_none ($out; counter $c at the destination)" ||
    echo "FAIL hv_jail_migrate_net_none: the destination does not count ($(tail -c 200 "$d/root/console.log" 2>/dev/null))"
else echo "FAIL hv_jail_migrate_net_none: rc=$rc $out; source $(state_of $A), destination $(VMKIT_SOCK=$B state_of $A), jailed $(VMKIT_SOCK=$B field $A jailed)"; fi
# the disk is the migrated VM's until it stops: stop it, then restore, then clone
VMKIT_SOCK=$B V stop $A >/dev/null 2>&1
for _ in $(seq 100); do [ "$(VMKIT_SOCK=$B state_of $A)" = stopped ] && break; sleep 0.1; done
t0=$(date +%s%N)
out=$(V restore "$T/snap" --name $P-r 2>&1); rc=$?
t1=$(date +%s%N)
if [ $rc = 0 ] && [ "$(state_of $P-r)" = running ] && [ "$(field $P-r jailed)" = true ] && counts_past $P-r "$snapc"; then
  echo "PASS hv_jail_restore ($(( (t1 - t0) / 1000000 )) ms to running, jailed; counter continues: $(count_of $P-r) > $snapc)"
else echo "FAIL hv_jail_restore: rc=$rc $out; state $(state_of $P-r); $(tail -3 "$(dir_of $P-r)/vmm.log" 2>/dev/null)"; fi

V stop $P-r >/dev/null 2>&1
for _ in $(seq 100); do [ "$(state_of $P-r)" = stopped ] && break; sleep 0.1; done
t0=$(date +%s%N)
out=$(V clone "$T/snap" --count 3 --prefix $P-c 2>&1); rc=$?
t1=$(date +%s%N)
ok=0; why=""
for i in 0 1 2; do
  if [ "$(state_of $P-c-$i)" = running ] && [ "$(field $P-c-$i jailed)" = true ] && counts_past $P-c-$i "$snapc" &&
     [ -f "$(dir_of $P-c-$i)/root/clone-disks/disk0.cow" ]; then ok=$((ok + 1))
  else why="$why $P-c-$i: $(state_of $P-c-$i) $(tail -2 "$(dir_of $P-c-$i)/vmm.log" 2>/dev/null | tr '\n' ' ')"; fi
done
[ $rc = 0 ] && [ $ok = 3 ] && echo "PASS hv_jail_clone_3 ($(( (t1 - t0) / 1000000 )) ms for 3; all jailed, counting past $snapc, overlays in root/clone-disks)" ||
  echo "FAIL hv_jail_clone_3: rc=$rc ok=$ok $out$why"

# a jailed clone stops cleanly (its overlay flushed and closed by the filtered vCPU thread)
V stop $P-c-0 >/dev/null 2>&1
for _ in $(seq 100); do [ "$(state_of $P-c-0)" = stopped ] && break; sleep 0.1; done
r=$(field $P-c-0 reason)
[ "$(state_of $P-c-0)" = stopped ] && ! echo "$r" | grep -q SIGSYS && echo "PASS hv_jail_clone_stops_cleanly ($r)" ||
  echo "FAIL hv_jail_clone_stops_cleanly: $(state_of $P-c-0) '$r'"
# stats of a jailed VM read the VMM process (the jail waiter's child), not the waiter
st=$(curl -s --unix-socket "$VMKIT_SOCK" http://d/vms/$P-c-1/stats)
vp=$(echo "$st" | sed -n 's/.*"vmm_process_pid":\([0-9]*\).*/\1/p'); pp=$(field $P-c-1 pid)
rss=$(echo "$st" | sed -n 's/.*"vmm_rss_bytes":\([0-9.e+]*\).*/\1/p')
[ -n "$vp" ] && [ "$vp" != "$pp" ] && [ "$(cat /proc/$vp/status 2>/dev/null | awk '$1=="PPid:"{print $2}')" = "$pp" ] && [ "${rss%%.*}" != 0 ] &&
  echo "PASS hv_jail_stats_vmm_process (VMM pid $vp, child of waiter $pp; RSS $rss bytes)" ||
  echo "FAIL hv_jail_stats_vmm_process: vmm_process_pid=$vp waiter=$pp rss=$rss"
# the diff restored jailed (its parent bound too) once the clones let go of the disk
for i in 0 1 2; do V stop $P-c-$i >/dev/null 2>&1; done
for _ in $(seq 100); do [ "$(state_of $P-c-1)$(state_of $P-c-2)" = stoppedstopped ] && break; sleep 0.1; done
out=$(V restore "$T/snap2" --name $P-d 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(state_of $P-d)" = running ] && [ "$(field $P-d jailed)" = true ] && counts_past $P-d "$diffc"; then
  echo "PASS hv_jail_restore_diff (jailed, snapshot and parent bound; counter continues: $(count_of $P-d) > $diffc)"
else echo "FAIL hv_jail_restore_diff: rc=$rc $out; state $(state_of $P-d); $(tail -2 "$(dir_of $P-d)/vmm.log" 2>/dev/null)"; fi
exit 0
