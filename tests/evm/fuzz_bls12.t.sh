#!/usr/bin/env bash
# tests/evm/fuzz_bls12.t.sh — smoke run of the EIP-2537 precompile fuzzer (tests/evm/fuzz_bls12.c): builds
# it with clang's libFuzzer + ASan/UBSan (make fuzz-evm-bls12) and runs it for FUZZ_SECONDS (default 20)
# from a valid seed for each of the seven contracts. A crash, sanitizer report or invariant violation
# fails the test. SKIPs if clang, the libFuzzer runtime or blst (c-kzg fetch) is missing.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
name=evm_fuzz_bls12_smoke
command -v clang >/dev/null || { echo "SKIP $name: clang not installed"; exit 0; }
[ -f build/third_party/c-kzg-4.1.0/deps/blst/bindings/blst.h ] || { echo "SKIP $name: blst not fetched"; exit 0; }
log=$(mktemp); corpus=$(mktemp -d); trap 'rm -rf "$log" "$corpus"' EXIT
if ! make -s fuzz-evm-bls12 >"$log" 2>&1; then
  if grep -qi 'fuzzer' "$log" && grep -qiE 'cannot find|not found|no such file' "$log"; then
    echo "SKIP $name: libFuzzer runtime missing (install libclang-rt-14-dev)"; exit 0
  fi
  echo "FAIL $name: build failed: $(tail -n 3 "$log" | tr '\n' ' ')"; exit 0
fi
hex() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
Z=00000000000000000000000000000000
G1=${Z}17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb
G1=$G1${Z}08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1
G2=${Z}024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8
G2=$G2${Z}13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e
G2=$G2${Z}0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801
G2=$G2${Z}0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be
S=$(printf '%064x' 123456789)
FP=${Z}156c8a6a2c184569d69a76be144b5cdc5141d2d2ca4fe341f011e25e3969c55ad9e9b9ce2eb833c81a908e5fa4ac5f03
hex "00$G1$G1" > "$corpus/g1add"
hex "01$G1$S$G1$S" > "$corpus/g1msm"
hex "02$G2$G2" > "$corpus/g2add"
hex "03$G2$S" > "$corpus/g2msm"
hex "04$G1$G2" > "$corpus/pairing"
hex "05$FP" > "$corpus/map_g1"
hex "06$FP$FP" > "$corpus/map_g2"
secs=${FUZZ_SECONDS:-20}
if build/fuzz/fuzz_bls12 -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 "$corpus" >"$log" 2>&1; then
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
  echo "PASS $name ($runs runs in ${secs}s)"
else
  echo "FAIL $name: $(grep -m1 -E 'ERROR|SUMMARY|deadly|abort' "$log" || tail -n 1 "$log")"
fi
