#!/usr/bin/env bash
# tests/vm/migrate.t.sh — live migration end to end between two VMMs in two network namespaces
# (ip netns + a veth pair, 10.200.0.1 <-> 10.200.0.2). The source runs the default guest with a
# counter loop printing "CNT i <md5 of a 1 MiB file in guest RAM>" every 0.2 s (console on a socket
# with a log file) and serves the per-VM API; the destination is `vmkit run --incoming tcp:...`.
# PUT /vmkit/migrate on the source moves the guest: the source exits 0, the destination's console
# continues the count (no reboot, same checksum). Faults: the destination killed -9 mid-stream (the
# link is slowed with tc so the stream lasts seconds) -> clear error, the source keeps counting; a
# destination that speaks garbage (at the hello, and after accepting it) -> clear error, the source
# keeps counting; the source killed -9 mid-stream -> the destination exits non-zero with a clear
# error; a destination that refuses the device state of a VM with a disk -> the source locks its
# disk again and keeps running. Also a migration with a writable disk on shared storage (the same
# file), with the disk copied in the stream (copy_disks), and of a guest rewriting 24 MiB of page
# cache per loop and checking each copy (several dirty rounds; no copy may differ after the move);
# a destination whose filesystem fills up while it copies the disk -> clear error, no partial copy;
# hung peers (SIGSTOP) with VMKIT_MIGRATE_TIMEOUT_MS=3000 -> each side gives up with a clear error;
# user networking: the guest's web server answers through the destination's hostfwd after the move.
# A destination with --allowed-root refuses a stream naming /etc/shadow as a disk, or a copied
# disk outside the root.
# Needs root (netns); SKIPs otherwise.
set -u
T=migrate
FAIL_TAIL=8
. "$(dirname "$0")/lib.sh"
vm_require Image initramfs.cpio.gz
vm_need ip curl python3 tc
[ "$(id -u)" = 0 ] || { echo "SKIP $T: needs root for network namespaces"; exit 0; }

