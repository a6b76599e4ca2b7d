#!/usr/bin/env bash
# netns_migrate.t.sh — live migration between two vmkit daemons on two "hosts": network namespaces
# joined by a veth pair (10.201.0.1 <-> 10.201.0.2). Daemon A runs in namespace A, daemon B in namespace
# B with --migrate-listen 10.201.0.2:PORT; both jail their VMMs (the default). A guest on A keeps a
# counter running and an 8 MiB in-memory file whose checksum it prints with every count; `vmkit migrate`
# moves it to B over the veth. Checks: the source ends "migrated", the destination runs it, the counter
# continues past the last value seen on A (no reboot), and the in-memory checksum is unchanged.
set -uo pipefail
N=hv_netns_migrate
P=nm$$
. "$(dirname "$0")/lib.sh"
hv_require "network namespaces, jail, cgroups"
command -v ip >/dev/null && command -v nsenter >/dev/null || { echo "SKIP $N: needs ip and nsenter"; exit 0; }
hv_tmp hvnetns
chmod 0755 "$T"
mkdir -p "$T/img"
cp "$IMG/Image" "$IMG/initramfs.cpio.gz" "$IMG/fw_dynamic.bin" "$T/img/"
export VMKIT_IMAGES=$T/img
export VMKIT_SOCK=$T/a.sock
B=$T/b.sock
NA=vmkhvA$$ NB=vmkhvB$$
PORT=$((21000 + $$ % 20000))
hv_cleanup_more() { ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null; }
log_of() { echo "$(field "$1" dir)/root/console.log"; }
last_of() {   # last "cnt-N sum-X" line in NAME's console log
  { grep -ao 'cnt-[0-9]* sum-[0-9a-f-]*' "$(log_of "$1")" 2>/dev/null || true; } | tail -1
}
count_of() { last_of "$1" | sed -n 's/^cnt-\([0-9]*\).*/\1/p'; }

# two "hosts"
if ! { ip netns add "$NA" && ip netns add "$NB" && ip link add "va$$" type veth peer name "vb$$" &&
       ip link set "va$$" netns "$NA" && ip link set "vb$$" netns "$NB" &&
       ip -n "$NA" addr add 10.201.0.1/24 dev "va$$" && ip -n "$NB" addr add 10.201.0.2/24 dev "vb$$" &&
       ip -n "$NA" link set "va$$" up && ip -n "$NB" link set "vb$$" up &&
       ip -n "$NA" link set lo up && ip -n "$NB" link set lo up; } 2>"$T/nerr"; then
  echo "SKIP $N: cannot create network namespaces here: $(head -n1 "$T/nerr")"; exit 0
fi
# nsenter --net keeps the mount namespace (cgroups, the state dirs and the unix sockets stay visible)
nsenter --net=/run/netns/"$NA" "$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/a" --images-root "$T/img" 2>"$T/err" &&
nsenter --net=/run/netns/"$NB" "$VMKIT" serve --sock "$B" --state-dir "$T/b" --images-root "$T/img" \
  --migrate-listen 10.201.0.2:$PORT 2>>"$T/err" || { echo "FAIL hv_netns_daemons: $(cat "$T/err")"; exit 0; }
for s in "$VMKIT_SOCK" "$B"; do hv_note_cgb "$s"; done

A=$P-a
if ! { V create $A --mem 96M --net none --append vmkit.net=0 >/dev/null 2>"$T/cerr" && V start $A >/dev/null 2>>"$T/cerr"; }; then
  echo "FAIL hv_netns_start: $(cat "$T/cerr")"; exit 0
fi
for _ in $(seq 300); do V logs $A 2>/dev/null | grep -q "vmkit guest ready" && break; sleep 0.1; done
printf '%s\n' 'dd if=/dev/urandom of=/tmp/blob bs=1M count=8 2>/dev/null; s=$(md5sum </tmp/blob | cut -c1-32); i=0; while true; do i=$((i+1)); echo cnt-$i sum-$s-$(md5sum </tmp/blob | cut -c1-32); sleep 0.2; done &' |
  timeout 3 "$VMKIT" console $A >/dev/null 2>&1
c0=
for _ in $(seq 150); do c0=$(count_of $A); [ "${c0:-0}" -gt 3 ] && break; sleep 0.1; done
[ "${c0:-0}" -gt 3 ] || { echo "FAIL hv_netns_counter: the guest does not count ($(tail -c 300 "$(log_of $A)"))"; exit 0; }
sum0=$(last_of $A | sed -n 's/.*sum-\([0-9a-f]*\)-.*/\1/p')
[ "$(field $A jailed)" = true ] && echo "PASS hv_netns_source_running (jailed VMM in namespace A, counter at $c0)" ||
  echo "FAIL hv_netns_source_running: jailed=$(field $A jailed)"

out=$(V migrate $A 10.201.0.2:$PORT 2>&1); rc=$?
cA=$(count_of $A)
for _ in $(seq 50); do [ "$(VMKIT_SOCK=$B state_of $A)" = running ] && break; sleep 0.1; done
if [ $rc = 0 ] && [ "$(state_of $A)" = migrated ] && [ "$(VMKIT_SOCK=$B state_of $A)" = running ]; then
  echo "PASS hv_netns_migrate ($out)"
else echo "FAIL hv_netns_migrate: rc=$rc $out; source $(state_of $A), destination $(VMKIT_SOCK=$B state_of $A)"; exit 0; fi
ok=no
for _ in $(seq 150); do
  c=$(VMKIT_SOCK=$B count_of $A); [ "${c:-0}" -gt "${cA:-0}" ] && { ok=yes; break; }; sleep 0.1
done
line=$(VMKIT_SOCK=$B last_of $A)
dlog=$(VMKIT_SOCK=$B log_of $A)
if [ $ok = yes ] && ! grep -aq "vmkit guest ready" "$dlog"; then
  echo "PASS hv_netns_counter_continues (last on A: ${cA:-?}, on B: $(VMKIT_SOCK=$B count_of $A); no reboot)"
else echo "FAIL hv_netns_counter_continues: A ended at ${cA:-?}; B: ${line:-nothing} $(tail -c 200 "$dlog" 2>/dev/null)"; fi
# the 8 MiB file lives in guest RAM (tmpfs): its checksum on B must be the one computed before migrating
sums=$(echo "$line" | sed -n 's/.*sum-\([0-9a-f]*\)-\([0-9a-f]*\)$/\1 \2/p')
if [ -n "$sum0" ] && [ "$sums" = "$sum0 $sum0" ]; then
  echo "PASS hv_netns_memory_checksum (8 MiB in guest RAM: $sum0 before and after)"
else echo "FAIL hv_netns_memory_checksum: before $sum0, after: $sums (last line on B: $line; on A: $(tail -c 300 "$(log_of $A)" | tr -d '\r' | tr '\n' '|'))"; fi
VMKIT_SOCK=$B V kill $A >/dev/null 2>&1
exit 0
