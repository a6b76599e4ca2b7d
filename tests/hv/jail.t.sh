#!/usr/bin/env bash
# jail.t.sh — the per-VM jail end to end: boots the default guest under `vmkit run --jail` (disk, user
# networking, console socket, API socket) and checks from the host that the VMM runs unprivileged
# (uid/gid, no capabilities, no_new_privs, seccomp filter mode), in its own mount/pid/ipc/uts
# namespaces, with a root holding only its files; that the guest's disk and network work under the
# seccomp allowlists; that a drive outside --jail-root is refused; and that a forbidden syscall
# (VMKIT_TEST_HOOKS=1, PUT /vmkit/test/forbidden-syscall) kills the VMM with SIGSYS, reported by the
# waiter's <dir>/exit. Also: hostfwd, snapshot from the API, TAP networking, and the test-only driver
# `build/tests/hv/test_seccomp --boot` (jail + filters around vmk_vm_new/run, "vcpu" asked for after
# the I/O thread started).
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
DRIVER=${VMKIT_JAIL_DRIVER:-$(dirname "$VMKIT")/tests/hv/test_seccomp}
JUID=${VMKIT_JAIL_UID:-64123}
if [ "$(id -u)" != 0 ]; then echo "SKIP jail: needs root (namespaces, uid switch)"; exit 0; fi
if [ ! -x "$VMKIT" ]; then echo "SKIP jail: $VMKIT not built"; exit 0; fi
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  if [ ! -f "$IMG/$f" ]; then echo "SKIP jail: no guest image $IMG/$f (run make images)"; exit 0; fi
done
command -v python3 >/dev/null || { echo "SKIP jail: python3 needed for the console client"; exit 0; }
if ! "$VMKIT" run --help 2>&1 | grep -- '--jail' >/dev/null; then echo "SKIP jail: this vmkit run has no --jail"; exit 0; fi

