// prague-oracle-gen.mjs — generates tests/evm/prague-oracle.json: Prague state tests (EIP-7623 floor, EIP-7702
// set-code txs and delegated CALL/CALLCODE/DELEGATECALL/STATICCALL/EXTCODE*, EIP-7691 blob limits and fee
// fraction) whose post hashes and logs hashes are computed by @ethereumjs/vm 10.1.3 (the oracle).
// Regenerate: mkdir /tmp/o && cd /tmp/o && npm i @ethereumjs/vm@10.1.3 @ethereumjs/tx@10.1.3 @ethereumjs/block@10.1.3 \
//   @ethereumjs/common@10.1.3 @ethereumjs/util@10.1.3 && cp $VMKIT_ROOT/tests/evm/prague-oracle-gen.mjs gen.mjs && node gen.mjs OUTDIR   (writes OUTDIR/prague_oracle.json)
import { writeFileSync } from 'node:fs';
import { createVM, runTx } from '@ethereumjs/vm';
import { Common, Hardfork, Mainnet } from '@ethereumjs/common';
import { createBlock } from '@ethereumjs/block';
import { createEOACode7702Tx, createLegacyTx, createFeeMarket1559Tx, createBlob4844Tx } from '@ethereumjs/tx';
import { RLP } from '@ethereumjs/rlp';
import { createAccount, createAddressFromString, hexToBytes, bytesToHex, setLengthLeft, bigIntToBytes,
  privateToAddress, eoaCode7702SignAuthorization, eoaCode7702AuthorizationListBytesItemToJSON } from '@ethereumjs/util';
import { keccak_256 as keccak256 } from '@noble/hashes/sha3.js';

const dummyKzg = { loadTrustedSetup() {}, blobToKzgCommitment() { throw new Error('no kzg'); }, computeBlobProof() { throw new Error('no kzg'); }, verifyProof() { return true; }, verifyBlobProofBatch() { return true; } };
const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague, customCrypto: { kzg: dummyKzg } });
const key = (i) => hexToBytes('0x' + (0x4500 + i).toString(16).padStart(64, '0'));
const addrOf = (k) => bytesToHex(privateToAddress(k));
const SK = key(0), SENDER = addrOf(SK);
const A1 = addrOf(key(1)), A2 = addrOf(key(2));
const CB = '0x' + 'c0'.repeat(20);
const hex = (n) => '0x' + BigInt(n).toString(16);
const a20 = (a) => a.slice(2);
const D = '0x' + '00'.repeat(19) + 'd0', C = '0x' + '00'.repeat(19) + 'c1', E = '0x' + '00'.repeat(19) + 'e0';
// D: SSTORE(0, 42); SSTORE(1, CALLER); SSTORE(2, ADDRESS); LOG0 of 1 byte; STOP
const DCODE = '0x602a600055336001553060025560016000a000';
// E: REVERT after SSTORE (delegation must stay, auth refund kept)
const ECODE = '0x60016000556000600060fd';
function callerCode(op, target) {   // OP(gas, target, [0], 0, 0, 0, 0) then store result, EXTCODESIZE, EXTCODEHASH, EXTCODECOPY
  const t = a20(target);
  const v = (op === 'f1' || op === 'f2') ? '6000' : '';
  return '0x' + '6000600060006000' + v + '73' + t + '5a' + op + '600a55' +
    '73' + t + '3b600b55' + '73' + t + '3f600c55' + '6017600060' + '0073' + t + '3c' + '600051600d55' + '00';
}
function auth(k, chainId, address, nonce, tweak) {
  const s = eoaCode7702SignAuthorization({ chainId: hex(chainId), address, nonce: hex(nonce) }, key(k));
  const j = eoaCode7702AuthorizationListBytesItemToJSON(s);
  const o = { chainId: j.chainId, address: j.address, nonce: j.nonce, v: j.yParity, r: j.r, s: j.s, signer: addrOf(key(k)), yParity: j.yParity };
  if (tweak) tweak(o);
  return o;
}
const base = { [SENDER]: { nonce: '0x00', balance: '0x3635c9adc5dea00000', code: '0x', storage: {} },
  [D]: { nonce: '0x01', balance: '0x00', code: DCODE, storage: {} },
  [E]: { nonce: '0x01', balance: '0x00', code: ECODE, storage: {} } };
const desig = (d) => '0xef0100' + a20(d);
const cases = [];
const add = (name, extraPre, tx) => cases.push({ name, pre: { ...base, ...extraPre }, tx });
const big = '0x' + 'ab'.repeat(200);
add('floor_data_heavy', {}, { to: C, data: big, gasLimit: 60000 });
add('floor_below_floor_invalid', {}, { to: C, data: big, gasLimit: 28999 });
add('floor_create', {}, { to: '', data: '0x600060005300' + '00'.repeat(40) + 'ff'.repeat(20), gasLimit: 200000 });
add('floor_compute_heavy', { [C]: { nonce: '0x01', balance: '0x00', code: DCODE, storage: {} } }, { to: C, data: '0x01', gasLimit: 200000 });
add('auth_to_self_runs_delegate', {}, { to: A1, gasLimit: 200000, auth: [auth(1, 1, D, 0)], value: 5 });
add('auth_existing_refund', { [A1]: { nonce: '0x03', balance: '0x10', code: '0x', storage: {} } },
  { to: A1, gasLimit: 200000, auth: [auth(1, 0, D, 3)] });
