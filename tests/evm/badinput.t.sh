#!/usr/bin/env bash
# badinput.t.sh — `vmkit evm` on bad input: malformed/truncated JSON, wrong shapes, bad hex, unknown fork,
# missing files, bad options. Each must end with a clear one-line error on stderr and exit status 1 or 2
# (never a crash or a signal). Also checks --help and a good `evm run`.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
if [ ! -x "$VMKIT" ]; then echo "SKIP evm-badinput: no vmkit binary at $VMKIT"; exit 0; fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

expect_err() {  # expect_err <name> <args...>: exit 1 or 2, exactly one stderr line
  local name=$1; shift
  "$VMKIT" "$@" > "$T/out" 2> "$T/err"
  local rc=$? lines
  lines=$(wc -l < "$T/err")
  if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then echo "FAIL evm-badinput-$name: exit status $rc"; head -3 "$T/err"
  elif [ "$lines" -ne 1 ]; then echo "FAIL evm-badinput-$name: $lines stderr lines (want 1)"; head -3 "$T/err"
  else echo "PASS evm-badinput-$name"; fi
}

good='{"t":{"env":{"currentCoinbase":"0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba","currentGasLimit":"0x0f4240","currentNumber":"0x01","currentTimestamp":"0x03e8","currentDifficulty":"0x020000"},
 "pre":{"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b":{"balance":"0x0de0b6b3a7640000","code":"0x","nonce":"0x00","storage":{}}},
 "transaction":{"data":["0x"],"gasLimit":["0x061a80"],"gasPrice":"0x0a","nonce":"0x00","sender":"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b","to":"0x095e7baea6a6c7c4c2dfeb977efac326af552d87","value":["0x01"]},
 "post":{}}}'
printf '%s' "$good" > "$T/good.json"
printf '{"t": {"env": ' > "$T/trunc.json"
printf 'not json at all' > "$T/garbage.json"
printf '[]' > "$T/array.json"
printf '{"t": 5}' > "$T/notobj.json"
printf '{"t": {"env": {}}}' > "$T/noenv.json"
printf '%s' "${good//\"code\":\"0x\"/\"code\":\"0xzz\"}" > "$T/badhex.json"
printf '%s' "${good//\"0x0de0b6b3a7640000\"/\"0x1$(printf '0%.0s' {1..70})\"}" > "$T/hugebal.json"
printf '%s' "${good//\"data\":\[\"0x\"\]/\"data\":\"0x\"}" > "$T/dataobj.json"
printf '%s' "${good//0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b\":\{/0xa94f\":\{}" > "$T/shortaddr.json"
head -c 3000 "$ROOT/build/evm-fixtures/Cancun/GeneralStateTests/stExample/add11.json" > "$T/cut.json" 2>/dev/null || printf '{' > "$T/cut.json"

# the well-formed file runs (no post entries: 0 passed, 0 failed) — proves the error cases below are real
if "$VMKIT" evm statetest "$T/good.json" > "$T/out" 2>&1 && grep -q '^0 passed, 0 failed$' "$T/out"; then
  echo "PASS evm-badinput-control"; else echo "FAIL evm-badinput-control: $(head -1 "$T/out")"; fi
for f in trunc garbage array notobj noenv badhex hugebal dataobj shortaddr cut; do
  expect_err "json-$f" evm statetest "$T/$f.json"
done
expect_err missing-file evm statetest "$T/does-not-exist.json"
expect_err unknown-fork evm statetest "$T/good.json" --fork Atlantis
expect_err bad-jobs evm statetest "$T/good.json" --jobs 0
expect_err bad-bench evm statetest "$T/good.json" --bench x
expect_err no-files evm statetest
expect_err unknown-option evm statetest "$T/good.json" --frobnicate
expect_err unknown-cmd evm frobnicate
expect_err no-cmd evm
expect_err run-bad-hex evm run --code 60zz
expect_err run-odd-hex evm run --code 600
expect_err run-no-code evm run
expect_err run-bad-gas evm run --code 00 --gas -5
expect_err run-bad-fork evm run --code 00 --fork Nope
if "$VMKIT" evm --help | grep -q 'statetest' && "$VMKIT" evm statetest --help | grep -q 'usage' &&
   "$VMKIT" evm run --help | grep -q 'usage'; then echo "PASS evm-help"; else echo "FAIL evm-help: no usage text"; fi
out=$("$VMKIT" evm run --code 600160020160005260206000f3 2>&1)
if grep -q 'status: success' <<<"$out" && grep -q 'output: 0*3$' <<<"$out"; then echo "PASS evm-run-add";
else echo "FAIL evm-run-add: $out"; fi
