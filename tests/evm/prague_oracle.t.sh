#!/usr/bin/env bash
# prague_oracle.t.sh — runs `vmkit evm statetest` on tests/evm/prague-oracle.json: 38 Prague state tests
# (EIP-7623, EIP-7702, EIP-7691) whose expected post-state roots, logs hashes and rejections were computed
# by @ethereumjs/vm 10.1.3 (generator: tests/evm/prague-oracle-gen.mjs). Every case must pass.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
FIX=$ROOT/tests/evm/prague-oracle.json
if [ ! -x "$VMKIT" ]; then echo "SKIP evm-prague-oracle: no vmkit binary at $VMKIT"; exit 0; fi
if [ ! -f "$FIX" ]; then echo "FAIL evm-prague-oracle: missing $FIX"; exit 1; fi
out=$("$VMKIT" evm statetest "$FIX" --fork Prague 2>&1)
rc=$?
last=$(printf '%s\n' "$out" | tail -1)
if [ $rc -eq 0 ] && [ "$last" = "38 passed, 0 failed" ]; then
  echo "PASS evm-prague-oracle ($last)"
else
  echo "FAIL evm-prague-oracle: exit $rc, $last"
  printf '%s\n' "$out" | grep '^FAIL' | head -5
fi