add('auth_invalid_skipped', {}, { to: C, gasLimit: 300000, auth: [auth(1, 2, D, 0), auth(1, 1, D, 1),
  auth(1, 1, D, 0, (o) => { o.v = o.yParity = '0x02'; }), auth(2, 1, D, 0, (o) => { o.s = '0x0'; }), auth(2, 1, D, 0)] });
add('auth_code_account_skipped', { [A1]: { nonce: '0x00', balance: '0x10', code: '0x00', storage: {} } },
  { to: A1, gasLimit: 200000, auth: [auth(1, 1, D, 0)] });
add('auth_clear', { [A1]: { nonce: '0x00', balance: '0x10', code: desig(D), storage: {} } },
  { to: A1, gasLimit: 200000, auth: [auth(1, 1, '0x' + '00'.repeat(20), 0)] });
add('auth_twice_and_revert', {}, { to: A1, gasLimit: 200000, auth: [auth(1, 1, D, 0), auth(1, 1, E, 1)] });
add('sender_is_authority', {}, { to: C, gasLimit: 200000, auth: [auth(0, 1, D, 1)] });
add('auth_precompile_delegate', {}, { to: A1, gasLimit: 200000, auth: [auth(1, 1, '0x' + '00'.repeat(19) + '04', 0)], data: '0x1234' });
for (const op of ['f1', 'f2', 'f4', 'fa']) {
  add('call_delegated_' + op, { [A1]: { nonce: '0x00', balance: '0x10', code: desig(D), storage: {} },
    [C]: { nonce: '0x01', balance: '0x00', code: callerCode(op, A1), storage: {} } }, { to: C, gasLimit: 300000 });
  add('call_delegated_warm_' + op, { [A1]: { nonce: '0x00', balance: '0x10', code: desig(D), storage: {} },
    [C]: { nonce: '0x01', balance: '0x00', code: callerCode(op, A1), storage: {} } },
    { to: C, gasLimit: 300000, accessList: [{ address: D, storageKeys: [] }] });
  add('call_delegated_low_gas_' + op, { [A1]: { nonce: '0x00', balance: '0x10', code: desig(D), storage: {} },
    [C]: { nonce: '0x01', balance: '0x00', code: callerCode(op, A1), storage: {} } }, { to: C, gasLimit: 21000 + 40 + 2600 + 2500 });
}
add('sender_delegated', { [SENDER]: { nonce: '0x00', balance: '0x3635c9adc5dea00000', code: desig(D), storage: {} } },
  { to: C, gasLimit: 100000, legacy: true });
add('chain_delegation_not_followed', { [A1]: { nonce: '0x00', balance: '0x10', code: desig(A2), storage: {} },
  [A2]: { nonce: '0x00', balance: '0x10', code: desig(D), storage: {} } }, { to: A1, gasLimit: 100000 });

// more delegation cases
const F = '0x' + '00'.repeat(19) + 'f0';
const SD = '0x73' + 'be'.repeat(20) + 'ff';                       // SELFDESTRUCT(0xbebe..)
add('auth_then_call_from_contract', { [C]: { nonce: '0x01', balance: '0x00', code: callerCode('f1', A1), storage: {} } },
  { to: C, gasLimit: 300000, auth: [auth(1, 1, D, 0)] });
add('delegate_selfdestruct', { [A1]: { nonce: '0x00', balance: '0x64', code: desig(F), storage: {} },
  [F]: { nonce: '0x01', balance: '0x00', code: SD, storage: {} } }, { to: A1, gasLimit: 100000 });
add('delegate_to_empty_account', { [A1]: { nonce: '0x00', balance: '0x64', code: desig('0x' + '77'.repeat(20)), storage: {} } },
  { to: A1, gasLimit: 100000, value: 3 });
add('call_value_to_delegated', { [A1]: { nonce: '0x00', balance: '0x00', code: desig(D), storage: {} },
  [C]: { nonce: '0x01', balance: '0x10', code: '0x60006000600060006001' + '73' + a20(A1) + '5a' + 'f1' + '600a5500', storage: {} } },
  { to: C, gasLimit: 300000 });
add('floor_with_refund', { [C]: { nonce: '0x01', balance: '0x00', code: '0x600060005500', storage: { '0x00': '0x2a' } } },
  { to: C, gasLimit: 100000, data: '0x' + 'ab'.repeat(100) });
add('delegatecall_chain', { [A1]: { nonce: '0x00', balance: '0x00', code: desig(C), storage: {} },
  [A2]: { nonce: '0x00', balance: '0x00', code: desig(D), storage: {} },
  [C]: { nonce: '0x01', balance: '0x00', code: callerCode('f4', A2), storage: {} } }, { to: A1, gasLimit: 300000 });

