#!/usr/bin/env bash
# tests/evm/fuzz_interp.t.sh — smoke run of the EVM interpreter fuzzer (tests/evm/fuzz_interp.c):
# builds it with clang's libFuzzer + ASan/UBSan (make fuzz-evm-interp) and runs it for
# FUZZ_SECONDS (default 20) from a few seed programs. A crash, sanitizer report or invariant
# violation fails the test. SKIPs if clang or the libFuzzer runtime is missing.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
name=evm_fuzz_interp_smoke
command -v clang >/dev/null || { echo "SKIP $name: clang not installed"; exit 0; }
log=$(mktemp); corpus=$(mktemp -d); trap 'rm -rf "$log" "$corpus"' EXIT
if ! make -s fuzz-evm-interp >"$log" 2>&1; then
  if grep -qi 'fuzzer' "$log" && grep -qiE 'cannot find|not found|no such file' "$log"; then
    echo "SKIP $name: libFuzzer runtime missing (install libclang-rt-14-dev)"; exit 0
  fi
  echo "FAIL $name: build failed: $(tail -n 3 "$log" | tr '\n' ' ')"; exit 0
fi
# seeds: rev, flags, gas hi, gas lo, code
printf '\x0b\x00\xff\xff\x60\x02\x60\x03\x01\x60\x00\x52\x60\x20\x60\x00\xf3' > "$corpus/s0"
printf '\x0c\x00\xff\xff\x60\x00\x60\x00\x60\x00\x60\x00\x60\x00\x60\xaa\x5a\xf1\x3d\x60\x00\x60\x00\x3e' > "$corpus/s1"
printf '\x08\x00\xff\xff\x60\x01\x60\x00\x55\x60\x00\x54\x5b\x60\x0c\x56' > "$corpus/s2"
printf '\x0c\x01\x0f\xff\x60\x20\x60\x00\x60\x00\x39\x60\x00\xf0\x60\x00\x60\x00\x60\x00\xf5' > "$corpus/s3"
secs=${FUZZ_SECONDS:-20}
if build/fuzz/fuzz_interp -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 "$corpus" >"$log" 2>&1; then
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
  echo "PASS $name ($runs runs in ${secs}s)"
else
  echo "FAIL $name: $(grep -m1 -E 'ERROR|SUMMARY|deadly|abort' "$log" || tail -n 1 "$log")"
fi
