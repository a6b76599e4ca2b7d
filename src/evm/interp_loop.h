/* interp_loop.h — the EVM dispatch loop (computed goto), included twice by interp.c: as run_fast and,
 * with INTERP_TRACED=1, as run_traced (calls trace_step before every instruction). Not a public header.
 * Fast loop: static gas and the stack window are checked once per basic block (ENTER_AT, from the
 * analysis' block table) at the code start, at JUMPDESTs and after the instructions that end a block;
 * handlers charge only dynamic gas. Traced loop: every instruction checks its own stack bounds and
 * static gas (BASE/NEED/ROOM), so traces show per-instruction gas exactly.
 * Code is zero-padded by the analysis so PUSH immediates and running off the end (STOP) need no checks. */

#if INTERP_TRACED
/* traced: every instruction checks its own stack and static gas */
#define NEXT() do { trace_step(f, ip, sp, gas); goto *tbl[*ip]; } while (0)
#define NEED(n) do { if (__builtin_expect(sp - sbase < (n), 0)) goto e_underflow; } while (0)
#define ROOM(n) do { if (__builtin_expect(sp - sbase > STACK_LIMIT - (n), 0)) goto e_overflow; } while (0)
#define BASE(c) GAS(c)
#define NEXT_BLOCK() NEXT()
#define ENTER_AT(pos) do { } while (0)
#else
/* fast: static gas and stack bounds are checked once per basic block (see analyze) */
#define NEXT() goto *tbl[*ip]
#define NEED(n) do { } while (0)
#define ROOM(n) do { } while (0)
#define BASE(c) do { } while (0)
#define ENTER_AT(pos) do { \
        const blockinfo *b_ = &blocks[bidx[(pos)]]; \
        if (__builtin_expect((gas -= b_->gas) < 0, 0)) goto e_oog; \
        ptrdiff_t h_ = sp - sbase; \
        if (__builtin_expect(h_ < b_->req, 0)) goto e_underflow; \
        if (__builtin_expect(h_ + b_->grow > STACK_LIMIT, 0)) goto e_overflow; } while (0)
#define NEXT_BLOCK() do { if (*ip != 0x5b) ENTER_AT((size_t)(ip - code)); NEXT(); } while (0)
#endif
#define GAS(c)  do { if (__builtin_expect((gas -= (int64_t)(c)) < 0, 0)) goto e_oog; } while (0)
#define BINOP(c, expr) do { NEED(2); BASE(c); u256 a = sp[-1], b = sp[-2]; sp[-2] = (expr); sp--; ip++; NEXT(); } while (0)
#define CMPOP(expr) do { NEED(2); BASE(3); u256 a = sp[-1], b = sp[-2]; sp[-2] = u256_from_u64(expr); sp--; ip++; NEXT(); } while (0)
#define PUSHV(v) do { ROOM(1); BASE(2); *sp++ = (v); ip++; NEXT(); } while (0)
#define MEMCHK(o, s) do { if (!mem_check(f, &gas, &(o), &(s))) goto e_mem; } while (0)
#define MEMCHK_N(o, n) do { \
        if (!(((o).w[1] | (o).w[2] | (o).w[3]) == 0 && (o).w[0] < MEM_LIMIT && (o).w[0] + (n) <= f->mem_size)) { \
            u256 s_ = u256_from_u64(n); MEMCHK(o, s_); } } while (0)
#define CALLOP(fncall) do { int64_t g_ = gas; int s_ = (fncall); gas = g_; if (s_) { status = s_; goto done; } } while (0)
#define JUMP_OK(d) (u256_fits_u64(d) && (d).w[0] < code_size && ((jd[(d).w[0] / 64] >> ((d).w[0] % 64)) & 1))
#define ACCESS_COLD(addrp) (f->rev >= EVM_BERLIN && f->host->access_account(f->ctx, (addrp)) == EVM_ACCESS_COLD)

