#!/usr/bin/env bash
# badinput.t.sh — the daemon's API and CLI against bad input: malformed JSON, unknown fields, wrong
# types, absurd sizes, bad names, duplicate names, unknown VMs, relative paths and '..' in drive
# paths, a drive outside --images-root, actions in the wrong state (start a running VM, snapshot /
# pause a stopped one, resume a running one), unknown routes. Each must be a 4xx with a JSON
# {"error": ...} that says what is wrong; afterwards the daemon still serves and no definition is lost
# (also across a daemon restart).
set -uo pipefail
N=hv_badinput
P=bi$$
. "$(dirname "$0")/lib.sh"
hv_require cgroups
export VMKIT_IMAGES=$IMG
hv_tmp hvbad
export VMKIT_SOCK=$T/d.sock
mkdir -p "$T/images" "$T/outside"
cp "$IMG/disk.ext4" "$T/images/disk.img" 2>/dev/null || truncate -s 1M "$T/images/disk.img"
truncate -s 1M "$T/outside/disk.img"
if ! "$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" --no-jail --images-root "$T/images" --overcommit-cpu 2 \
     2>"$T/serve.err"; then
  echo "FAIL hv_badinput_daemon: $(cat "$T/serve.err")"; exit 0
fi
hv_note_cgb "$VMKIT_SOCK"
# with --images-root, the kernel too must be inside it: the default guest is copied there
cp "$IMG/Image" "$IMG/initramfs.cpio.gz" "$IMG/fw_dynamic.bin" "$T/images/"
GOOD="\"mem_mib\":64,\"nets\":[],\"append\":\"vmkit.net=0\",\"kernel\":\"$T/images/Image\",\"initrd\":\"$T/images/initramfs.cpio.gz\",\"bios\":\"$T/images/fw_dynamic.bin\""

