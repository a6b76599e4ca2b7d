#!/usr/bin/env bash
# tests/run.sh — the vmkit test runner (what `make check` and CI run).
#  0. builds the guest images (cached by their inputs; some unit tests boot them in process);
#  1. builds vmkit and the unit tests (gcc, -Werror), the same under clang, and an ASan+UBSan build;
#  2. runs every unit test binary (tests/<module>/test_*.c) in the normal and the sanitizer build;
#  3. runs every end-to-end test tests/*/*.t.sh.
# Tests print "PASS name", "FAIL name[: why]" or "SKIP name: reason" lines; a script may also print
# "TOTALS <passed> <failed> <skipped> <what>" for a bulk suite. Ends with "N passed, N failed, N skipped".
# Options: --unit-only, --e2e-only, --filter REGEX (test file paths), --no-san, --no-clang.
# VMKIT_NO_DEBIAN=1 skips building the Debian systemd image (then its test prints SKIP).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
UNIT=1 E2E=1 SAN=1 CLANG=1 FILTER=.
while [ $# -gt 0 ]; do
  case "$1" in
    --unit-only) E2E=0 ;;
    --e2e-only) UNIT=0; SAN=0; CLANG=0 ;;
    --no-san) SAN=0 ;;
    --no-clang) CLANG=0 ;;
    --filter) FILTER=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tests/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
JOBS=$(nproc 2>/dev/null || echo 2)
PASS=0 FAILN=0 SKIPN=0
FAILED=()
LOG=$ROOT/build/test-logs; mkdir -p "$LOG"

count() {  # count <name> <logfile> <exit status>
  local name=$1 f=$2 rc=$3 p fl sk a b c
  p=$(grep -c '^PASS ' "$f"); fl=$(grep -c '^FAIL ' "$f"); sk=$(grep -c '^SKIP ' "$f")
  while read -r _ a b c _; do p=$((p+a)); fl=$((fl+b)); sk=$((sk+c)); done < <(grep '^TOTALS ' "$f")
  grep -E '^(FAIL|SKIP) ' "$f" | sed "s|^|  [$name] |"
  if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
    echo "  [$name] FAIL $name: exited with status $rc"; tail -n 15 "$f" | sed 's/^/    /'; fl=1
  fi
  [ "$fl" -gt 0 ] && FAILED+=("$name")
  PASS=$((PASS+p)); FAILN=$((FAILN+fl)); SKIPN=$((SKIPN+sk))
  printf '%-48s %4d passed %3d failed %3d skipped\n' "$name" "$p" "$fl" "$sk"
}

build() {  # build <make args...>
  echo "== make $*"
  if ! make -j"$JOBS" "$@" > "$LOG/make-$(echo "$*" | tr ' /=' '___').log" 2>&1; then
    tail -n 40 "$LOG/make-$(echo "$*" | tr ' /=' '___').log"
    echo "FAIL build ($*)"; FAILN=$((FAILN+1)); FAILED+=("build $*"); return 1
  fi
  PASS=$((PASS+1)); echo "PASS build ($*)"
}

run_units() {  # run_units <builddir>
  local b=$1 t name
  for t in $(find "$b/tests" -maxdepth 2 -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
    name=${t#"$b/tests/"}
    [[ "tests/$name.c" =~ $FILTER ]] || continue
    timeout 600 "$t" > "$LOG/unit-$(basename "$b")-${name//\//_}.log" 2>&1
    count "$(basename "$b"):$name" "$LOG/unit-$(basename "$b")-${name//\//_}.log" $?
  done
}

# Guest images first (cached by their inputs): some unit tests boot them in process.
IMAGES_OK=1
if [ $E2E = 1 ]; then
  echo "== guest images"
  if bash guest/build.sh; then
    # The full Debian (systemd) guest: cached by its inputs (seconds when cached, ~10 min the first time).
    if [ "$(id -u)" -eq 0 ] && [ "${VMKIT_NO_DEBIAN:-0}" != 1 ]; then
      echo "== Debian guest image"
      bash guest/build.sh debian ||
        echo "WARNING: the Debian image did not build (network?); guest/debian.t.sh will print SKIP lines"
    fi
    # The x86-64 guest (KVM engine): Linux 6.1 bzImage + busybox initramfs (~7 min the first time).
    if [ "$(uname -m)" = x86_64 ]; then
      echo "== x86-64 guest images"
      bash guest/x86/build.sh || echo "WARNING: the x86-64 images did not build; tests/kvm/linux.t.sh builds or reports them"
    fi
  else
    IMAGES_OK=0
  fi
fi

if [ $UNIT = 1 ]; then
  build all && run_units build
  [ $CLANG = 1 ] && build CC=clang all
  [ $SAN = 1 ] && build SAN=1 all && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_units build-asan
fi

if [ $E2E = 1 ]; then
  [ -x build/vmkit ] || build build/vmkit
  if [ $IMAGES_OK = 1 ]; then
    export VMKIT="$ROOT/build/vmkit" VMKIT_IMAGES="$ROOT/build/images" VMKIT_ROOT="$ROOT"
    for s in $(ls tests/*/*.t.sh 2>/dev/null | sort); do
      [[ "$s" =~ $FILTER ]] || continue
      name=${s#tests/}
      echo "== $name"
      timeout 1800 bash "$s" > "$LOG/e2e-${name//\//_}.log" 2>&1
      count "$name" "$LOG/e2e-${name//\//_}.log" $?
    done
  else
    echo "FAIL guest images: guest/build.sh failed"; FAILN=$((FAILN+1)); FAILED+=("guest images")
  fi
fi

[ ${#FAILED[@]} -gt 0 ] && echo "failed: ${FAILED[*]}"
echo "$PASS passed, $FAILN failed, $SKIPN skipped"
[ "$FAILN" -eq 0 ]