static int INTERP_FN(frame *f, int64_t *gas_io) {
    static void *const labels[256] = {
        [0x00] = &&L_STOP, [0x01] = &&L_ADD, [0x02] = &&L_MUL, [0x03] = &&L_SUB, [0x04] = &&L_DIV,
        [0x05] = &&L_SDIV, [0x06] = &&L_MOD, [0x07] = &&L_SMOD, [0x08] = &&L_ADDMOD, [0x09] = &&L_MULMOD,
        [0x0a] = &&L_EXP, [0x0b] = &&L_SIGNEXTEND, [0x10] = &&L_LT, [0x11] = &&L_GT, [0x12] = &&L_SLT,
        [0x13] = &&L_SGT, [0x14] = &&L_EQ, [0x15] = &&L_ISZERO, [0x16] = &&L_AND, [0x17] = &&L_OR,
        [0x18] = &&L_XOR, [0x19] = &&L_NOT, [0x1a] = &&L_BYTE, [0x1b] = &&L_SHL, [0x1c] = &&L_SHR,
        [0x1d] = &&L_SAR, [0x20] = &&L_SHA3, [0x30] = &&L_ADDRESS, [0x31] = &&L_BALANCE,
        [0x32] = &&L_ORIGIN, [0x33] = &&L_CALLER, [0x34] = &&L_CALLVALUE, [0x35] = &&L_CALLDATALOAD,
        [0x36] = &&L_CALLDATASIZE, [0x37] = &&L_CALLDATACOPY, [0x38] = &&L_CODESIZE,
        [0x39] = &&L_CODECOPY, [0x3a] = &&L_GASPRICE, [0x3b] = &&L_EXTCODESIZE, [0x3c] = &&L_EXTCODECOPY,
        [0x3d] = &&L_RETURNDATASIZE, [0x3e] = &&L_RETURNDATACOPY, [0x3f] = &&L_EXTCODEHASH,
        [0x40] = &&L_BLOCKHASH, [0x41] = &&L_COINBASE, [0x42] = &&L_TIMESTAMP, [0x43] = &&L_NUMBER,
        [0x44] = &&L_PREVRANDAO, [0x45] = &&L_GASLIMIT, [0x46] = &&L_CHAINID, [0x47] = &&L_SELFBALANCE,
        [0x48] = &&L_BASEFEE, [0x49] = &&L_BLOBHASH, [0x4a] = &&L_BLOBBASEFEE, [0x50] = &&L_POP,
        [0x51] = &&L_MLOAD, [0x52] = &&L_MSTORE, [0x53] = &&L_MSTORE8, [0x54] = &&L_SLOAD,
        [0x55] = &&L_SSTORE, [0x56] = &&L_JUMP, [0x57] = &&L_JUMPI, [0x58] = &&L_PC, [0x59] = &&L_MSIZE,
        [0x5a] = &&L_GAS, [0x5b] = &&L_JUMPDEST, [0x5c] = &&L_TLOAD, [0x5d] = &&L_TSTORE,
        [0x5e] = &&L_MCOPY, [0x5f] = &&L_PUSH0,
        [0x60] = &&L_PUSH1, [0x61] = &&L_PUSH2, [0x62] = &&L_PUSH3, [0x63] = &&L_PUSH4,
        [0x64] = &&L_PUSH5, [0x65] = &&L_PUSH6, [0x66] = &&L_PUSH7, [0x67] = &&L_PUSH8,
        [0x68] = &&L_PUSH9, [0x69] = &&L_PUSH10, [0x6a] = &&L_PUSH11, [0x6b] = &&L_PUSH12,
        [0x6c] = &&L_PUSH13, [0x6d] = &&L_PUSH14, [0x6e] = &&L_PUSH15, [0x6f] = &&L_PUSH16,
        [0x70] = &&L_PUSH17, [0x71] = &&L_PUSH18, [0x72] = &&L_PUSH19, [0x73] = &&L_PUSH20,
        [0x74] = &&L_PUSH21, [0x75] = &&L_PUSH22, [0x76] = &&L_PUSH23, [0x77] = &&L_PUSH24,
        [0x78] = &&L_PUSH25, [0x79] = &&L_PUSH26, [0x7a] = &&L_PUSH27, [0x7b] = &&L_PUSH28,
        [0x7c] = &&L_PUSH29, [0x7d] = &&L_PUSH30, [0x7e] = &&L_PUSH31, [0x7f] = &&L_PUSH32,
        [0x80] = &&L_DUP1, [0x81] = &&L_DUP2, [0x82] = &&L_DUP3, [0x83] = &&L_DUP4, [0x84] = &&L_DUP5,
        [0x85] = &&L_DUP6, [0x86] = &&L_DUP7, [0x87] = &&L_DUP8, [0x88] = &&L_DUP9, [0x89] = &&L_DUP10,
        [0x8a] = &&L_DUP11, [0x8b] = &&L_DUP12, [0x8c] = &&L_DUP13, [0x8d] = &&L_DUP14,
        [0x8e] = &&L_DUP15, [0x8f] = &&L_DUP16,
        [0x90] = &&L_SWAP1, [0x91] = &&L_SWAP2, [0x92] = &&L_SWAP3, [0x93] = &&L_SWAP4,
        [0x94] = &&L_SWAP5, [0x95] = &&L_SWAP6, [0x96] = &&L_SWAP7, [0x97] = &&L_SWAP8,
        [0x98] = &&L_SWAP9, [0x99] = &&L_SWAP10, [0x9a] = &&L_SWAP11, [0x9b] = &&L_SWAP12,
        [0x9c] = &&L_SWAP13, [0x9d] = &&L_SWAP14, [0x9e] = &&L_SWAP15, [0x9f] = &&L_SWAP16,
        [0xa0] = &&L_LOG0, [0xa1] = &&L_LOG1, [0xa2] = &&L_LOG2, [0xa3] = &&L_LOG3, [0xa4] = &&L_LOG4,
        [0xf0] = &&L_CREATE, [0xf1] = &&L_CALL, [0xf2] = &&L_CALLCODE, [0xf3] = &&L_RETURN,
        [0xf4] = &&L_DELEGATECALL, [0xf5] = &&L_CREATE2, [0xfa] = &&L_STATICCALL, [0xfd] = &&L_REVERT,
        [0xfe] = &&L_INVALID, [0xff] = &&L_SELFDESTRUCT};
    static void *tables[EVM_MAX_REVISION + 1][256];
    static int tables_ready;
    static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;
    if (!__atomic_load_n(&tables_ready, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&tables_mu);
        if (!tables_ready) {
            for (int r = 0; r <= EVM_MAX_REVISION; r++)
                for (int op = 0; op < 256; op++)
                    tables[r][op] = (labels[op] && op_since[op] <= r) ? labels[op] : &&L_UNDEFINED;
            __atomic_store_n(&tables_ready, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&tables_mu);
    }

    void *const *const tbl = tables[f->rev];
    const int32_t *const bg = base_gas[f->rev];
    (void)bg;
    const uint8_t *const code = f->an->code;
    const size_t code_size = f->an->code_size;
    const uint64_t *const jd = f->an->jumpdest;
    const uint8_t *ip = code;
    u256 *const sbase = f->stack;
    u256 *sp = sbase;
    int64_t gas = *gas_io;
    int status = EVM_SUCCESS;
    if (gas < 0) { status = EVM_OUT_OF_GAS; goto done; }
#if !INTERP_TRACED
    const uint32_t *const bidx = f->an->bidx;
    const blockinfo *const blocks = f->an->blocks;
    if (*ip != 0x5b) ENTER_AT(0);
#endif
    NEXT();

L_STOP: status = EVM_SUCCESS; goto done;
L_ADD: BINOP(3, u256_add(a, b));
L_MUL: BINOP(5, u256_mul(a, b));
L_SUB: BINOP(3, u256_sub(a, b));
L_DIV: BINOP(5, u256_div(a, b));
L_SDIV: BINOP(5, u256_sdiv(a, b));
L_MOD: BINOP(5, u256_mod(a, b));
L_SMOD: BINOP(5, u256_smod(a, b));
L_ADDMOD: { NEED(3); BASE(8); sp[-3] = u256_addmod(sp[-1], sp[-2], sp[-3]); sp -= 2; ip++; NEXT(); }
L_MULMOD: { NEED(3); BASE(8); sp[-3] = u256_mulmod(sp[-1], sp[-2], sp[-3]); sp -= 2; ip++; NEXT(); }
L_EXP: {
    NEED(2); BASE(10);
    u256 e = sp[-2];
    GAS((int64_t)u256_byte_length(e) * (f->rev >= EVM_SPURIOUS_DRAGON ? 50 : 10));
    sp[-2] = u256_exp(sp[-1], e); sp--; ip++; NEXT();
}
L_SIGNEXTEND: BINOP(5, u256_signextend(a, b));
L_LT: CMPOP(u256_lt(a, b));
L_GT: CMPOP(u256_gt(a, b));
L_SLT: CMPOP(u256_slt(a, b));
L_SGT: CMPOP(u256_sgt(a, b));
L_EQ: CMPOP(u256_eq(a, b));
L_ISZERO: { NEED(1); BASE(3); sp[-1] = u256_from_u64(u256_is_zero(sp[-1])); ip++; NEXT(); }
L_AND: BINOP(3, u256_and(a, b));
L_OR: BINOP(3, u256_or(a, b));
L_XOR: BINOP(3, u256_xor(a, b));
L_NOT: { NEED(1); BASE(3); sp[-1] = u256_not(sp[-1]); ip++; NEXT(); }
L_BYTE: BINOP(3, u256_byte(a, b));
L_SHL: BINOP(3, u256_shl(a, b));
L_SHR: BINOP(3, u256_shr(a, b));
L_SAR: BINOP(3, u256_sar(a, b));
L_SHA3: {
    NEED(2); BASE(30);
    u256 off = sp[-1], size = sp[-2];
    MEMCHK(off, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    GAS(6 * words(n));
    uint8_t h[32];
    evm_keccak256(n ? f->mem + off.w[0] : (const uint8_t *)"", n, h);
    sp[-2] = u256_from_be(h); sp--; ip++; NEXT();
}
L_ADDRESS: PUSHV(u256_from_address(&f->msg->recipient));
L_BALANCE: {
    NEED(1); BASE(bg[0x31]);
    evm_address a = u256_to_address(sp[-1]);
    if (ACCESS_COLD(&a)) GAS(2500);
    sp[-1] = u256_from_bytes32(f->host->get_balance(f->ctx, &a)); ip++; NEXT();
}
L_ORIGIN: PUSHV(u256_from_address(&tx_ctx(f)->tx_origin));
L_CALLER: PUSHV(u256_from_address(&f->msg->sender));
L_CALLVALUE: PUSHV(u256_from_bytes32(f->msg->value));
L_CALLDATALOAD: {
    NEED(1); BASE(3);
    uint8_t b[32];
    copy_padded(b, f->msg->input_data, f->msg->input_data ? f->msg->input_size : 0, &sp[-1], 32);
    sp[-1] = u256_from_be(b); ip++; NEXT();
}
L_CALLDATASIZE: PUSHV(u256_from_u64(f->msg->input_data ? f->msg->input_size : 0));
L_CALLDATACOPY: {
    NEED(3); BASE(3);
    u256 mo = sp[-1], so = sp[-2], size = sp[-3];
    MEMCHK(mo, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    GAS(3 * words(n));
    if (n) copy_padded(f->mem + mo.w[0], f->msg->input_data, f->msg->input_data ? f->msg->input_size : 0, &so, n);
    sp -= 3; ip++; NEXT();
}
L_CODESIZE: PUSHV(u256_from_u64(code_size));
L_CODECOPY: {
    NEED(3); BASE(3);
    u256 mo = sp[-1], so = sp[-2], size = sp[-3];
    MEMCHK(mo, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    GAS(3 * words(n));
    if (n) copy_padded(f->mem + mo.w[0], code, code_size, &so, n);
    sp -= 3; ip++; NEXT();
}
L_GASPRICE: PUSHV(u256_from_bytes32(tx_ctx(f)->tx_gas_price));
L_EXTCODESIZE: {
    NEED(1); BASE(bg[0x3b]);
    evm_address a = u256_to_address(sp[-1]);
    if (ACCESS_COLD(&a)) GAS(2500);
    sp[-1] = u256_from_u64(f->host->get_code_size(f->ctx, &a)); ip++; NEXT();
}
L_EXTCODECOPY: {
    NEED(4); BASE(bg[0x3c]);
    evm_address a = u256_to_address(sp[-1]);
    u256 mo = sp[-2], co = sp[-3], size = sp[-4];
    MEMCHK(mo, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    GAS(3 * words(n));
    if (ACCESS_COLD(&a)) GAS(2500);
    if (n) {
        size_t src = (u256_fits_u64(co) && co.w[0] < MEM_LIMIT) ? (size_t)co.w[0] : (size_t)MEM_LIMIT;
        size_t got = f->host->copy_code(f->ctx, &a, src, f->mem + mo.w[0], n);
        if (got > n) got = n;
        if (got < n) memset(f->mem + mo.w[0] + got, 0, n - got);
    }
    sp -= 4; ip++; NEXT();
}
L_RETURNDATASIZE: PUSHV(u256_from_u64(f->ret_size));
L_RETURNDATACOPY: {
    NEED(3); BASE(3);
    u256 mo = sp[-1], ro = sp[-2], size = sp[-3];
    MEMCHK(mo, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    if (!u256_fits_u64(ro) || ro.w[0] > f->ret_size || f->ret_size - ro.w[0] < n) {
        status = EVM_INVALID_MEMORY_ACCESS; goto done;
    }
    GAS(3 * words(n));
    if (n) memcpy(f->mem + mo.w[0], f->ret + ro.w[0], n);
    sp -= 3; ip++; NEXT();
}
L_EXTCODEHASH: {
    NEED(1); BASE(bg[0x3f]);
    evm_address a = u256_to_address(sp[-1]);
    if (ACCESS_COLD(&a)) GAS(2500);
    sp[-1] = u256_from_bytes32(f->host->get_code_hash(f->ctx, &a)); ip++; NEXT();
}
L_BLOCKHASH: {
    NEED(1); BASE(20);
    u256 n = sp[-1];
    int64_t ub = tx_ctx(f)->block_number;
    int64_t lb = ub > 256 ? ub - 256 : 0;
    u256 h = u256_zero();
    if (u256_fits_u64(n) && n.w[0] < (uint64_t)INT64_MAX && (int64_t)n.w[0] < ub && (int64_t)n.w[0] >= lb)
        h = u256_from_bytes32(f->host->get_block_hash(f->ctx, (int64_t)n.w[0]));
    sp[-1] = h; ip++; NEXT();
}
L_COINBASE: PUSHV(u256_from_address(&tx_ctx(f)->block_coinbase));
L_TIMESTAMP: PUSHV(u256_from_u64((uint64_t)tx_ctx(f)->block_timestamp));
L_NUMBER: PUSHV(u256_from_u64((uint64_t)tx_ctx(f)->block_number));
L_PREVRANDAO: PUSHV(u256_from_bytes32(tx_ctx(f)->block_prev_randao));
L_GASLIMIT: PUSHV(u256_from_u64((uint64_t)tx_ctx(f)->block_gas_limit));
L_CHAINID: PUSHV(u256_from_bytes32(tx_ctx(f)->chain_id));
L_SELFBALANCE: {
    ROOM(1); BASE(5);
    *sp++ = u256_from_bytes32(f->host->get_balance(f->ctx, &f->msg->recipient)); ip++; NEXT();
}
L_BASEFEE: PUSHV(u256_from_bytes32(tx_ctx(f)->block_base_fee));
L_BLOBHASH: {
    NEED(1); BASE(3);
    const evm_tx_context *t = tx_ctx(f);
    u256 i = sp[-1];
    sp[-1] = (u256_fits_u64(i) && t->blob_hashes && i.w[0] < t->blob_hashes_count)
                 ? u256_from_bytes32(t->blob_hashes[i.w[0]]) : u256_zero();
    ip++; NEXT();
}
L_BLOBBASEFEE: PUSHV(u256_from_bytes32(tx_ctx(f)->blob_base_fee));
L_POP: { NEED(1); BASE(2); sp--; ip++; NEXT(); }
L_MLOAD: {
    NEED(1); BASE(3);
    u256 off = sp[-1];
    MEMCHK_N(off, 32);
    sp[-1] = u256_from_be(f->mem + off.w[0]); ip++; NEXT();
}
L_MSTORE: {
    NEED(2); BASE(3);
    u256 off = sp[-1];
    MEMCHK_N(off, 32);
    u256_to_be(sp[-2], f->mem + off.w[0]); sp -= 2; ip++; NEXT();
}
L_MSTORE8: {
    NEED(2); BASE(3);
    u256 off = sp[-1];
    MEMCHK_N(off, 1);
    f->mem[off.w[0]] = (uint8_t)sp[-2].w[0]; sp -= 2; ip++; NEXT();
}
L_SLOAD: {
    NEED(1); BASE(bg[0x54]);
    evm_bytes32 k = u256_to_bytes32(sp[-1]);
    if (f->rev >= EVM_BERLIN && f->host->access_storage(f->ctx, &f->msg->recipient, &k) == EVM_ACCESS_COLD) GAS(2000);
    sp[-1] = u256_from_bytes32(f->host->get_storage(f->ctx, &f->msg->recipient, &k)); ip++; NEXT();
}
L_SSTORE: {
    NEED(2);
    CALLOP(op_sstore(f, sp, &g_));
    sp -= 2; ip++; NEXT_BLOCK();
}
L_JUMP: {
    NEED(1); BASE(8);
    u256 d = sp[-1];
    if (!JUMP_OK(d)) goto e_badjump;
    sp--; ip = code + d.w[0]; NEXT();
}
L_JUMPI: {
    NEED(2); BASE(10);
    if (!u256_is_zero(sp[-2])) {
        u256 d = sp[-1];
        if (!JUMP_OK(d)) goto e_badjump;
        sp -= 2; ip = code + d.w[0]; NEXT();
    }
    sp -= 2; ip++; NEXT_BLOCK();
}
L_PC: PUSHV(u256_from_u64((uint64_t)(ip - code)));
L_MSIZE: PUSHV(u256_from_u64(f->mem_size));
L_GAS: { ROOM(1); BASE(2); *sp++ = u256_from_u64((uint64_t)gas); ip++; NEXT_BLOCK(); }
L_JUMPDEST: {
#if INTERP_TRACED
    GAS(1);
    ip++;
#else
    const blockinfo *b_ = &blocks[bidx[ip - code]];
    ENTER_AT((size_t)(ip - code));
    ip += b_->skip;
#endif
    NEXT();
}
L_TLOAD: {
    NEED(1); BASE(100);
    evm_bytes32 k = u256_to_bytes32(sp[-1]);
    sp[-1] = u256_from_bytes32(f->host->get_transient_storage(f->ctx, &f->msg->recipient, &k)); ip++; NEXT();
}
L_TSTORE: {
    NEED(2); BASE(100);
    if (f->msg->flags & EVM_STATIC) { status = EVM_STATIC_MODE_VIOLATION; goto done; }
    evm_bytes32 k = u256_to_bytes32(sp[-1]), v = u256_to_bytes32(sp[-2]);
    f->host->set_transient_storage(f->ctx, &f->msg->recipient, &k, &v);
    sp -= 2; ip++; NEXT();
}
L_MCOPY: {
    NEED(3); BASE(3);
    u256 d = sp[-1], s = sp[-2], size = sp[-3];
    u256 hi = u256_lt(d, s) ? s : d;
    MEMCHK(hi, size);
    size_t n = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    GAS(3 * words(n));
    if (n) memmove(f->mem + d.w[0], f->mem + s.w[0], n);
    sp -= 3; ip++; NEXT();
}
L_PUSH0: PUSHV(u256_zero());

#define PUSH_N(n) L_PUSH##n: { ROOM(1); BASE(3); *sp++ = u256_load_push(ip + 1, n); ip += (n) + 1; NEXT(); }
L_PUSH1: { ROOM(1); BASE(3); *sp++ = u256_from_u64(ip[1]); ip += 2; NEXT(); }
PUSH_N(2) PUSH_N(3) PUSH_N(4) PUSH_N(5) PUSH_N(6) PUSH_N(7) PUSH_N(8) PUSH_N(9) PUSH_N(10)
PUSH_N(11) PUSH_N(12) PUSH_N(13) PUSH_N(14) PUSH_N(15) PUSH_N(16) PUSH_N(17) PUSH_N(18) PUSH_N(19)
PUSH_N(20) PUSH_N(21) PUSH_N(22) PUSH_N(23) PUSH_N(24) PUSH_N(25) PUSH_N(26) PUSH_N(27) PUSH_N(28)
PUSH_N(29) PUSH_N(30) PUSH_N(31) PUSH_N(32)
#undef PUSH_N

/* DUP/SWAP copy stack items through general registers: the items were usually just written by 8-byte
 * stores, and a 16-byte vector reload of them would defeat store-to-load forwarding. */
#define SLOT_LOAD(v, p) do { v##0 = (p)->w[0]; v##1 = (p)->w[1]; v##2 = (p)->w[2]; v##3 = (p)->w[3]; \
        __asm__("" : "+r"(v##0), "+r"(v##1), "+r"(v##2), "+r"(v##3)); } while (0)
#define SLOT_STORE(p, v) do { (p)->w[0] = v##0; (p)->w[1] = v##1; (p)->w[2] = v##2; (p)->w[3] = v##3; } while (0)
#define DUP_N(n) L_DUP##n: { NEED(n); ROOM(1); BASE(3); uint64_t x0, x1, x2, x3; SLOT_LOAD(x, &sp[-(n)]); \
        SLOT_STORE(sp, x); sp++; ip++; NEXT(); }
DUP_N(1) DUP_N(2) DUP_N(3) DUP_N(4) DUP_N(5) DUP_N(6) DUP_N(7) DUP_N(8) DUP_N(9) DUP_N(10)
DUP_N(11) DUP_N(12) DUP_N(13) DUP_N(14) DUP_N(15) DUP_N(16)
#undef DUP_N

#define SWAP_N(n) L_SWAP##n: { NEED((n) + 1); BASE(3); uint64_t x0, x1, x2, x3, y0, y1, y2, y3; \
        SLOT_LOAD(x, &sp[-1]); SLOT_LOAD(y, &sp[-1 - (n)]); SLOT_STORE(&sp[-1], y); SLOT_STORE(&sp[-1 - (n)], x); \
        ip++; NEXT(); }
SWAP_N(1) SWAP_N(2) SWAP_N(3) SWAP_N(4) SWAP_N(5) SWAP_N(6) SWAP_N(7) SWAP_N(8) SWAP_N(9) SWAP_N(10)
SWAP_N(11) SWAP_N(12) SWAP_N(13) SWAP_N(14) SWAP_N(15) SWAP_N(16)
#undef SWAP_N
#undef SLOT_LOAD
#undef SLOT_STORE

#define LOG_N(n) L_LOG##n: { NEED(2 + (n)); BASE(375 * ((n) + 1)); CALLOP(op_log(f, sp, n, &g_)); sp -= 2 + (n); ip++; NEXT(); }
LOG_N(0) LOG_N(1) LOG_N(2) LOG_N(3) LOG_N(4)
#undef LOG_N

L_CREATE: { NEED(3); BASE(32000); CALLOP(op_create(f, sp, false, &g_)); sp -= 2; ip++; NEXT_BLOCK(); }
L_CREATE2: { NEED(4); BASE(32000); CALLOP(op_create(f, sp, true, &g_)); sp -= 3; ip++; NEXT_BLOCK(); }
L_CALL: { NEED(7); BASE(bg[0xf1]); CALLOP(op_call(f, sp, 0xf1, &g_)); sp -= 6; ip++; NEXT_BLOCK(); }
L_CALLCODE: { NEED(7); BASE(bg[0xf2]); CALLOP(op_call(f, sp, 0xf2, &g_)); sp -= 6; ip++; NEXT_BLOCK(); }
L_DELEGATECALL: { NEED(6); BASE(bg[0xf4]); CALLOP(op_call(f, sp, 0xf4, &g_)); sp -= 5; ip++; NEXT_BLOCK(); }
L_STATICCALL: { NEED(6); BASE(bg[0xfa]); CALLOP(op_call(f, sp, 0xfa, &g_)); sp -= 5; ip++; NEXT_BLOCK(); }
L_RETURN:
L_REVERT: {
    NEED(2);
    u256 off = sp[-1], size = sp[-2];
    MEMCHK(off, size);
    if (!u256_is_zero(size)) { f->out_off = (size_t)off.w[0]; f->out_size = (size_t)size.w[0]; }
    status = *ip == 0xf3 ? EVM_SUCCESS : EVM_REVERT;
    goto done;
}
L_INVALID: status = EVM_INVALID_INSTRUCTION; goto done;
L_SELFDESTRUCT: {
    NEED(1); BASE(bg[0xff]);
    CALLOP(op_selfdestruct(f, sp, &g_));
    status = EVM_SUCCESS; goto done;
}
L_UNDEFINED: status = EVM_UNDEFINED_INSTRUCTION; goto done;

e_oog: status = EVM_OUT_OF_GAS; goto done;
e_mem: status = f->oom ? EVM_OUT_OF_MEMORY : EVM_OUT_OF_GAS; goto done;
e_underflow: status = EVM_STACK_UNDERFLOW; goto done;
e_overflow: status = EVM_STACK_OVERFLOW; goto done;
e_badjump: status = EVM_BAD_JUMP_DESTINATION; goto done;
done:
#if INTERP_TRACED
    (void)0;
#endif
    *gas_io = gas;
    return status;
}

#undef NEXT
#undef BASE
#undef NEXT_BLOCK
#undef ENTER_AT
#undef GAS
#undef NEED
#undef ROOM
#undef BINOP
#undef CMPOP
#undef PUSHV
#undef MEMCHK
#undef MEMCHK_N
#undef CALLOP
#undef JUMP_OK
#undef ACCESS_COLD