# expect CODE WHAT-REGEX METHOD PATH [BODY]
expect() {
  local code=$1 re=$2 m=$3 path=$4 body=${5-}
  local got
  if [ -n "$body" ]; then got=$(curl -s --max-time 30 --unix-socket "$VMKIT_SOCK" -o "$T/b" -w '%{http_code}' -X "$m" --data-binary "$body" "http://d$path")
  else got=$(curl -s --max-time 30 --unix-socket "$VMKIT_SOCK" -o "$T/b" -w '%{http_code}' -X "$m" "http://d$path"); fi
  if [ "$got" = "$code" ] && { [ "${code:0:1}" = 2 ] || { grep -q '^{"error":"' "$T/b" && grep -qi -- "$re" "$T/b"; }; }; then
    echo "PASS hv_bad_$6 ($code $(cut -c1-110 "$T/b"))"
  else
    echo "FAIL hv_bad_$6: $m $path -> $got $(cat "$T/b") (wanted $code /$re/)"
  fi
}
expect 400 "malformed JSON" POST /vms '{"name": "x", ' malformed_json
expect 400 "must be an object" POST /vms '[1,2]' not_object
expect 400 "missing JSON body" POST /vms "" empty_body
expect 400 "unknown field 'colour'" POST /vms "{\"name\":\"$P-x\",\"colour\":1}" unknown_field
expect 400 "'vcpus' must be a number" POST /vms "{\"name\":\"$P-x\",\"vcpus\":\"2\"}" wrong_type
expect 400 "'vcpus' must be an integer" POST /vms "{\"name\":\"$P-x\",\"vcpus\":1.5}" non_integer
expect 400 "'mem_mib' = 1e+12 is out of range" POST /vms "{\"name\":\"$P-x\",\"mem_mib\":1e12}" absurd_mem
expect 400 "'vcpus' = 1000 is out of range" POST /vms "{\"name\":\"$P-x\",\"vcpus\":1000}" absurd_vcpus
expect 400 "'mem_mib' = 1 is out of range" POST /vms "{\"name\":\"$P-x\",\"mem_mib\":1}" tiny_mem
expect 400 "invalid VM name" POST /vms '{"name":"../etc"}' name_traversal
expect 400 "invalid VM name" POST /vms '{"name":"Bad Name"}' name_chars
expect 400 "missing field 'name'" POST /vms '{"vcpus":1}' no_name
expect 400 "too long for socket paths" POST /vms "{\"name\":\"$P-$(printf 'x%.0s' $(seq 55))\"}" name_too_long_for_sockets
expect 400 "must be absolute" POST /vms "{\"name\":\"$P-x\",\"disks\":[{\"path\":\"disk.img\"}]}" relative_drive
expect 400 "contains '.' or '..'" POST /vms "{\"name\":\"$P-x\",\"disks\":[{\"path\":\"$T/images/../outside/disk.img\"}]}" dotdot_drive
expect 400 "outside the allowed root" POST /vms "{\"name\":\"$P-x\",\"disks\":[{\"path\":\"$T/outside/disk.img\"}]}" drive_outside_root
expect 400 "outside the allowed root" POST /vms "{\"name\":\"$P-x\",\"kernel\":\"$IMG/Image\"}" kernel_outside_root
expect 400 "No such file" POST /vms "{\"name\":\"$P-x\",\"disks\":[{\"path\":\"$T/images/nope.img\"}]}" missing_drive
expect 400 "each disk must be" POST /vms "{\"name\":\"$P-x\",\"disks\":[{\"path\":\"$T/images/disk.img\",\"ro\":\"yes\"}]}" drive_ro_type
expect 400 "at most 6 disks" POST /vms "{\"name\":\"$P-x\",\"disks\":[{},{},{},{},{},{},{}]}" too_many_disks
expect 400 "net 'bogus'" POST /vms "{\"name\":\"$P-x\",\"nets\":[\"bogus\"]}" bad_net
expect 400 "'engine' must be" POST /vms "{\"name\":\"$P-x\",\"engine\":\"arm\"}" bad_engine
expect 201 "" POST /vms "{\"name\":\"$P-a\",$GOOD,\"disks\":[{\"path\":\"$T/images/disk.img\",\"ro\":true}]}" create_ok
expect 409 "already exists" POST /vms "{\"name\":\"$P-a\",$GOOD}" duplicate_name
expect 404 "no VM named '$P-zz'" GET /vms/$P-zz "" unknown_vm_get
expect 404 "no VM named '$P-zz'" POST /vms/$P-zz/start "" unknown_vm_start
expect 404 "no VM named" DELETE /vms/$P-zz "" unknown_vm_delete
expect 400 "invalid VM name" GET /vms/..%2f..%2fetc "" path_name
expect 404 "no such action" POST /vms/$P-a/explode "" unknown_action
expect 404 "no such resource" GET /nothing "" unknown_route
expect 409 "cannot snapshot $P-a: it is created" POST /vms/$P-a/snapshot "{\"dir\":\"$T/snap\"}" snapshot_not_running
expect 409 "cannot pause $P-a: it is created" POST /vms/$P-a/pause "" pause_not_running
expect 409 "not running" POST /vms/$P-a/stop "" stop_not_running
expect 400 "'timeout' must be" POST /vms/$P-a/stop '{"timeout":"soon"}' stop_bad_timeout
expect 400 "unknown field 'when'" POST /vms/$P-a/stop '{"when":1}' stop_unknown_field
curl -s --max-time 30 --unix-socket "$VMKIT_SOCK" -X POST http://d/vms/$P-a/start -o /dev/null
expect 409 "already running" POST /vms/$P-a/start "" start_running
expect 409 "cannot resume $P-a: it is running" POST /vms/$P-a/resume "" resume_running
expect 409 "stop it first" DELETE /vms/$P-a "" delete_running
expect 400 "snapshot needs" POST /vms/$P-a/snapshot '{"dir":"relative/dir"}' snapshot_relative
expect 400 "offset must be a number" GET "/vms/$P-a/logs?offset=abc" "" logs_bad_offset
# a big body: refused before the handler
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/big"
code=$(curl -s --max-time 30 --unix-socket "$VMKIT_SOCK" -o "$T/b" -w '%{http_code}' -X POST --data-binary @"$T/big" http://d/vms)
[ "$code" = 413 ] && echo "PASS hv_bad_huge_body (413)" || echo "FAIL hv_bad_huge_body: $code"

# the CLI: one line, non-zero
cli() {
  local out rc
  out=$("$VMKIT" "$@" 2>&1); rc=$?
  if [ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q '^vmkit: '; then
    echo "PASS hv_cli_bad_$1_$(( ++ncli )) ($out)"
  else echo "FAIL hv_cli_bad_$1_$(( ++ncli )): rc=$rc $out"; fi
}
ncli=0
cli create "Bad"
cli create $P-c --mem lots
cli create $P-c --kernel /nonexistent
cli create $P-c --disk "$T/images/disk.img,rw"
cli create $P-c --frobnicate 1
cli start
cli start $P-zz
cli stop $P-a --timeout never
cli rm $P-a
cli create $P-a --mem 64M

# the daemon still serves, nothing was lost, and a restart keeps the definition
n=$(curl -s --unix-socket "$VMKIT_SOCK" http://d/vms | grep -o '"name"' | wc -l)
[ "$n" = 1 ] && echo "PASS hv_bad_daemon_still_serves (1 definition)" || echo "FAIL hv_bad_daemon_still_serves: $n definitions"
kill "$(daemon_pid)"; sleep 0.5
"$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" --no-jail --images-root "$T/images" 2>>"$T/serve.err"
st=$(curl -s --unix-socket "$VMKIT_SOCK" http://d/vms/$P-a)
echo "$st" | grep -q "\"state\":\"running\"" && echo "$st" | grep -q '"ro":true' &&
  echo "PASS hv_bad_definition_survives_restart" || echo "FAIL hv_bad_definition_survives_restart: $st"
"$VMKIT" rm --force $P-a >/dev/null 2>&1
exit 0