T=$(mktemp -d /tmp/vmkit-jail.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
  exec 2>/dev/null            # no "Killed" job notices for the helpers we end
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${TAP:-}" ] && ip link del "$TAP" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# the VM's files, owned by its uid (the disk must be writable by it), and its jail directory
F=$T/files
mkdir -p "$F" "$T/vm" "$T/vm2"
cp "$IMG/Image" "$IMG/initramfs.cpio.gz" "$IMG/fw_dynamic.bin" "$IMG/disk.ext4" "$F/"
chown "$JUID:$JUID" "$F/disk.ext4"
chmod 644 "$F"/*
cp "$IMG/disk.ext4" "$T/outside.ext4"; chown "$JUID:$JUID" "$T/outside.ext4"

# a host HTTP server the guest fetches through libslirp (10.0.2.2 = the host's 127.0.0.1)
echo "jail-http-ok" > "$T/index.html"
PORT=$((20000 + RANDOM % 20000))
(cd "$T" && exec timeout 170 python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)

cat > "$T/con.py" <<'EOF'
import socket, sys, time
path, out, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + limit
s = None
while time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        s = None; time.sleep(0.05)
if s is None: sys.exit(1)
s.settimeout(0.5)
with open(out, "wb", buffering=0) as f:
    while time.time() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d: break
        f.write(d)
EOF

# the guest: disk write+read back, an HTTP fetch from the host, then idles while the host looks
GCMD="mount /dev/vda /mnt && echo jail-disk-\$((6*7)) > /mnt/j && sync && cat /mnt/j && umount /mnt; wget -q -O- http://10.0.2.2:$PORT/index.html; mkdir -p /tmp/w; echo jail-fwd-ok > /tmp/w/index.html; httpd -p 80 -h /tmp/w; echo jail-checkpoint; sleep 30"
FPORT=$((40000 + RANDOM % 20000))
B64=$(printf '%s' "$GCMD" | base64 -w0)

CON=$T/console.txt
VMKIT_LOG=info VMKIT_TEST_HOOKS=1 "$VMKIT" run --jail "$T/vm" --uid "$JUID" --gid "$JUID" --jail-root "$F" \
   --kernel "$F/Image" --initrd "$F/initramfs.cpio.gz" --bios "$F/fw_dynamic.bin" --disk "$F/disk.ext4" \
   --mem 64M --net "user,hostfwd=tcp::$FPORT-:80" --console "socket=$T/vm/root/console.sock" --api-sock "$T/vm/root/api.sock" --start \
   --append "vmkit.run=b64:$B64" </dev/null >"$T/vmm.log" 2>&1 &
waiter=$!; pids+=($waiter)
timeout 120 python3 "$T/con.py" "$T/vm/root/console.sock" "$CON" 110 &
pids+=($!)

ok=0
for _ in $(seq 240); do
  grep -aq "jail-checkpoint" "$CON" 2>/dev/null && { ok=1; break; }
  kill -0 "$waiter" 2>/dev/null || break
  sleep 0.25
done
jt=$(grep -ao "jail: entered .* in [0-9.]* ms" "$T/vmm.log" | grep -o "[0-9.]* ms" | tail -n1)
if [ $ok = 1 ] && grep -aq "jail-disk-42" "$CON"; then echo "PASS jail_guest_disk (the guest wrote and read back its disk; jail entered in ${jt:-? ms})"
else echo "FAIL jail_guest_disk: checkpoint=$ok; vmm: $(tail -n 3 "$T/vmm.log" | tr '\r\n' '  '); console: $(tail -n 5 "$CON" 2>/dev/null | tr '\r\n' '  ')"; fi
if [ $ok = 1 ] && grep -aq "jail-http-ok" "$CON"; then echo "PASS jail_guest_network (user networking from the io thread's allowlist)"
else echo "FAIL jail_guest_network: the guest did not fetch http://10.0.2.2:$PORT/"; fi
if [ $ok = 1 ]; then
  r=
  for _ in $(seq 20); do r=$(curl -s --max-time 2 "http://127.0.0.1:$FPORT/index.html"); [ -n "$r" ] && break; sleep 0.25; done
  if [ "$r" = jail-fwd-ok ]; then echo "PASS jail_hostfwd (host -> 127.0.0.1:$FPORT -> guest httpd through the jailed libslirp)"
  else echo "FAIL jail_hostfwd: curl got '$r'"; fi
fi

vmm=$(pgrep -P "$waiter" | head -n1)
if [ $ok = 1 ] && [ -n "$vmm" ] && [ -r "/proc/$vmm/status" ]; then
  st=/proc/$vmm/status
  f() { awk -v k="$1:" '$1==k {print $2, $3, $4, $5}' "$st"; }
  bad=
  [ "$(f Uid)" = "$JUID $JUID $JUID $JUID" ] || bad="$bad Uid=$(f Uid)"
  [ "$(f Gid)" = "$JUID $JUID $JUID $JUID" ] || bad="$bad Gid=$(f Gid)"
  for c in CapEff CapPrm CapBnd CapInh CapAmb; do
    v=$(awk -v k="$c:" '$1==k {print $2}' "$st"); [ "$v" = 0000000000000000 ] || bad="$bad $c=$v"
  done
  [ "$(awk '$1=="NoNewPrivs:" {print $2}' "$st")" = 1 ] || bad="$bad NoNewPrivs"
  [ "$(awk '$1=="Seccomp:" {print $2}' "$st")" = 2 ] || bad="$bad Seccomp=$(awk '$1=="Seccomp:" {print $2}' "$st")"
  filters=
  for t in /proc/$vmm/task/*; do
    n=$(awk '$1=="Seccomp_filters:" {print $2}' "$t/status"); [ "${n:-0}" -ge 1 ] || bad="$bad thread-${t##*/}-filters=$n"
    [ "$(awk '$1=="Seccomp:" {print $2}' "$t/status")" = 2 ] || bad="$bad thread-${t##*/}-unfiltered"
    filters="$filters $(cat "$t/comm" 2>/dev/null | tr -d ' '):$n"
  done
  # the guest's thread (the main one) runs under "main" (from the jail) + "vcpu"
  mainf=$(awk '$1=="Seccomp_filters:" {print $2}' "/proc/$vmm/task/$vmm/status")
  [ "$mainf" = 2 ] || bad="$bad guest-thread-filters=$mainf"
  if [ -z "$bad" ]; then echo "PASS jail_unprivileged (uid/gid $JUID, no capabilities, no_new_privs, seccomp on every thread; filters per thread:$filters)"
  else echo "FAIL jail_unprivileged:$bad"; fi

  bad=
  for ns in mnt pid ipc uts; do
    [ "$(readlink /proc/$vmm/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] || bad="$bad $ns"
  done
  if [ -z "$bad" ]; then echo "PASS jail_namespaces (mnt pid ipc uts differ from the host's)"; else echo "FAIL jail_namespaces: shared with the host:$bad"; fi

  listing=$(ls -A "/proc/$vmm/root/" | sort | tr '\n' ' ')
  extra=
  for n in $listing; do
    case $n in Image|initramfs.cpio.gz|fw_dynamic.bin|disk.ext4|dev|etc|api.sock|console.sock) ;; *) extra="$extra $n";; esac
  done
  devs=$(ls -A "/proc/$vmm/root/dev" | sort | tr '\n' ' ')
  if [ -z "$extra" ] && echo "$listing" | grep -q "disk.ext4" && { [ "$devs" = "null urandom " ] || [ "$devs" = "net null urandom " ]; } &&
     [ ! -e "/proc/$vmm/root/proc" ] && [ ! -e "/proc/$vmm/root/usr" ]; then
    echo "PASS jail_root_only_its_files (/: $listing; /dev: $devs)"
  else echo "FAIL jail_root_only_its_files: / holds: $listing (unexpected:$extra); /dev: $devs"; fi
  # fds 0-2 are the caller's (log files); everything the VMM opened itself has a jail path
  opened=$(for fd in /proc/$vmm/fd/*; do [ "${fd##*/}" -gt 2 ] && readlink "$fd"; done | tr '\n' ' ')
  if echo "$opened" | grep -q "^/disk.ext4 \| /disk.ext4 " && ! echo "$opened" | grep -q "$T"; then
    echo "PASS jail_no_host_paths (the VMM's own fds: $opened)"
  else echo "FAIL jail_no_host_paths: $opened"; fi