NSA=vmkmigA$$ NSB=vmkmigB$$
W=$(mktemp -d /tmp/vmkit-migrate.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  mountpoint -q "$W/full" 2>/dev/null && umount -l "$W/full"
  ip netns del $NSA 2>/dev/null; ip netns del $NSB 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP      # the EXIT trap then cleans up

if ! ip netns add $NSA 2>"$W/ns.err" || ! ip netns add $NSB 2>>"$W/ns.err"; then
  echo "SKIP $T: cannot create network namespaces: $(head -n1 "$W/ns.err")"; exit 0
fi
ip netns exec $NSA ip link set lo up
ip netns exec $NSB ip link set lo up
ip netns exec $NSA ip link add vmkA type veth peer name vmkB || { echo "SKIP $T: cannot create a veth pair"; exit 0; }
ip netns exec $NSA ip link set vmkB netns $NSB
ip netns exec $NSA ip addr add 10.200.0.1/24 dev vmkA
ip netns exec $NSB ip addr add 10.200.0.2/24 dev vmkB
ip netns exec $NSA ip link set vmkA up
ip netns exec $NSB ip link set vmkB up

# the guest: a 1 MiB random file in RAM, then a counter with the file's checksum every 0.2 s
GCMD='dd if=/dev/urandom of=/tmp/m bs=64k count=16 2>/dev/null; i=0; while :; do i=$((i+1)); echo "CNT $i $(md5sum </tmp/m | cut -c1-32)"; usleep 200000; done'
B64=$(printf '%s' "$GCMD" | base64 -w0)
# with a disk: each count is also written (fsync) to the disk's first sector
GCMDD=${GCMD/usleep/echo "DISK \$i" | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; usleep}
B64D=$(printf '%s' "$GCMDD" | base64 -w0)

# start_source NAME [DISK]: a source VMM in NSA (pid in SPID), console log $W/NAME.log, API $W/NAME.api
start_source() {
  local n=$1 b64=$B64 disk=()
  [ -n "${2:-}" ] && { disk=(--disk "$2"); b64=$B64D; }
  VMKIT_LOG=info ip netns exec $NSA "$VMKIT" run --name "$n" --api-sock "$W/$n.api" --start --mem 64M --net none \
     "${disk[@]}" --console "socket=$W/$n.con,log=$W/$n.log" --append "vmkit.net=0 vmkit.run=b64:$b64" \
     >"$W/$n.out" 2>&1 </dev/null &
  SPID=$!; PIDS+=($SPID)
}
# start_dest NAME PORT: a destination VMM in NSB (pid in DPID)
start_dest() {
  local n=$1 port=$2
  ip netns exec $NSB "$VMKIT" run --incoming tcp:10.200.0.2:$port --net none \
     --console "socket=$W/$n.con,log=$W/$n.log" >"$W/$n.out" 2>&1 </dev/null &
  DPID=$!; PIDS+=($DPID)
  for _ in $(seq 100); do
    ip netns exec $NSB ss -ltn 2>/dev/null | grep -q "10.200.0.2:$port " && return 0
    kill -0 $DPID 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# counts LOG: "first last" CNT values and the distinct checksums in $SUMS
counts() {
  tr -d '\r' 2>/dev/null <"$1" | awk 'NF == 3 && $1 == "CNT" && $2 ~ /^[0-9]+$/ && length($3) == 32 { if (f == "") f = $2; l = $2; s[$3] = 1 }
     END { n = 0; for (k in s) n++; printf "%s %s %d\n", (f == "" ? -1 : f), (l == "" ? -1 : l), n }'
}
sums() { tr -d '\r' 2>/dev/null <"$1" | awk 'NF == 3 && $1 == "CNT" && length($3) == 32 { print $3 }' | sort -u | tr '\n' ' '; }
last_count() { local c; c=$(counts "$1"); echo "${c#* }" | cut -d' ' -f1; }
# wait_count LOG N [secs]: until the counter reaches N
wait_count() {
  local i; for i in $(seq $((${3:-60} * 10))); do [ "$(last_count "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.1; done; return 1
}
migrate() {   # migrate API DEST [EXTRA_JSON] -> prints the HTTP status; body in $W/resp
  curl -s -o "$W/resp" -w '%{http_code}' --max-time 90 --unix-socket "$1" -X PUT http://localhost/vmkit/migrate \
       -H 'Content-Type: application/json' -d "{\"destination\": \"$2\"${3:+, $3}}"
}
# still_counting LOG: the counter advances by at least 3 within 5 s
still_counting() { local a; a=$(last_count "$1"); wait_count "$1" $((a + 3)) 5; }
# move SRC DST NAME PORT [EXTRA_JSON]: destination DST listening on PORT (else FAIL NAME), PUT
# /vmkit/migrate on SRC, wait for the source to exit; sets code (HTTP status) and slast (its last count)
move() {
  start_dest "$2" "$4" || fail "$3" "the destination is not listening" "$W/$2.out"
  code=$(migrate "$W/$1.api" 10.200.0.2:$4 ${5:+"$5"})
  for _ in $(seq 100); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done
  slast=$(last_count "$W/$1.log")
}

# ---------------- 1. a successful migration ----------------
start_source s1
if ! wait_count "$W/s1.log" 8 120; then
  fail migrate_live "the source guest never counted to 8" "$W/s1.log"; exit 0
fi
PORT=47$((RANDOM % 900 + 100))
if ! start_dest d1 $PORT; then fail migrate_live "the destination is not listening" "$W/d1.out"; exit 0; fi
t0=$EPOCHREALTIME
code=$(migrate "$W/s1.api" 10.200.0.2:$PORT)
t1=$EPOCHREALTIME
src_rc=
for _ in $(seq 100); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $SPID 2>/dev/null; then wait $SPID; src_rc=$?; fi
slast=$(last_count "$W/s1.log")
wait_count "$W/d1.log" $((slast + 8)) 20
read -r dfirst dlast _ <<<"$(counts "$W/d1.log")"
ssum=$(sums "$W/s1.log") dsum=$(sums "$W/d1.log")
ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
if [ "$code" = 204 ] && [ "$src_rc" = 0 ] && [ "$dfirst" -ge "$slast" ] && [ "$dfirst" -le $((slast + 2)) ] &&
   [ "$dlast" -ge $((slast + 8)) ] && [ -n "$ssum" ] && [ "$ssum" = "$dsum" ] && ! grep -q "guest ready" "$W/d1.log" &&
   kill -0 $DPID 2>/dev/null; then
  figs=$(grep -o 'migration: done.*' "$W/s1.out" | tr -d '\r')
  echo "PASS migrate_live (request ${ms} ms, ${figs:-no figures}; source counted to $slast and exited 0, destination continued $dfirst..$dlast, checksum $ssum unchanged)"
else
  fail migrate_live "http=$code body=$(head -c 200 "$W/resp") source_rc=${src_rc:-running} source_last=$slast dest=$dfirst..$dlast sums='$ssum' vs '$dsum'" "$W/d1.out"
  tail -n 3 "$W/s1.out" | sed 's/^/    source: /'
fi
{ kill -9 $DPID; wait $DPID; } 2>/dev/null

# ---------------- 1a. a guest rewriting 8 MiB of page cache in a loop, checking each copy ----------------
GCMDX='dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null; s=$(md5sum </tmp/a); i=0; while :; do cp /tmp/a /tmp/c; cp /tmp/c /tmp/b; cp /tmp/a /tmp/c; i=$((i+1)); if [ "$(md5sum </tmp/b)" = "$s" ]; then echo "CNT $i ${s%% *}"; else echo "BAD $i"; fi; done'
B64X=$(printf '%s' "$GCMDX" | base64 -w0)
VMKIT_LOG=info ip netns exec $NSA "$VMKIT" run --name s1a --api-sock "$W/s1a.api" --start --mem 128M --net none \
   --console "socket=$W/s1a.con,log=$W/s1a.log" --append "vmkit.net=0 vmkit.run=b64:$B64X" >"$W/s1a.out" 2>&1 </dev/null &
SPID=$!; PIDS+=($SPID)
if wait_count "$W/s1a.log" 3 120; then
  PORT=42$((RANDOM % 900 + 100))
  move s1a d1a migrate_dirtying $PORT
  wait_count "$W/d1a.log" $((slast + 3)) 30
  read -r dfirst dlast _ <<<"$(counts "$W/d1a.log")"
  figs=$(grep -o 'migration: done.*' "$W/s1a.out" | tr -d '\r')
  bad=$(cat "$W/s1a.log" "$W/d1a.log" | tr -d '\r' | grep -c '^BAD')
  if [ "$code" = 204 ] && [ "$bad" = 0 ] && [ "$dfirst" -ge "$slast" ] && [ "$dfirst" -le $((slast + 1)) ] &&
     [ "$dlast" -ge $((slast + 3)) ] && ! grep -q "guest ready" "$W/d1a.log"; then
    echo "PASS migrate_dirtying (${figs:-no figures}; copies verified $slast times on the source, $dfirst..$dlast on the destination)"
  else
    fail migrate_dirtying "http=$code body=$(head -c 200 "$W/resp") BAD lines=$bad source_last=$slast dest=$dfirst..$dlast ($figs)" "$W/d1a.log"
  fi
else
  fail migrate_dirtying "the source guest never counted" "$W/s1a.log"
fi
{ kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null

# ---------------- 1b. with a writable disk (shared storage: the same file for both VMMs) ----------------
if [ -f "$IMAGES/disk.ext4" ] && cp "$IMAGES/disk.ext4" "$W/disk.img"; then
  start_source s1b "$W/disk.img"
  if wait_count "$W/s1b.log" 5 120; then
    PORT=45$((RANDOM % 900 + 100))
    move s1b d1b migrate_live_disk $PORT
    wait_count "$W/d1b.log" $((slast + 5)) 20
    dlast=$(last_count "$W/d1b.log")
    sleep 0.5
    ondisk=$(head -c 16 "$W/disk.img" | tr -cd 'A-Z0-9 ')
    n=${ondisk#DISK }
    if [ "$code" = 204 ] && ! kill -0 $SPID 2>/dev/null && [ "$dlast" -gt $((slast + 3)) ] && [ "$n" -gt "$slast" ] 2>/dev/null; then
      echo "PASS migrate_live_disk ($(grep -o 'migration: done.*' "$W/s1b.out" | tr -d '\r'); source counted to $slast, destination to $dlast, its writes reach the disk: '$ondisk')"
    else
      fail migrate_live_disk "http=$code body=$(head -c 200 "$W/resp") source_last=$slast dest_last=$dlast disk='$ondisk'" "$W/d1b.out"
    fi
  else
    fail migrate_live_disk "the source guest never counted" "$W/s1b.log"
  fi
  { kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null

  # copy_disks: the disk's data travels in the stream and replaces the file (a new inode here)
  start_source s1c "$W/disk.img"
  if wait_count "$W/s1c.log" 5 120; then
    PORT=43$((RANDOM % 900 + 100))
    ino0=$(stat -c %i "$W/disk.img")
    move s1c d1c migrate_copy_disk $PORT '"copy_disks": true'
    wait_count "$W/d1c.log" $((slast + 5)) 20
    dlast=$(last_count "$W/d1c.log")
    sleep 0.5
    ino1=$(stat -c %i "$W/disk.img")
    ondisk=$(head -c 16 "$W/disk.img" | tr -cd 'A-Z0-9 ')
    n=${ondisk#DISK }
    same=no; cmp -s <(tail -c +4097 "$W/disk.img") <(tail -c +4097 "$IMAGES/disk.ext4") && same=yes
    if [ "$code" = 204 ] && [ "$ino0" != "$ino1" ] && [ "$same" = yes ] && [ "$n" -gt "$slast" ] 2>/dev/null &&
       [ "$dlast" -gt $((slast + 3)) ] && ! ls "$W"/disk.img.vmkmig-* >/dev/null 2>&1; then
      echo "PASS migrate_copy_disk ($(grep -o 'migration: done.*' "$W/s1c.out" | tr -d '\r'); disk copied (new inode, rest of the image identical), destination writes it: '$ondisk')"
    else
      fail migrate_copy_disk "http=$code body=$(head -c 200 "$W/resp") inode $ino0 -> $ino1 rest-identical=$same disk='$ondisk' source_last=$slast dest_last=$dlast" "$W/d1c.out"
    fi
  else
    fail migrate_copy_disk "the source guest never counted" "$W/s1c.log"
  fi
  { kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null
else
  echo "SKIP migrate_live_disk: no $IMAGES/disk.ext4"
fi

# ---------------- 1d. user networking: a web server in the guest answers through the destination ----------------
TOKEN=vmkit-mig-$$-$RANDOM
GCMDN="mkdir -p /tmp/www; echo $TOKEN > /tmp/www/index.html; httpd -p 80 -h /tmp/www; i=0; while :; do i=\$((i+1)); echo \"CNT \$i \$(md5sum </tmp/www/index.html | cut -c1-32)\"; usleep 200000; done"
VMKIT_LOG=info ip netns exec $NSA "$VMKIT" run --name s1d --api-sock "$W/s1d.api" --start --mem 64M \
   --net "user,hostfwd=tcp:127.0.0.1:8080-:80" --console "socket=$W/s1d.con,log=$W/s1d.log" \
   --append "vmkit.run=b64:$(printf '%s' "$GCMDN" | base64 -w0)" >"$W/s1d.out" 2>&1 </dev/null &
SPID=$!; PIDS+=($SPID)
if wait_count "$W/s1d.log" 3 120; then
  before=$(ip netns exec $NSA curl -s --max-time 10 http://127.0.0.1:8080/)
  PORT=38$((RANDOM % 900 + 100))
  ip netns exec $NSB "$VMKIT" run --incoming tcp:10.200.0.2:$PORT --console "socket=$W/d1d.con,log=$W/d1d.log" \
     >"$W/d1d.out" 2>&1 </dev/null &
  DPID=$!; PIDS+=($DPID)
  for _ in $(seq 100); do ip netns exec $NSB ss -ltn 2>/dev/null | grep -q ":$PORT " && break; sleep 0.05; done
  code=$(migrate "$W/s1d.api" 10.200.0.2:$PORT)
  slast=$(last_count "$W/s1d.log")
  wait_count "$W/d1d.log" $((slast + 3)) 20
  after=$(ip netns exec $NSB curl -s --max-time 10 http://127.0.0.1:8080/)
  if [ "$code" = 204 ] && [ "$before" = "$TOKEN" ] && [ "$after" = "$TOKEN" ] && [ "$(last_count "$W/d1d.log")" -gt "$slast" ]; then
    echo "PASS migrate_net_user (the guest's httpd answered '$after' through the source's hostfwd before and the destination's after)"
  else
    fail migrate_net_user "http=$code body=$(head -c 200 "$W/resp") before='$before' after='$after' source_last=$slast dest_last=$(last_count "$W/d1d.log")" "$W/d1d.out"
  fi
else
  fail migrate_net_user "the source guest never counted" "$W/s1d.log"
fi
{ kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null

# slow the link (source -> destination) so that a 64 MiB guest's stream lasts seconds
ip netns exec $NSA tc qdisc add dev vmkA root tbf rate 16mbit burst 32kbit latency 2s 2>/dev/null ||
  echo "SKIP migrate_fault_slow_link: tc tbf unavailable (the kill tests below may finish before the kill)"

# ---------------- 2. the destination killed -9 mid-stream ----------------
start_source s2
wait_count "$W/s2.log" 5 120 || { fail migrate_dest_killed "the source guest never counted" "$W/s2.log"; exit 0; }
PORT=48$((RANDOM % 900 + 100))
start_dest d2 $PORT || { fail migrate_dest_killed "the destination is not listening" "$W/d2.out"; exit 0; }
( migrate "$W/s2.api" 10.200.0.2:$PORT >"$W/code2" ) &
CPID=$!
sleep 1.5
phase=$(curl -s --max-time 5 --unix-socket "$W/s2.api" http://localhost/vmkit/migration)
{ kill -9 $DPID; wait $DPID; } 2>/dev/null
wait $CPID; code=$(cat "$W/code2")
if [ "$code" = 400 ] && grep -qiE 'destination|connection' "$W/resp" && kill -0 $SPID 2>/dev/null &&
   still_counting "$W/s2.log"; then
  echo "PASS migrate_dest_killed (during $(echo "$phase" | tr -d '\n' | head -c 80); error: $(tr -d '\n' <"$W/resp" | head -c 160); source keeps counting: $(last_count "$W/s2.log"))"
else
  fail migrate_dest_killed "http=$code body=$(head -c 200 "$W/resp") source alive=$(kill -0 $SPID 2>/dev/null && echo yes || echo no) phase=$phase" "$W/s2.log"
fi

# ---------------- 3. a destination that speaks garbage ----------------
# mode hello: junk instead of the hello answer; mode stream: accepts the hello, then junk records
for mode in hello stream; do
  PORT=49$((RANDOM % 900 + 100))
  ip netns exec $NSB python3 - "$PORT" "$mode" <<'EOF' >"$W/junk.out" 2>&1 &
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", int(sys.argv[1]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60)
def drain():
    try:
        while c.recv(1 << 20): pass
    except Exception: pass
if sys.argv[2] == "hello":
    c.recv(16); c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
else:
    hdr = c.recv(16); time.sleep(0.2); c.recv(65536)
    c.sendall(b"A"); threading.Thread(target=drain, daemon=True).start()
    time.sleep(0.3); c.sendall(b"\x08\x04\x00\x00\x00garbagegarbage" * 10)
time.sleep(20)
EOF
  JPID=$!; PIDS+=($JPID)
  for _ in $(seq 50); do ip netns exec $NSB ss -ltn 2>/dev/null | grep -q ":$PORT " && break; sleep 0.05; done
  code=$(migrate "$W/s2.api" 10.200.0.2:$PORT)
  if [ "$code" = 400 ] && [ -s "$W/resp" ] && kill -0 $SPID 2>/dev/null && still_counting "$W/s2.log"; then
    echo "PASS migrate_garbage_$mode (error: $(tr -d '\n' <"$W/resp" | head -c 160); source keeps counting)"
  else
    fail migrate_garbage_$mode "http=$code body=$(head -c 200 "$W/resp") source alive=$(kill -0 $SPID 2>/dev/null && echo yes || echo no)" "$W/s2.log"
  fi
  { kill -9 $JPID; wait $JPID; } 2>/dev/null
done

# ---------------- 4. the source killed -9 mid-stream ----------------
PORT=46$((RANDOM % 900 + 100))
start_dest d4 $PORT || { fail migrate_source_killed "the destination is not listening" "$W/d4.out"; exit 0; }
( migrate "$W/s2.api" 10.200.0.2:$PORT >"$W/code4" ) &
CPID=$!
sleep 1.5
{ kill -9 $SPID; wait $SPID; } 2>/dev/null
wait $CPID 2>/dev/null
drc=
for _ in $(seq 100); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
if ! kill -0 $DPID 2>/dev/null; then wait $DPID; drc=$?; fi
msg=$(grep 'vmkit:' "$W/d4.out" | tail -n1)
if [ -n "$drc" ] && [ "$drc" != 0 ] && echo "$msg" | grep -qi 'source' && ! ls "$W"/d4.con >/dev/null 2>&1; then
  echo "PASS migrate_source_killed (destination exit $drc: $msg)"
else
  fail migrate_source_killed "destination rc=${drc:-still running} message='$msg' left: $(ls "$W"/d4.con 2>/dev/null)" "$W/d4.out"
fi

# ---------------- 4b. hung peers (SIGSTOP) mid-stream, with a 3 s I/O timeout ----------------
export VMKIT_MIGRATE_TIMEOUT_MS=3000
start_source s4
if wait_count "$W/s4.log" 5 120; then
  # the destination stops: the source gives up after the timeout and keeps running
  PORT=40$((RANDOM % 900 + 100))
  start_dest d4s $PORT || fail migrate_dest_hung "the destination is not listening" "$W/d4s.out"
  ( migrate "$W/s4.api" 10.200.0.2:$PORT >"$W/code4s" ) &
  CPID=$!
  sleep 1.5
  kill -STOP $DPID
  t0=$EPOCHREALTIME
  wait $CPID; code=$(cat "$W/code4s")
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if [ "$code" = 400 ] && grep -qE 'silent|stopped reading' "$W/resp" && kill -0 $SPID 2>/dev/null && still_counting "$W/s4.log"; then
    echo "PASS migrate_dest_hung (gave up ${secs}s after the stop: $(tr -d '\n' <"$W/resp" | head -c 150); source keeps counting)"
  else
    fail migrate_dest_hung "http=$code after ${secs}s body=$(head -c 200 "$W/resp")" "$W/s4.log"
  fi
  { kill -9 $DPID; wait $DPID; } 2>/dev/null
  # the source stops: the destination gives up after the timeout, exits non-zero, leaves nothing
  PORT=39$((RANDOM % 900 + 100))
  start_dest d4h $PORT || fail migrate_source_hung "the destination is not listening" "$W/d4h.out"
  ( migrate "$W/s4.api" 10.200.0.2:$PORT >/dev/null ) &
  CPID=$!
  sleep 1.5
  kill -STOP $SPID
  drc=
  for _ in $(seq 100); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
  if ! kill -0 $DPID 2>/dev/null; then wait $DPID; drc=$?; fi
  msg=$(grep 'vmkit:' "$W/d4h.out" | tail -n1)
  if [ -n "$drc" ] && [ "$drc" != 0 ] && echo "$msg" | grep -q 'source was silent' && ! ls "$W"/d4h.con >/dev/null 2>&1; then
    echo "PASS migrate_source_hung (destination exit $drc: $msg)"
  else
    fail migrate_source_hung "destination rc=${drc:-still running} message='$msg'" "$W/d4h.out"
  fi
  { kill -9 $SPID $DPID $CPID; wait $SPID $DPID $CPID; } 2>/dev/null
else
  fail migrate_dest_hung "the source guest never counted" "$W/s4.log"
fi
unset VMKIT_MIGRATE_TIMEOUT_MS

# ---------------- 5. refused at the device state, with a disk: the source locks its disk again ----------------
if [ -f "$W/disk.img" ]; then
  ip netns exec $NSA tc qdisc del dev vmkA root 2>/dev/null
  start_source s5 "$W/disk.img"
  PORT=44$((RANDOM % 900 + 100))
  # a destination that speaks the protocol (answers ROUND_END) and refuses the STATE record
  ip netns exec $NSB python3 - "$PORT" <<'EOF' >"$W/fake.out" 2>&1 &
import socket, struct, sys, time
T = []
for i in range(256):
    c = i
    for _ in range(8): c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    T.append(c)
def crc(b, c=0):
    c ^= 0xffffffff
    for x in b: c = T[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff
def rec(t, p):
    h = bytes([t]) + struct.pack("<I", len(p)); return h + p + struct.pack("<I", crc(h + p))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", int(sys.argv[1]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60)
def get(n):   # exactly n bytes (MSG_WAITALL does not wait on a socket with a timeout)
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: break
        b += d
    return b
hdr = get(16); get(int.from_bytes(hdr[12:16], "little")); c.sendall(b"A")
while True:
    h = get(5)
    if len(h) < 5: break
    n = int.from_bytes(h[1:5], "little"); body = get(n + 4)
    if h[0] == 3: c.sendall(rec(8, body[:4]))
    if h[0] == 4:
        m = b"test destination refuses the state"; c.sendall(rec(7, struct.pack("<I", len(m)) + m)); print("refused"); break
time.sleep(2)
EOF
  JPID=$!; PIDS+=($JPID)
  for _ in $(seq 50); do ip netns exec $NSB ss -ltn 2>/dev/null | grep -q ":$PORT " && break; sleep 0.05; done
  if wait_count "$W/s5.log" 5 120; then
    code=$(migrate "$W/s5.api" 10.200.0.2:$PORT)
    locked=no; flock -n -x "$W/disk.img" true 2>/dev/null || locked=yes
    a=$(last_count "$W/s5.log")
    still_counting "$W/s5.log"; counting=$?
    if [ "$code" = 400 ] && grep -q "refuses the state" "$W/resp" && [ $locked = yes ] && [ $counting = 0 ] &&
       kill -0 $SPID 2>/dev/null; then
      echo "PASS migrate_refused_state_disk (error: $(tr -d '\n' <"$W/resp" | head -c 140); the source holds its disk lock again and keeps counting: $a -> $(last_count "$W/s5.log"))"
    else
      fail migrate_refused_state_disk "http=$code body=$(head -c 200 "$W/resp") disk locked=$locked counting=$counting fake: $(cat "$W/fake.out")" "$W/s5.out"
    fi
  else
    fail migrate_refused_state_disk "the source guest never counted" "$W/s5.log"
  fi
  { kill -9 $JPID $SPID; wait $JPID $SPID; } 2>/dev/null
fi

# ---------------- 6. disk full on the destination while copying a disk ----------------
# a 3 MiB tmpfs holds the (sparse) disk; the destination's copy of it does not fit
mkdir -p "$W/full"
if [ -f "$IMAGES/disk.ext4" ] && mount -t tmpfs -o size=3m vmkit-migtest "$W/full" 2>/dev/null; then
  cp --sparse=always "$IMAGES/disk.ext4" "$W/full/disk.img"
  sum0=$(md5sum <"$W/full/disk.img")
  start_source s6 "$W/full/disk.img"
  PORT=41$((RANDOM % 900 + 100))
  if wait_count "$W/s6.log" 3 120 && start_dest d6 $PORT; then
    code=$(migrate "$W/s6.api" 10.200.0.2:$PORT '"copy_disks": true')
    for _ in $(seq 50); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
    left=$(ls "$W/full" | grep -c vmkmig)
    if [ "$code" = 400 ] && grep -qi 'no space' "$W/resp" && still_counting "$W/s6.log" && [ "$left" = 0 ] &&
       ! kill -0 $DPID 2>/dev/null; then
      echo "PASS migrate_disk_full (error: $(tr -d '\n' <"$W/resp" | head -c 160); no partial copy left; the source keeps counting)"
    else
      fail migrate_disk_full "http=$code body=$(head -c 200 "$W/resp") partial copies left=$left dest alive=$(kill -0 $DPID 2>/dev/null && echo yes || echo no)" "$W/d6.out"
    fi
  else
    fail migrate_disk_full "setup: the source never counted or the destination is not listening" "$W/d6.out"
  fi
  { kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null
  # the guest wrote its counter to sector 0 only: the rest of the image is untouched
  cmp -s <(tail -c +4097 "$W/full/disk.img") <(tail -c +4097 "$IMAGES/disk.ext4") || echo "FAIL migrate_disk_full_image: the source's disk image changed beyond sector 0"
  umount -l "$W/full"
else
  echo "SKIP migrate_disk_full: cannot mount a small tmpfs (or no disk image)"
fi
# ---------------- 7. destination path safety (--allowed-root) ----------------
# a source whose configuration names /etc/shadow as a (read-only) disk, and one whose copied disk
# would land outside the destination's allowed root: the destination refuses the stream before it
# opens or creates anything; the source keeps counting and /etc/shadow is untouched
mkdir -p "$W/allowed"     # holds the guest images: only the disk is outside
cp "$IMAGES/Image" "$IMAGES/initramfs.cpio.gz" "$W/allowed/"; [ -f "$IMAGES/fw_dynamic.bin" ] && cp "$IMAGES/fw_dynamic.bin" "$W/allowed/"
sh0=$(md5sum </etc/shadow; stat -c %Y /etc/shadow)
for variant in shadow copy; do
  if [ $variant = shadow ]; then disk=/etc/shadow,ro; extra=''; else cp --sparse=always "$IMAGES/disk.ext4" "$W/outside.img" 2>/dev/null || continue; disk="$W/outside.img"; extra='"copy_disks": true'; fi
  VMKIT_IMAGES=$W/allowed VMKIT_LOG=info ip netns exec $NSA "$VMKIT" run --name s7$variant --api-sock "$W/s7$variant.api" --start --mem 64M --net none \
     --disk "$disk" --console "socket=$W/s7$variant.con,log=$W/s7$variant.log" --append "vmkit.net=0 vmkit.run=b64:$B64" \
     >"$W/s7$variant.out" 2>&1 </dev/null &
  SPID=$!; PIDS+=($SPID)
  PORT=39$((RANDOM % 900 + 100))
  ip netns exec $NSB "$VMKIT" run --incoming tcp:10.200.0.2:$PORT --allowed-root "$W/allowed" --net none \
     --console "socket=$W/d7$variant.con,log=$W/d7$variant.log" >"$W/d7$variant.out" 2>&1 </dev/null &
  DPID=$!; PIDS+=($DPID)
  for _ in $(seq 100); do ip netns exec $NSB ss -ltn 2>/dev/null | grep -q "10.200.0.2:$PORT " && break; sleep 0.05; done
  if wait_count "$W/s7$variant.log" 3 120; then
    code=$(migrate "$W/s7$variant.api" 10.200.0.2:$PORT "$extra")
    drc=; for _ in $(seq 50); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
    kill -0 $DPID 2>/dev/null || { wait $DPID; drc=$?; }
    left=$(ls "$W" | grep -c 'outside.img.vmkmig')
    if [ "$code" = 400 ] && grep -q 'disk path .* is outside the allowed root' "$W/resp" && [ -n "$drc" ] && [ "$drc" != 0 ] &&
       still_counting "$W/s7$variant.log" && [ "$sh0" = "$(md5sum </etc/shadow; stat -c %Y /etc/shadow)" ] && [ "$left" = 0 ]; then
      echo "PASS migrate_allowed_root_$variant (refused: $(tr -d '\n' <"$W/resp" | head -c 170); destination exit $drc; the source keeps counting)"
    else
      fail migrate_allowed_root_$variant "http=$code body=$(head -c 200 "$W/resp") dest_rc=${drc:-running} left=$left" "$W/d7$variant.out"
    fi
  else
    fail migrate_allowed_root_$variant "the source guest never counted" "$W/s7$variant.out"
  fi
  { kill -9 $SPID $DPID; wait $SPID $DPID; } 2>/dev/null
done
exit 0
