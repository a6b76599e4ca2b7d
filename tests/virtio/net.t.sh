#!/usr/bin/env bash
# tests/virtio/net.t.sh — virtio-net + libslirp end to end: the guest gets 10.0.2.15 by DHCP, runs
# busybox httpd on port 80, and the host fetches the page with curl through
# --net user,hostfwd=tcp::PORT-:80 (a free loopback port). Also a guest -> host TCP connection to the
# gateway 10.0.2.2 (slirp's outbound NAT) reaching a host listener on 127.0.0.1. Then the TAP back-end:
# the host fetches the page over a TAP link (SKIP when /dev/net/tun or CAP_NET_ADMIN is missing).
set -u
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMAGES=${VMKIT_IMAGES:-$ROOT/build/images}
export VMKIT_IMAGES=$IMAGES                 # vmkit finds its default kernel/initrd there
TMO=${VMKIT_TEST_TIMEOUT:-300}
T=net

[ -x "$VMKIT" ] || { echo "SKIP $T: $VMKIT not built"; exit 0; }
for f in Image initramfs.cpio.gz; do
  [ -f "$IMAGES/$f" ] || { echo "SKIP $T: guest image $IMAGES/$f missing (make images)"; exit 0; }
done
command -v curl >/dev/null || { echo "SKIP $T: curl not installed"; exit 0; }
command -v python3 >/dev/null || { echo "SKIP $T: python3 not installed (used to pick free ports)"; exit 0; }

