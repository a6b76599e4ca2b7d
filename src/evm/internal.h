/* internal.h — internal interfaces of the EVM host side (owned by the host/state engineer):
 * a small 256-bit helper for balances, RLP encoding, the Merkle Patricia Trie root, the world state with
 * its journal, the host interface (message calls) and transaction processing. Not part of the public API. */
#ifndef VMK_EVM_INTERNAL_H
#define VMK_EVM_INTERNAL_H
#include "evm.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- 256-bit unsigned (little-endian 64-bit limbs), just what fees and balances need ---- */
typedef struct hu256 { uint64_t w[4]; } hu256;

static inline hu256 hu_from_u64(uint64_t v) { hu256 r = {{v, 0, 0, 0}}; return r; }
static inline bool hu_is_zero(hu256 a) { return !(a.w[0] | a.w[1] | a.w[2] | a.w[3]); }
static inline int hu_cmp(hu256 a, hu256 b)
{
    for (int i = 3; i >= 0; i--)
        if (a.w[i] != b.w[i]) return a.w[i] < b.w[i] ? -1 : 1;
    return 0;
}
/* returns carry (true on overflow) */
static inline bool hu_add(hu256 *r, hu256 a, hu256 b)
{
    unsigned __int128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (unsigned __int128)a.w[i] + b.w[i];
        r->w[i] = (uint64_t)c;
        c >>= 64;
    }
    return c != 0;
}
/* returns borrow (true if a < b) */
static inline bool hu_sub(hu256 *r, hu256 a, hu256 b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a.w[i], y = b.w[i];
        uint64_t d = x - y - borrow;
        borrow = (x < y) || (x == y && borrow) ? 1 : 0;
        r->w[i] = d;
    }
    return borrow != 0;
}
/* returns true on overflow past 256 bits */
static inline bool hu_mul(hu256 *r, hu256 a, hu256 b)
{
    uint64_t t[8] = {0};
    for (int i = 0; i < 4; i++) {
        unsigned __int128 c = 0;
        for (int j = 0; j < 4; j++) {
            c += (unsigned __int128)a.w[i] * b.w[j] + t[i + j];
            t[i + j] = (uint64_t)c;
            c >>= 64;
        }
        t[i + 4] = (uint64_t)c;
    }
    memcpy(r->w, t, 32);
    return (t[4] | t[5] | t[6] | t[7]) != 0;
}
static inline hu256 hu_from_be(const evm_uint256be *b)
{
    hu256 r;
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++) v = (v << 8) | b->bytes[(3 - i) * 8 + k];
        r.w[i] = v;
    }
    return r;
}
static inline evm_uint256be hu_to_be(hu256 a)
{
    evm_uint256be b;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++) b.bytes[(3 - i) * 8 + k] = (uint8_t)(a.w[i] >> (56 - 8 * k));
    return b;
}
static inline hu256 hu_min(hu256 a, hu256 b) { return hu_cmp(a, b) <= 0 ? a : b; }
/* fits in 64 bits */
static inline bool hu_fits64(hu256 a) { return !(a.w[1] | a.w[2] | a.w[3]); }

/* ---- growable byte buffer ---- */
typedef struct hbuf { uint8_t *p; size_t len, cap; } hbuf;
void hbuf_put(hbuf *b, const void *data, size_t n);
void hbuf_free(hbuf *b);

/* ---- RLP (rlp.c) ---- */
/* Appends the RLP string encoding of data. */
void rlp_put_bytes(hbuf *b, const uint8_t *data, size_t n);
/* Appends an integer as a minimal big-endian RLP string (0 -> empty string). */
void rlp_put_u64(hbuf *b, uint64_t v);
void rlp_put_u256(hbuf *b, hu256 v);
/* Wraps the payload in a list header and appends it to b. */
void rlp_put_list(hbuf *b, const uint8_t *payload, size_t n);
/* Decoding: one item at p[0..n). Returns 0 and fills the item or -1 on malformed input
 * (non-canonical sizes, truncation). */
typedef struct rlp_item { bool is_list; const uint8_t *payload; size_t payload_len; size_t total_len; } rlp_item;
int rlp_decode(const uint8_t *p, size_t n, rlp_item *it);
/* Recursively validates a whole item (depth-limited) and that it spans exactly n bytes. Returns the
 * number of items seen, or -1. */
long rlp_validate(const uint8_t *p, size_t n);

/* ---- Merkle Patricia Trie root (trie.c) ---- */
typedef struct trie_kv { const uint8_t *key; size_t key_len; const uint8_t *val; size_t val_len; } trie_kv;
/* Root hash of the trie holding these pairs (keys need not be sorted; must be distinct; values
 * non-empty). kv is reordered. Empty -> keccak(rlp("")) = 56e81f... */