const bh = (n) => Array.from({ length: n }, (_, i) => '0x01' + (i + 1).toString(16).padStart(62, '0'));
for (const n of [1, 6, 7, 9, 10])
  add('blobs_' + n, {}, { to: C, gasLimit: 100000, blobs: bh(n), excess: 0x3000000 });
add('blobs_9_high_excess', {}, { to: C, gasLimit: 100000, blobs: bh(9), excess: 0x5000000 });

async function run(c) {
  const vm = await createVM({ common });
  const sm = vm.stateManager;
  for (const [addr, acc] of Object.entries(c.pre)) {
    const a = createAddressFromString(addr);
    await sm.putAccount(a, createAccount({ nonce: BigInt(acc.nonce), balance: BigInt(acc.balance) }));
    if (acc.code !== '0x') await sm.putCode(a, hexToBytes(acc.code));
    for (const [k, v] of Object.entries(acc.storage || {}))
      await sm.putStorage(a, setLengthLeft(bigIntToBytes(BigInt(k)), 32), setLengthLeft(bigIntToBytes(BigInt(v)), 32));
  }
  const block = createBlock({ header: { coinbase: CB, number: 1, timestamp: 1000, gasLimit: 30000000n,
    baseFeePerGas: 7n, excessBlobGas: BigInt(c.tx.excess || 0), difficulty: 0n } }, { common });
  const t = c.tx;
  const td = { nonce: 0n, gasLimit: BigInt(t.gasLimit), to: t.to || undefined, value: BigInt(t.value || 0),
    data: t.data || '0x', chainId: 1n, maxFeePerGas: 10n, maxPriorityFeePerGas: 2n, accessList: t.accessList || [] };
  let tx, exc = null, logs = [], gas = null;
  try {
  if (t.auth) tx = createEOACode7702Tx({ ...td, authorizationList: t.auth.map((o) => ({ chainId: o.chainId, address: o.address, nonce: o.nonce, yParity: o.yParity, r: o.r, s: o.s })) }, { common });
  else if (t.blobs) tx = createBlob4844Tx({ ...td, blobVersionedHashes: t.blobs, maxFeePerBlobGas: 10000000n }, { common });
  else if (t.legacy) tx = createLegacyTx({ ...td, gasPrice: 10n }, { common });
  else tx = createFeeMarket1559Tx(td, { common });
  tx = tx.sign(SK);
    const r = await runTx(vm, { tx, block, skipHardForkValidation: true });
    logs = r.receipt.logs; gas = r.totalGasSpent;
  } catch (e) { exc = String(e.message || e).split('\n')[0].slice(0, 80); }
  if (exc) {  // invalid tx: state as pre, plus the zero-reward coinbase touch (deleted again: empty)
    const vm2 = await createVM({ common });
    for (const [addr, acc] of Object.entries(c.pre)) {
      const a = createAddressFromString(addr);
      await vm2.stateManager.putAccount(a, createAccount({ nonce: BigInt(acc.nonce), balance: BigInt(acc.balance) }));
      if (acc.code !== '0x') await vm2.stateManager.putCode(a, hexToBytes(acc.code));
      for (const [k, v] of Object.entries(acc.storage || {}))
        await vm2.stateManager.putStorage(a, setLengthLeft(bigIntToBytes(BigInt(k)), 32), setLengthLeft(bigIntToBytes(BigInt(v)), 32));
    }
    return { root: bytesToHex(await vm2.stateManager.getStateRoot()), logs: bytesToHex(keccak256(RLP.encode([]))), exc, gas };
  }
  return { root: bytesToHex(await sm.getStateRoot()), logs: bytesToHex(keccak256(RLP.encode(logs))), exc, gas };
}

const out = {};
for (const c of cases) {
  const r = await run(c);
  const t = c.tx;
  const tx = { data: [t.data || '0x'], gasLimit: [hex(t.gasLimit)], value: [hex(t.value || 0)], nonce: '0x00',
    to: t.to || '', sender: SENDER, secretKey: bytesToHex(SK) };
  if (t.legacy) tx.gasPrice = '0x0a'; else { tx.maxFeePerGas = '0x0a'; tx.maxPriorityFeePerGas = '0x02'; }
  if (t.accessList) tx.accessLists = [t.accessList];
  if (t.auth) tx.authorizationList = t.auth;
  if (t.blobs) { tx.blobVersionedHashes = t.blobs; tx.maxFeePerBlobGas = hex(10000000); }
  const post = { hash: r.root, logs: r.logs, indexes: { data: 0, gas: 0, value: 0 } };
  if (r.exc) post.expectException = 'ejs: ' + r.exc;
  out[c.name] = { env: { currentCoinbase: CB, currentGasLimit: '0x01c9c380', currentNumber: '0x01', currentTimestamp: '0x03e8',
    currentBaseFee: '0x07', currentRandom: '0x' + '00'.repeat(32), currentDifficulty: '0x00', currentExcessBlobGas: hex(t.excess || 0) },
    pre: c.pre, transaction: tx, post: { Prague: [post] } };
  console.log(c.name, 'gas', r.gas, r.exc ? 'EXC ' + r.exc : '');
}
writeFileSync(process.argv[2] + '/prague_oracle.json', JSON.stringify(out, null, 1));