else
  echo "FAIL jail_unprivileged: no running VMM to inspect (waiter $waiter, vmm '${vmm:-}')"
fi

# a drive outside --jail-root is refused before anything starts
out=$("$VMKIT" run --jail "$T/vm2" --uid "$JUID" --gid "$JUID" --jail-root "$F" --kernel "$F/Image" \
      --initrd "$F/initramfs.cpio.gz" --bios "$F/fw_dynamic.bin" --disk "$T/outside.ext4" --net none \
      --console null </dev/null 2>&1); rc=$?
out2=$("$VMKIT" run --jail "$T/vm2" --uid "$JUID" --gid "$JUID" --jail-root "$F" --kernel "$F/Image" \
      --initrd "$F/initramfs.cpio.gz" --bios "$F/fw_dynamic.bin" --disk "$F/../outside.ext4" --net none \
      --console null </dev/null 2>&1); rc2=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "outside" && [ $rc2 -ne 0 ] && echo "$out2" | grep -q "outside" &&
   [ ! -e "$T/vm2/root/outside.ext4" ]; then
  echo "PASS jail_drive_outside_refused ($(echo "$out" | head -n1))"
else echo "FAIL jail_drive_outside_refused: rc=$rc '$out' / rc=$rc2 '$out2'"; fi