void trie_root(trie_kv *kv, size_t n, uint8_t out[32]);

/* ---- world state with journal (state.c) ---- */
typedef struct hslot { evm_bytes32 key, cur, orig; uint8_t used, warm; } hslot;
typedef struct htslot { evm_bytes32 key, val; uint8_t used; } htslot;

typedef struct hacct {
    evm_address addr;
    uint64_t    nonce;
    hu256       balance;
    const uint8_t *code; size_t code_size; evm_bytes32 code_hash;
    hslot      *slots; size_t slot_cap, slot_cnt;       /* open addressing, never shrinks */
    htslot     *tslots; size_t tslot_cap, tslot_cnt;
    bool exists;        /* present in the state */
    bool touched;       /* EIP-161: delete at tx end if empty */
    bool destructed;    /* selfdestructed in this tx */
    bool created;       /* created in this tx (EIP-6780) */
    bool warm;          /* EIP-2929 accessed */
    bool nonempty_storage_pre; /* had non-zero storage at load time */
} hacct;

typedef struct hlog { evm_address addr; evm_bytes32 *topics; size_t ntopics; uint8_t *data; size_t size; } hlog;

enum hj_kind { HJ_BALANCE, HJ_NONCE, HJ_STORAGE, HJ_TSTORE, HJ_CODE, HJ_EXISTS, HJ_TOUCH, HJ_DESTRUCT,
               HJ_CREATED, HJ_WARM_ACCT, HJ_WARM_SLOT };
typedef struct hjournal {
    uint8_t kind;
    hacct *a;
    evm_bytes32 key;
    union { hu256 bal; uint64_t nonce; evm_bytes32 val; bool flag;
            struct { const uint8_t *code; size_t size; evm_bytes32 hash; } code; } old;
} hjournal;

typedef struct hstate {
    hacct **accts; size_t acct_cap, acct_cnt;          /* open addressing on address */
    hjournal *j; size_t jlen, jcap;
    hlog *logs; size_t nlogs, logcap;
    void **arena; size_t narena, arenacap;             /* code buffers owned by the state */
} hstate;

void    hs_init(hstate *s);
void    hs_free(hstate *s);
hacct  *hs_find(hstate *s, const evm_address *a);      /* NULL if never seen (may be !exists) */
hacct  *hs_record(hstate *s, const evm_address *a);    /* the record (made, !exists, if missing) */
hacct  *hs_get(hstate *s, const evm_address *a);       /* existing account or NULL */
/* Gets or makes an existing account (journaled creation). */
hacct  *hs_get_or_create(hstate *s, const evm_address *a);
/* Loads an account without journaling (pre-state). */
hacct  *hs_load(hstate *s, const evm_address *a, uint64_t nonce, hu256 bal, const uint8_t *code, size_t code_size);
void    hs_load_storage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val);
size_t  hs_snapshot(hstate *s);
void    hs_revert(hstate *s, size_t snap);
void    hs_set_balance(hstate *s, hacct *a, hu256 v);
void    hs_set_nonce(hstate *s, hacct *a, uint64_t n);
void    hs_set_code(hstate *s, hacct *a, const uint8_t *code, size_t n);   /* copies */
void    hs_touch(hstate *s, hacct *a);
void    hs_set_flag_destructed(hstate *s, hacct *a);
void    hs_set_flag_created(hstate *s, hacct *a);
bool    hs_warm_account(hstate *s, hacct *a);          /* returns previous warm */
hslot  *hs_slot(hacct *a, const evm_bytes32 *key, bool insert);
bool    hs_warm_slot(hstate *s, hacct *a, const evm_bytes32 *key); /* returns previous warm */
evm_bytes32 hs_get_storage(hacct *a, const evm_bytes32 *key);
enum evm_storage_status hs_set_storage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val);
evm_bytes32 hs_get_tstorage(hacct *a, const evm_bytes32 *key);
void    hs_set_tstorage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val);
void    hs_add_log(hstate *s, const evm_address *addr, const uint8_t *data, size_t size,
                   const evm_bytes32 *topics, size_t ntopics);
void    hs_truncate_logs(hstate *s, size_t n);
bool    hacct_is_empty(const hacct *a);
bool    hacct_has_storage(const hacct *a);
/* Clears all storage of a (non-journaled; used at tx end for deleted accounts). */
void    hacct_clear_storage(hacct *a);
/* State root and logs hash. */
void    hs_state_root(hstate *s, uint8_t out[32]);
void    hs_logs_hash(hstate *s, uint8_t out[32]);
extern const evm_bytes32 HS_EMPTY_CODE_HASH;
/* EIP-7702 delegation designator: code is exactly 0xef0100 || 20-byte address */
static inline bool hs_is_delegation(const uint8_t *code, size_t n)
{
    return n == 23 && code[0] == 0xef && code[1] == 0x01 && code[2] == 0x00;
}