W=$(mktemp -d /tmp/vmkit-net-test.XXXXXX)
PID= LPID=
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
  [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL $1: $2"; [ -n "${3:-}" ] && tail -n 25 "$3" | sed 's/^/    /'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PORT=$(free_port)
HPORT=$(free_port)
TOKEN="vmkit-net-$$-$RANDOM"
# a host-side listener the guest reaches through slirp's NAT (10.0.2.2 is the host's loopback)
python3 - "$HPORT" "$W/host-got" <<'EOF' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(900)
c, _ = s.accept(); c.settimeout(30)
data = b""
while not data.endswith(b"\n"):
    d = c.recv(100)
    if not d: break
    data += d
open(sys.argv[2], "wb").write(data)
c.sendall(b"host-says-hi\n"); c.close()
EOF
LPID=$!

# a host web server the guest downloads a 4 MiB random file from (guest RX path), checksum compared
SPORT=$(free_port)
mkdir -p "$W/srv" && head -c 4194304 /dev/urandom >"$W/srv/dl"
DLSUM=$(md5sum <"$W/srv/dl" | cut -c1-32)
(cd "$W/srv" && exec python3 -m http.server "$SPORT" --bind 127.0.0.1 >/dev/null 2>&1) &
SPID=$!

CMD="wget -q -O /tmp/dl http://10.0.2.2:$SPORT/dl && echo DLSUM=\$(md5sum </tmp/dl | cut -c1-32); rm -f /tmp/dl; \
mkdir -p /tmp/www && echo $TOKEN > /tmp/www/index.html && dd if=/dev/urandom of=/tmp/www/big bs=1024 count=512 2>/dev/null; \
echo BIGSUM=\$(md5sum < /tmp/www/big | cut -d' ' -f1); httpd -p 80 -h /tmp/www && echo HTTPD-UP; \
echo guest-says-hi | nc -w 10 10.0.2.2 $HPORT > /tmp/reply; echo REPLY=\$(cat /tmp/reply); sleep 600"
"$VMKIT" run --net "user,hostfwd=tcp::$PORT-:80" \
  --append "vmkit.run=b64:$(printf '%s' "$CMD" | base64 -w0)" </dev/null >"$W/boot.log" 2>&1 &
PID=$!

up=0
for _ in $(seq 1 "$TMO"); do
  grep -q '^HTTPD-UP' "$W/boot.log" 2>/dev/null && { up=1; break; }
  kill -0 "$PID" 2>/dev/null || break
  sleep 1
done
if [ $up != 1 ]; then
  fail net_dhcp "guest did not start httpd" "$W/boot.log"
  fail net_hostfwd_http "no guest web server"
  exit 0
fi
if grep -q 'eth0 10\.0\.2\.15/24' "$W/boot.log"; then echo "PASS net_dhcp"
else fail net_dhcp "guest did not get 10.0.2.15/24 by DHCP" "$W/boot.log"; fi

page=
for _ in $(seq 1 20); do
  page=$(curl -s --noproxy "*" --max-time 10 "http://127.0.0.1:$PORT/index.html") && [ -n "$page" ] && break
  sleep 1
done
if [ "$page" = "$TOKEN" ]; then echo "PASS net_hostfwd_http"
else fail net_hostfwd_http "curl got '$(printf '%s' "$page" | head -c 80)' instead of the token" "$W/boot.log"; fi

if tr -d '\r' <"$W/boot.log" | grep -qx "DLSUM=$DLSUM"; then echo "PASS net_guest_download_4m"
else fail net_guest_download_4m "guest's checksum of a 4 MiB download from the host differs or is missing" "$W/boot.log"; fi

# a 512 KiB random file through the same path (RX/TX refill, TCP windows); checksums must match
want=$(tr -d '\r' <"$W/boot.log" | sed -n 's/^BIGSUM=//p' | head -n1)
start=$(date +%s.%N)
got=$(curl -s --noproxy "*" --max-time 120 "http://127.0.0.1:$PORT/big" | md5sum | cut -d' ' -f1)
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?')
if [ -n "$want" ] && [ "$got" = "$want" ]; then echo "PASS net_hostfwd_http_big (512 KiB in ${secs}s)"
else fail net_hostfwd_http_big "md5 '$got' != guest's '$want'" "$W/boot.log"; fi

for _ in $(seq 1 30); do grep -q '^REPLY=' "$W/boot.log" && break; sleep 1; done
if [ "$(cat "$W/host-got" 2>/dev/null)" = guest-says-hi ] && grep -q '^REPLY=host-says-hi' "$W/boot.log"; then
  echo "PASS net_guest_to_host_nat"
else
  fail net_guest_to_host_nat "guest->10.0.2.2:$HPORT exchange failed (host got '$(cat "$W/host-got" 2>/dev/null)')" "$W/boot.log"
fi
kill -TERM "$PID" 2>/dev/null
for _ in $(seq 1 10); do kill -0 "$PID" 2>/dev/null || break; sleep 1; done
kill -9 "$PID" 2>/dev/null; PID=

# TAP back-end (needs /dev/net/tun and CAP_NET_ADMIN to configure the host side): the host reaches the
# guest's web server over a point-to-point TAP link 10.213.77.1 <-> 10.213.77.2.
TAP=vmkt$$
TAP=${TAP:0:15}
if ! command -v ip >/dev/null; then echo "SKIP net_tap_http: iproute2 (ip) not installed"; exit 0; fi
CMD="ip addr add 10.213.77.2/24 dev eth0 && ip link set eth0 up && mkdir -p /tmp/www && echo $TOKEN-tap > /tmp/www/index.html && httpd -p 80 -h /tmp/www && echo TAP-UP; sleep 600"
"$VMKIT" run --net "tap=$TAP" --append "vmkit.net=0 vmkit.run=b64:$(printf '%s' "$CMD" | base64 -w0)" </dev/null >"$W/tap.log" 2>&1 &
PID=$!
for _ in $(seq 1 20); do ip link show "$TAP" >/dev/null 2>&1 && break; kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
if ! ip link show "$TAP" >/dev/null 2>&1; then
  echo "SKIP net_tap_http: cannot create TAP $TAP here: $(grep -m1 'vmkit:' "$W/tap.log")"; exit 0
fi
if ! { ip addr add 10.213.77.1/24 dev "$TAP" && ip link set "$TAP" up; } 2>"$W/ip.err"; then
  echo "SKIP net_tap_http: cannot configure $TAP: $(head -n1 "$W/ip.err")"; exit 0
fi
up=0
for _ in $(seq 1 "$TMO"); do
  grep -q '^TAP-UP' "$W/tap.log" 2>/dev/null && { up=1; break; }
  kill -0 "$PID" 2>/dev/null || break
  sleep 1
done
page=
if [ $up = 1 ]; then
  for _ in $(seq 1 20); do
    page=$(curl -s --noproxy '*' --max-time 5 "http://10.213.77.2/index.html") && [ -n "$page" ] && break
    sleep 1
  done
fi
if [ "$page" = "$TOKEN-tap" ]; then echo "PASS net_tap_http"
else fail net_tap_http "curl over the TAP link got '$(printf '%s' "$page" | head -c 80)'" "$W/tap.log"; fi
kill -TERM "$PID" 2>/dev/null
for _ in $(seq 1 10); do kill -0 "$PID" 2>/dev/null || break; sleep 1; done
kill -9 "$PID" 2>/dev/null; PID=
