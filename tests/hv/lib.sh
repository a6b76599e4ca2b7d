# tests/hv/lib.sh — the shared preamble of the hv end-to-end scripts (sourced by tests/hv/*.t.sh, not
# run by itself): ROOT/VMKIT/IMG, the skip checks, the per-test temp dir and its cleanup (daemons of
# $T/*/daemon.pid, the VMs' cgroups named $P*, the daemons' cgroup bases, an optional hv_cleanup_more
# hook), daemon bookkeeping (hv_note_cgb) and the inspect helpers V/field/state_of/dir_of.
# Before sourcing a script sets N (its name in SKIP lines) and P (its VM name prefix: cgroups are
# host-wide); HV_TIMEOUT (120 s) bounds every V call.
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}

# hv_require WHY: the binary, the default guest, root (for WHY) and curl, else SKIP and exit
hv_require() {
  if [ ! -x "$VMKIT" ]; then echo "SKIP $N: $VMKIT not built"; exit 0; fi
  if [ ! -f "$IMG/Image" ]; then echo "SKIP $N: no guest image $IMG/Image (run make images)"; exit 0; fi
  if [ "$(id -u)" != 0 ]; then echo "SKIP $N: needs root ($1)"; exit 0; fi
  command -v curl >/dev/null || { echo "SKIP $N: no curl"; exit 0; }
}

# hv_tmp TAG: T=/tmp/vmkit-TAG.XXXXXX, removed (with everything the test started) on exit
hv_tmp() {
  T=$(mktemp -d "/tmp/vmkit-$1.XXXXXX")
  trap cleanup EXIT
  trap 'exit 1' INT TERM HUP
}

hv_cgroups() { find /sys/fs/cgroup -maxdepth 4 -type d -path '*/vmkit/*' -name "$P*" 2>/dev/null; }
cleanup() {
  local f cg p b
  for f in "$T"/*/daemon.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  for cg in $(hv_cgroups); do
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.2
    for cg in $(hv_cgroups); do rmdir "$cg" 2>/dev/null; done
    [ -z "$(hv_cgroups)" ] && break
  done
  for b in ${CGBS:-}; do rmdir /sys/fs/cgroup/*/"$b" /sys/fs/cgroup/"$b" 2>/dev/null; done
  declare -F hv_cleanup_more >/dev/null && hv_cleanup_more
  rm -rf "$T"
}

# hv_note_cgb SOCK: CGB = that daemon's cgroup base, also kept in CGBS for cleanup
hv_note_cgb() {
  CGB=$(curl -s --unix-socket "$1" http://d/host | sed -n 's/.*"cgroup_base":"\([^"]*\)".*/\1/p')
  CGBS="${CGBS:-} $CGB"
}
daemon_pid() { cat "$T/state/daemon.pid" 2>/dev/null; }

V() { timeout "${HV_TIMEOUT:-120}" "$VMKIT" "$@"; }
field() { V inspect "$1" 2>/dev/null | sed -n "s/^\t\"$2\":\t\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p"; }
state_of() { field "$1" state; }
dir_of() { field "$1" dir; }