# the API from filtered threads: GET /, a snapshot; then a forbidden syscall (test hook) kills the
# VMM with SIGSYS and the waiter reports it
if [ $ok = 1 ]; then
  api=$T/vm/root/api.sock
  g=$(curl -s --max-time 5 --unix-socket "$api" http://localhost/ 2>&1)
  if echo "$g" | grep -q '"state"'; then echo "PASS jail_api_answers (GET / from a filtered API thread: $g)"
  else echo "FAIL jail_api_answers: '$g'"; fi
  # a snapshot from a filtered API thread, written inside the jail (the VM keeps running after)
  c1=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$api" -X PATCH http://localhost/vm -d '{"state":"Paused"}')
  c2=$(curl -s -o "$T/snap.out" -w '%{http_code}' --max-time 60 --unix-socket "$api" -X PUT http://localhost/snapshot/create \
        -d '{"snapshot_type":"Full","snapshot_path":"/snap"}')
  c3=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$api" -X PATCH http://localhost/vm -d '{"state":"Resumed"}')
  if [ "$c1$c2$c3" = 204204204 ] && [ -s "$T/vm/root/snap/state" ] && [ -s "$T/vm/root/snap/memory" ] && kill -0 "$vmm" 2>/dev/null; then
    echo "PASS jail_snapshot (paused, snapshot written to <dir>/root/snap by the jailed VMM, resumed)"
  elif [ "$c2" = 400 ] && grep -q "not available" "$T/snap.out"; then
    echo "SKIP jail_snapshot: $(cat "$T/snap.out")"
  else echo "FAIL jail_snapshot: pause $c1, create $c2 ($(cat "$T/snap.out" 2>/dev/null)), resume $c3; $(ls "$T/vm/root/snap" 2>&1 | tr '\n' ' ')"; fi
  curl -s --max-time 5 --unix-socket "$api" -X PUT http://localhost/vmkit/test/forbidden-syscall >/dev/null 2>&1
  for _ in $(seq 40); do kill -0 "$waiter" 2>/dev/null || break; sleep 0.25; done
  wait "$waiter"; rc=$?
  ex=$(cat "$T/vm/exit" 2>/dev/null)
  if [ "$ex" = "signal 31 (SIGSYS)" ] && [ $rc -eq 159 ]; then echo "PASS jail_forbidden_syscall_sigsys (exit file: $ex, waiter status $rc)"
  else echo "FAIL jail_forbidden_syscall_sigsys: exit file '$ex', waiter status $rc; vmm: $(tail -n 2 "$T/vmm.log" | tr '\n' ' ')"; fi
else
  echo "FAIL jail_api_answers: the jailed guest never got going"
fi
# restores under the jail: the snapshot written above (it records the in-jail disk path /disk.ext4,
# so --disk names the host file) is restored jailed, takes a diff snapshot inside its jail (whose
# parent is recorded by its host path), and the diff is restored jailed as a clone (snapshot, parent
# and clone directory bound); the clone finishes the command the snapshotted guest was running
if [ -s "$T/vm/root/snap/state" ]; then
  mkdir -p "$T/vm5" "$T/vm6"
  "$VMKIT" run --restore "$T/vm/root/snap" --disk "$F/disk.ext4" --jail "$T/vm5" --uid "$JUID" --gid "$JUID" --jail-root "$F" \
     --api-sock "$T/vm5/root/api.sock" --console null </dev/null >"$T/vm5.out" 2>&1 &
  w5=$!; pids+=($w5)
  st=""; for _ in $(seq 100); do st=$(curl -s --max-time 2 --unix-socket "$T/vm5/root/api.sock" http://localhost/ 2>/dev/null); echo "$st" | grep -q Running && break; sleep 0.1; done
  c1=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$T/vm5/root/api.sock" -X PATCH http://localhost/vm -d '{"state":"Paused"}')
  c2=$(curl -s -o "$T/dsnap.out" -w '%{http_code}' --max-time 60 --unix-socket "$T/vm5/root/api.sock" -X PUT http://localhost/snapshot/create \
        -d '{"snapshot_type":"Diff","snapshot_path":"/dsnap"}')
  kill -TERM $w5 2>/dev/null; wait $w5 2>/dev/null
  if echo "$st" | grep -q Running && [ "$c1$c2" = 204204 ] && [ -s "$T/vm5/root/dsnap/state" ]; then
    echo "PASS jail_restore_and_diff (restored jailed with the snapshot bound read-only; diff written in the jail)"
  else echo "FAIL jail_restore_and_diff: GET / '$st', pause $c1, diff $c2 ($(cat "$T/dsnap.out" 2>/dev/null)); $(tail -n 2 "$T/vm5.out" | tr '\n' ' ')"; fi
  if [ -s "$T/vm5/root/dsnap/state" ]; then
    timeout 60 "$VMKIT" run --restore "$T/vm5/root/dsnap" --disk "$F/disk.ext4" --clone-dir "$T/clone6" --clone-index 1 \
       --jail "$T/vm6" --uid "$JUID" --gid "$JUID" --jail-root "$F" --console stdio </dev/null >"$T/vm6.out" 2>&1; rc=$?
    if [ $rc = 0 ] && grep -aq "VMKIT-RUN-END rc=0" "$T/vm6.out" && ! grep -aq "vmkit guest ready" "$T/vm6.out" &&
       [ -f "$T/clone6/disk0.cow" ] && [ "$(stat -c %u "$T/clone6")" = "$JUID" ]; then
      echo "PASS jail_restore_diff_clone (diff + parent bound, clone overlay in a bound directory; the guest finished its command, exit 0)"
    else echo "FAIL jail_restore_diff_clone: rc=$rc; $(grep -a "vmkit:\|VMKIT-RUN" "$T/vm6.out" | tail -n 3 | tr '\n' ' ')"; fi
  fi
else
  echo "SKIP jail_restore_and_diff: no jailed snapshot was written"
fi

# the "vcpu" list installed the other way (the test driver asks for it after starting the loop,
# as vm.c would), with a disk, networking and the console
if [ -x "$DRIVER" ]; then
  mkdir -p "$T/vm4"
  GCMD4="mount /dev/vda /mnt && echo vcpu-disk-\$((6*7)) > /mnt/k && sync && cat /mnt/k && umount /mnt; wget -q -O- http://10.0.2.2:$PORT/index.html; echo jail-checkpoint; sleep 3"
  VMKIT_IMAGES=$F "$DRIVER" --boot "$T/vm4" "$JUID" late "$F/disk.ext4" "vmkit.run=b64:$(printf '%s' "$GCMD4" | base64 -w0)" \
     </dev/null >"$T/drv.out" 2>"$T/drv.err" &
  dw=$!; pids+=($dw)
  ok4=0
  for _ in $(seq 240); do grep -aq jail-checkpoint "$T/drv.out" 2>/dev/null && { ok4=1; break; }; kill -0 $dw 2>/dev/null || break; sleep 0.25; done
  dv=$(pgrep -P $dw | head -n1)
  mf=$(awk '$1=="Seccomp_filters:" {print $2}' "/proc/$dv/task/$dv/status" 2>/dev/null)
  for _ in $(seq 60); do kill -0 $dw 2>/dev/null || break; sleep 0.25; done
  ex4=$(cat "$T/vm4/exit" 2>/dev/null)
  if [ $ok4 = 1 ] && [ "$mf" = 2 ] && [ "$ex4" = "exited 0" ] && grep -aq vcpu-disk-42 "$T/drv.out" && grep -aq jail-http-ok "$T/drv.out"; then
    echo "PASS jail_vcpu_filter (guest thread under main+vcpu: disk, network, console, clean power-off)"
  else echo "FAIL jail_vcpu_filter: checkpoint=$ok4 guest-thread filters=$mf exit='$ex4'; $(tail -n 2 "$T/drv.err" | tr '\n' ' ')"; fi
fi

# TAP networking jailed: /dev/net/tun is the VM's own node, TUNSETIFF on a tap owned by its uid
if command -v ip >/dev/null; then
  TAP=vmkj$$
  TAP=${TAP:0:15}
  if ip tuntap add dev "$TAP" mode tap user "$JUID" group "$JUID" 2>/dev/null; then
    ip link set "$TAP" up; ip addr add 192.168.231.1/24 dev "$TAP"
    mkdir -p "$T/vm3"
    timeout 90 "$VMKIT" run --jail "$T/vm3" --uid "$JUID" --gid "$JUID" --kernel "$F/Image" --initrd "$F/initramfs.cpio.gz" \
      --bios "$F/fw_dynamic.bin" --mem 64M --net "tap=$TAP" --console stdio \
      --append 'vmkit.net=0 vmkit.run=ip%20addr%20add%20192.168.231.2/24%20dev%20eth0;ip%20link%20set%20eth0%20up;ping%20-c2%20-W5%20192.168.231.1' \
      </dev/null >"$T/tap.out" 2>&1; rc=$?
    ip link del "$TAP" 2>/dev/null
    if [ $rc -eq 0 ] && grep -aq "2 packets received" "$T/tap.out"; then echo "PASS jail_tap_network (guest pings the host over a TAP device, jailed)"
    else echo "FAIL jail_tap_network: rc=$rc; $(grep -a "vmkit:\|packets" "$T/tap.out" | tail -n 3 | tr '\n' ' ')"; fi
  else echo "SKIP jail_tap_network: cannot create a TAP device here"; fi
fi
exit 0
