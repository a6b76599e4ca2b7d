# tests/vm/lib.sh — the shared preamble of tests/vm/{snapshot,clone,migrate}.t.sh (sourced, not run):
# ROOT/VMKIT/IMAGES, the skip checks (vm_require, vm_need), fail, api and wait_for. A script sets T
# (its name in SKIP lines) before sourcing, and FAIL_TAIL (12) for the log lines fail shows.
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMAGES=${VMKIT_IMAGES:-$ROOT/build/images}
export VMKIT_IMAGES=$IMAGES

# vm_require IMAGE...: the binary and these guest images, else SKIP and exit
vm_require() {
  local f
  [ -x "$VMKIT" ] || { echo "SKIP $T: $VMKIT not built"; exit 0; }
  for f in "$@"; do
    [ -f "$IMAGES/$f" ] || { echo "SKIP $T: guest image $IMAGES/$f missing (make images)"; exit 0; }
  done
}
# vm_need CMD...: these commands, else SKIP and exit
vm_need() { local c; for c in "$@"; do command -v "$c" >/dev/null || { echo "SKIP $T: $c not installed"; exit 0; }; done; }

# fail NAME WHY [LOG]: a FAIL line, then the last FAIL_TAIL lines of LOG
fail() { echo "FAIL $1: $2"; [ -n "${3:-}" ] && [ -f "$3" ] && tail -n "${FAIL_TAIL:-12}" "$3" | tr -d '\r' | sed 's/^/    /'; }
api() {   # api SOCK METHOD PATH [BODY] -> prints "CODE BODY"
  local out code
  out=$(curl -s --max-time 30 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
        ${4:+-d "$4"} -w '\n%{http_code}' "http://localhost$3")
  code=$(tail -n1 <<<"$out"); echo "$code $(head -n -1 <<<"$out" | tr '\n' ' ')"
}
wait_for() {   # wait_for FILE REGEX SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
