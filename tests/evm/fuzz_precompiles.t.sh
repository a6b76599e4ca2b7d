#!/usr/bin/env bash
# tests/evm/fuzz_precompiles.t.sh — smoke run of the precompile fuzzer (tests/evm/fuzz_precompiles.c):
# builds it with clang's libFuzzer + ASan/UBSan (make fuzz-evm-precompiles) and runs it for
# FUZZ_SECONDS (default 20) from seeds for every contract. A crash, sanitizer report or invariant
# violation fails the test. SKIPs if clang or the libFuzzer runtime is missing.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
name=evm_fuzz_precompiles_smoke
command -v clang >/dev/null || { echo "SKIP $name: clang not installed"; exit 0; }
log=$(mktemp); corpus=$(mktemp -d); trap 'rm -rf "$log" "$corpus"' EXIT
if ! make -s fuzz-evm-precompiles >"$log" 2>&1; then
  if grep -qi 'fuzzer' "$log" && grep -qiE 'cannot find|not found|no such file' "$log"; then
    echo "SKIP $name: libFuzzer runtime missing (install libclang-rt-14-dev)"; exit 0
  fi
  echo "FAIL $name: build failed: $(tail -n 3 "$log" | tr '\n' ' ')"; exit 0
fi
# seeds: selector, revision, gas (3 bytes), call data
hex() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
G1=$(printf '%064x%064x' 1 2)
G2=198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c21800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa
hex "000cffffff18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c000000000000000000000000000000000000000000000000000000000000001c73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75feeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549" > "$corpus/ecrecover"
hex "010cffffff616263" > "$corpus/sha256"
hex "040cffffff$(printf '%064x%064x%064x' 1 32 32)03fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2efffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f" > "$corpus/modexp"
hex "050cffffff$G1$G1" > "$corpus/ecadd"
hex "060cffffff${G1}$(printf '%064x' 7)" > "$corpus/ecmul"
hex "070cffffff$G1$G2" > "$corpus/pairing"
hex "080cffffff0000000c48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b61626300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000001" > "$corpus/blake2f"
hex "090cffffff01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d3630624d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a18f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a" > "$corpus/kzg"
secs=${FUZZ_SECONDS:-20}
if build/fuzz/fuzz_precompiles -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 "$corpus" >"$log" 2>&1; then
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
  echo "PASS $name ($runs runs in ${secs}s)"
else
  echo "FAIL $name: $(grep -m1 -E 'ERROR|SUMMARY|deadly|abort' "$log" || tail -n 1 "$log")"
fi
