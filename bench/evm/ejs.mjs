// ejs.mjs — runs the EVM benchmarks (state-test format, ../shared/evm/bench) on @ethereumjs/evm, the
// peer for bench/evm/run.sh. For each file, test and transaction.data entry it builds a fresh state from
// `pre` (not timed), runs the call N times and prints:
//   EJS <test> <data-index> median_us=<t> gas=<tx gas used: intrinsic (21000 + calldata) + execution
//   - refund (capped at 1/5 from London, 1/2 before)> status=<ok|error>
// Usage: node ejs.mjs N FILE.json...
import { readFileSync } from 'node:fs';
import { createEVM } from '@ethereumjs/evm';
import { Common, Hardfork, Mainnet } from '@ethereumjs/common';
import { SimpleStateManager } from '@ethereumjs/statemanager';
import { createAccount, createAddressFromString, hexToBytes, setLengthLeft, bigIntToBytes } from '@ethereumjs/util';

const FORKS = {
  Frontier: Hardfork.Frontier, Homestead: Hardfork.Homestead, EIP150: Hardfork.TangerineWhistle,
  EIP158: Hardfork.SpuriousDragon, Byzantium: Hardfork.Byzantium, Constantinople: Hardfork.Constantinople,
  ConstantinopleFix: Hardfork.Petersburg, Istanbul: Hardfork.Istanbul, Berlin: Hardfork.Berlin,
  London: Hardfork.London, Merge: Hardfork.Paris, Paris: Hardfork.Paris, Shanghai: Hardfork.Shanghai,
  Cancun: Hardfork.Cancun, Prague: Hardfork.Prague,
};
const ORDER = Object.keys(FORKS);

function rawData(s) {
  const m = /:raw\s+(0x[0-9a-fA-F]*)/.exec(s);
  return hexToBytes(m ? m[1] : (s.startsWith('0x') ? s : '0x' + s));
}
const big = (h) => BigInt(h === '0x' || h === '' ? 0 : h);

async function freshEvm(test, hardfork) {
  const common = new Common({ chain: Mainnet, hardfork });
  const stateManager = new SimpleStateManager({ common });
  const evm = await createEVM({ common, stateManager });
  for (const [addr, acc] of Object.entries(test.pre)) {
    const a = createAddressFromString(addr);
    await stateManager.putAccount(a, createAccount({ nonce: big(acc.nonce), balance: big(acc.balance) }));
    const code = hexToBytes(acc.code || '0x');
    if (code.length) await stateManager.putCode(a, code);
    for (const [k, v] of Object.entries(acc.storage || {}))
      await stateManager.putStorage(a, setLengthLeft(bigIntToBytes(big(k)), 32), setLengthLeft(bigIntToBytes(big(v)), 32));
  }
  return evm;
}

async function main() {
  const n = parseInt(process.argv[2], 10);
  if (!(n > 0) || process.argv.length < 4) {
    console.error('usage: node ejs.mjs N FILE.json...');
    process.exit(2);
  }
  for (const file of process.argv.slice(3)) {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    for (const [name, test] of Object.entries(doc)) {
      const forks = Object.keys(test.post || {}).filter((f) => FORKS[f] !== undefined);
      forks.sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
      const fork = forks[forks.length - 1] || 'Cancun';
      const tx = test.transaction;
      for (let d = 0; d < tx.data.length; d++) {
        const data = rawData(tx.data[d]);
        let intrinsic = 21000n;
        for (const b of data) intrinsic += b === 0 ? 4n : 16n;
        const times = [];
        let gas = 0n, status = 'ok';
        for (let k = -1; k < n; k++) {          // k = -1: warm-up run (JIT), not counted
          const evm = await freshEvm(test, FORKS[fork]);
          const opts = {
            to: createAddressFromString(tx.to), caller: createAddressFromString(tx.sender),
            origin: createAddressFromString(tx.sender), data, gasLimit: big(tx.gasLimit[0]),
            gasPrice: big(tx.gasPrice || '0x1'), value: big(tx.value[0]),
          };
          const t0 = process.hrtime.bigint();
          const r = await evm.runCall(opts);
          const t1 = process.hrtime.bigint();
          if (k >= 0) times.push(Number(t1 - t0) / 1000);
          const used = r.execResult.executionGasUsed + intrinsic;
          const quotient = ORDER.indexOf(fork) >= ORDER.indexOf('London') ? 5n : 2n;
          let refund = r.execResult.gasRefund ?? 0n;
          if (refund > used / quotient) refund = used / quotient;
          gas = used - refund;
          if (r.execResult.exceptionError) status = 'error:' + r.execResult.exceptionError.error;
        }
        times.sort((a, b) => a - b);
        console.log(`EJS ${name} ${d} median_us=${times[n >> 1].toFixed(1)} gas=${gas} status=${status}`);
      }
    }
  }
}
main().catch((e) => { console.error('ejs.mjs:', e.message || e); process.exit(1); });