/* ---- host (host.c) ---- */
typedef struct hblockenv {
    evm_address coinbase;
    int64_t number, timestamp, gas_limit;
    hu256 base_fee, blob_base_fee;
    evm_bytes32 prev_randao;      /* difficulty before Paris, random after */
    evm_bytes32 chain_id;
} hblockenv;

typedef struct hhost {
    hstate *st;
    enum evm_revision rev;
    const hblockenv *env;
    evm_tx_context txc;
} hhost;
extern const evm_host_interface hhost_iface;
/* Message call/creation from a transaction or from the interpreter's call callback. */
evm_result hhost_call(hhost *h, const evm_message *msg);

/* ---- transactions (tx.c) ---- */
typedef struct haccess { evm_address addr; evm_bytes32 *keys; size_t nkeys; } haccess;
/* EIP-7702 authorization tuple (chain id, delegate address, nonce, signature y parity, r, s) */
typedef struct hauth { hu256 chain_id, y_parity, r, s; evm_address addr; uint64_t nonce; } hauth;
typedef struct htx {
    int type;                     /* 0 legacy, 1 access list, 2 EIP-1559, 3 blob, 4 set code (EIP-7702) */
    evm_address sender;
    bool is_create;
    evm_address to;
    uint64_t nonce;
    int64_t gas_limit;
    hu256 value, gas_price, max_fee, max_priority_fee, max_fee_per_blob_gas;
    const uint8_t *data; size_t data_size;
    const haccess *access; size_t naccess;
    const evm_bytes32 *blob_hashes; size_t nblob;
    const hauth *auth; size_t nauth;  /* type 4 authorization list */
    bool invalid_encoding;        /* a field did not fit its type (e.g. value >= 2^256): reject */
} htx;
typedef struct htx_result {
    const char *error;            /* NULL if valid; else the rejection reason (state untouched) */
    enum evm_status status;
    int64_t gas_used;
} htx_result;
/* Validates and executes tx on st; on rejection st is unchanged. */
htx_result htx_apply(hstate *st, enum evm_revision rev, const hblockenv *env, const htx *tx);
/* End of transaction (and of the state test's block): touches the coinbase, deletes selfdestructed
 * accounts and (EIP-161) touched empty ones. Call after htx_apply, whether or not the tx was valid. */
void       htx_finalize(hstate *st, enum evm_revision rev, const hblockenv *env);
/* Intrinsic gas of tx (base, data, create, access list, initcode words, EIP-7702 authorizations). */
int64_t    htx_intrinsic_gas(enum evm_revision rev, const htx *tx);
/* EIP-7623 (Prague+) calldata floor: 21000 + 10 * (zero bytes + 4 * nonzero bytes); 0 before Prague. */
int64_t    htx_floor_gas(enum evm_revision rev, const htx *tx);
/* EIP-4844/7691 blob schedule of a revision: max blobs per block, base-fee update fraction. */
int        htx_max_blobs(enum evm_revision rev);
uint64_t   htx_blob_fee_fraction(enum evm_revision rev);

/* ---- state-test runner (statetest.c) ---- */
typedef struct st_opts {
    int  fork;                    /* -1: every fork in the file; else a bit mask of revisions (1 << rev) */
    bool trace;                   /* EIP-3155 trace lines to stderr */
    int  bench;                   /* >0: time each selected case this many times */
} st_opts;
typedef struct st_counts {
    long pass[EVM_MAX_REVISION + 1], fail[EVM_MAX_REVISION + 1];
    long unknown_fork;            /* post entries for forks we do not know (ignored) */
    long file_errors;             /* unreadable/malformed files */
} st_counts;
/* Runs every case of one state-test file; prints one "FAIL <id>: ..." line per failing case to out
 * (id = file:test:fork:d:g:v) and, with bench, BENCH lines. Returns 0, or -1 if the file could not be
 * read/parsed (a one-line error is printed to stderr and counted in file_errors). */
int  st_run_file(const char *path, const st_opts *o, st_counts *c, FILE *out);
/* Same for a JSON text already in memory (name is used in messages). */
int  st_run_json(const char *name, const char *buf, size_t len, const st_opts *o, st_counts *c, FILE *out);
/* Executes code against an empty state (for `vmkit evm run`). */
int  st_run_code(const uint8_t *code, size_t code_size, const uint8_t *input, size_t input_size,
                 int64_t gas, enum evm_revision rev, bool trace, FILE *out);
/* Parses hex ("0x" optional; whitespace not allowed) into a malloc'd buffer. Returns -1 on bad hex. */
int  st_parse_hex(const char *s, uint8_t **out, size_t *len);
/* Installs/uninstalls the EIP-3155 stderr tracer. */
void st_trace_enable(bool on);

#endif
