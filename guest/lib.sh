# guest/lib.sh — helpers shared by guest/build.sh and guest/x86/build.sh (sourced, not run): progress
# lines (step, die: elapsed seconds since T0, prefixed by GUEST_TAG), tool and package checks, hashes
# for cache keys, asroot, and run_logged. The cache keys hash `declare -f run_logged` (in the kernel
# key of both scripts): changing run_logged's code rebuilds every kernel; the other helpers are not hashed.
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
step()    { printf '[%6ss] %s%s\n' "$(elapsed)" "${GUEST_TAG:-}" "$*"; }
die()     { printf '[%6ss] %sERROR: %s\n' "$(elapsed)" "${GUEST_TAG:-}" "$*" >&2; exit 1; }
need()    { command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (package $2): run 'make deps'"; }
pkgver()  { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not-installed"; }
hash_of() { sha256sum | cut -c1-16; }
filehash() { sha256sum "$@" | cut -d' ' -f1; }   # contents only, not the (cache) path
# As root we create device nodes and root-owned files directly; otherwise under fakeroot.
asroot()  { if [ "$(id -u)" -eq 0 ]; then "$@"; else fakeroot -- "$@"; fi; }

# run_logged <name> <log> <cmd...>: run a long command, print a progress line about every 10 s.
run_logged() {
  local name=$1 log=$2; shift 2
  # Own process group, so an interrupted build (Ctrl-C, timeout) also stops the whole make tree.
  setsid "$@" > "$log" 2>&1 &
  local pid=$! t=0
  RUN_PID=$pid
  trap 'kill -TERM -- -$RUN_PID 2>/dev/null; exit 130' INT TERM
  trap 'kill -TERM -- -$RUN_PID 2>/dev/null' EXIT
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; t=$((t+1))
    if [ $((t % 10)) -eq 0 ]; then
      step "  $name: $(grep -cE '^  (CC|AS|LD|AR)' "$log" || true) objects built, last: $(tail -n1 "$log" | cut -c1-60)"
    fi
  done
  wait "$pid" || { tail -n 20 "$log" >&2; die "$name failed; read $log"; }
  trap - INT TERM EXIT
}
