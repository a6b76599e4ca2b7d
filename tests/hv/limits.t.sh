#!/usr/bin/env bash
# limits.t.sh — admission control and per-VM cgroups. A daemon with a small overcommit refuses a
# start that does not fit with a message saying what is short (vCPUs, then memory); a VM's cgroup
# limits (--cpu-limit, --cpu-weight, --pids-max, memory = guest + 32 MiB overhead) are read back from
# the cgroup files (v1 on this host: cpu, memory, pids hierarchies; v2 when unified), the VMM is in
# the cgroup, `stats` shows the same figures, and the cgroup is removed when the VM stops.
set -uo pipefail
N=hv_limits
P=lm$$
HV_TIMEOUT=60
. "$(dirname "$0")/lib.sh"
hv_require cgroups
export VMKIT_IMAGES=$IMG
hv_tmp hvlim
export VMKIT_SOCK=$T/d.sock
hostmem=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
ncpu=$(nproc)
# capacity: 2 vCPUs per host CPU; memory for exactly two 64 MiB VMs (2 x 96 MiB)
ocm=$(awk -v h="$hostmem" 'BEGIN{printf "%.6f", 200/h}')
if ! "$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" --no-jail --overcommit-cpu 2 --overcommit-mem "$ocm" 2>"$T/err"; then
  echo "FAIL hv_limits_daemon: $(cat "$T/err")"; exit 0
fi
hv_note_cgb "$VMKIT_SOCK"
cap=$(curl -s --unix-socket "$VMKIT_SOCK" http://d/host)
echo "host: $cap"

# 1. admission: too many vCPUs
big=$((ncpu * 2 + 1))
[ $big -le 32 ] || { echo "SKIP hv_admission_refuses_vcpus: $ncpu host CPUs"; big=32; }
V create $P-big --cpus $big --mem 64M --net none --append vmkit.net=0 >/dev/null
out=$(V start $P-big 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "^vmkit: cannot start $P-big: needs $big vCPUs and 96 MiB; free: $((ncpu * 2)) vCPUs and 19[0-9] MiB (overcommit cpu 2.0, mem 0.00"; then
  echo "PASS hv_admission_refuses_vcpus ($out)"
else echo "FAIL hv_admission_refuses_vcpus: rc=$rc $out"; fi
code=$(curl -s --unix-socket "$VMKIT_SOCK" -o "$T/b" -w '%{http_code}' -X POST http://d/vms/$P-big/start)
[ "$code" = 409 ] && grep -q "needs $big vCPUs" "$T/b" && echo "PASS hv_admission_http_409" || echo "FAIL hv_admission_http_409: $code $(cat "$T/b")"
V rm $P-big >/dev/null

# 2. cgroup limits read back from the files
A=$P-a
V create $A --mem 64M --cpu-limit 0.5 --cpu-weight 200 --pids-max 64 --net none --append vmkit.net=0 >/dev/null
V start $A >/dev/null
vpid=$(V inspect $A | sed -n 's/^\t"vmm_pid":\t\([0-9]*\),$/\1/p')
if [ -d /sys/fs/cgroup/cpu/$CGB/$A ]; then
  got="$(cat /sys/fs/cgroup/cpu/$CGB/$A/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/$CGB/$A/cpu.cfs_period_us) $(cat /sys/fs/cgroup/cpu/$CGB/$A/cpu.shares) $(cat /sys/fs/cgroup/memory/$CGB/$A/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/$CGB/$A/pids.max)"
  want="50000 100000 2048 $(( 96 << 20 )) 64"
  inprocs=$(grep -c "^$vpid\$" /sys/fs/cgroup/memory/$CGB/$A/cgroup.procs)
  cgdir=/sys/fs/cgroup/memory/$CGB/$A
else
  got="$(cat /sys/fs/cgroup/$CGB/$A/cpu.max) $(cat /sys/fs/cgroup/$CGB/$A/cpu.weight) $(cat /sys/fs/cgroup/$CGB/$A/memory.max) $(cat /sys/fs/cgroup/$CGB/$A/pids.max)"
  want="50000 100000 200 $(( 96 << 20 )) 64"
  inprocs=$(grep -c "^$vpid\$" /sys/fs/cgroup/$CGB/$A/cgroup.procs)
  cgdir=/sys/fs/cgroup/$CGB/$A
fi
[ "$got" = "$want" ] && [ "$inprocs" = 1 ] && echo "PASS hv_cgroup_limits_in_files ($got; VMM $vpid in the cgroup)" ||
  echo "FAIL hv_cgroup_limits_in_files: got '$got' want '$want', VMM in cgroup: $inprocs"
st=$(V stats $A)
if echo "$st" | grep -Eq "(cpu.cfs_quota_us|cpu.max) +50000" && echo "$st" | grep -Eq "pids.max +64"; then
  echo "PASS hv_cgroup_limits_in_stats"
else echo "FAIL hv_cgroup_limits_in_stats: $(echo "$st" | tr '\n' ' ')"; fi

# 3. memory admission: a second 64 MiB VM fits (2 x 96 MiB <= 200 MiB), a third does not
V create $P-b --mem 64M --net none --append vmkit.net=0 >/dev/null
V create $P-c --mem 64M --net none --append vmkit.net=0 >/dev/null
V start $P-b >/dev/null 2>&1; rb=$?
out=$(V start $P-c 2>&1); rc=$?
if [ $rb = 0 ] && [ $rc != 0 ] && echo "$out" | grep -q "cannot start $P-c: needs 1 vCPU and 96 MiB; free: .* and [0-9]* MiB"; then
  echo "PASS hv_admission_refuses_memory ($out)"
else echo "FAIL hv_admission_refuses_memory: b=$rb c=$rc $out"; fi

# 4. the CPU quota is in effect: a guest spinning in a busy loop under --cpu-limit 0.2 gets ~20% of a CPU
V kill $P-b >/dev/null
V create $P-spin --mem 64M --cpu-limit 0.2 --net none --append 'vmkit.net=0 vmkit.run=while%20:;%20do%20:;%20done' >/dev/null
V start $P-spin >/dev/null
sleep 2
use() { V stats $P-spin --json | sed -n 's/^\t\t"cpu_usage_ns":\t\([0-9.e+]*\),\{0,1\}$/\1/p'; }
u1=$(use); sleep 3; u2=$(use)
pct=$(awk -v a="$u1" -v b="$u2" 'BEGIN { printf "%.0f", (b - a) / 3e9 * 100 }')
if [ -n "$u1" ] && [ -n "$u2" ] && [ "$pct" -ge 5 ] && [ "$pct" -le 26 ]; then echo "PASS hv_cgroup_cpu_quota_in_effect (busy guest used ${pct}% of a CPU under a 20% quota)"
else echo "FAIL hv_cgroup_cpu_quota_in_effect: ${pct}% of a CPU ($u1 -> $u2)"; fi
V kill $P-spin >/dev/null

# 5. stopping removes the cgroup
V kill $A >/dev/null
sleep 0.3
[ ! -d "$cgdir" ] && echo "PASS hv_cgroup_removed_on_stop" || echo "FAIL hv_cgroup_removed_on_stop: $cgdir still there"
exit 0
