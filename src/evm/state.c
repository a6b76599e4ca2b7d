/* state.c — the EVM world state for one transaction: accounts (nonce, balance, code, storage with
 * original values, transient storage), EIP-2929 warm sets, logs and the journal (snapshots/revert);
 * plus the post-state root and logs hash. */
#include "internal.h"
#include <stdio.h>
#include <stdlib.h>

const evm_bytes32 HS_EMPTY_CODE_HASH = {{
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70}};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) { fprintf(stderr, "evm: out of memory\n"); abort(); }
    return p;
}
static void *xrealloc(void *p, size_t sz)
{
    void *q = realloc(p, sz ? sz : 1);
    if (!q) { fprintf(stderr, "evm: out of memory\n"); abort(); }
    return q;
}

static inline uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    /* 8 bytes at a time (perf: addresses are hashed on every account access; h6) */
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL; h ^= h >> 33;
    return h ^ (h >> 29);
}

void hs_init(hstate *s) { memset(s, 0, sizeof *s); }

void hs_free(hstate *s)
{
    for (size_t i = 0; i < s->acct_cap; i++) {
        hacct *a = s->accts[i];
        if (!a) continue;
        free(a->slots);
        free(a->tslots);
        free(a);
    }
    free(s->accts);
    free(s->j);
    hs_truncate_logs(s, 0);
    free(s->logs);
    for (size_t i = 0; i < s->narena; i++) free(s->arena[i]);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

static hacct **acct_pos(hstate *s, const evm_address *a)
{
    size_t m = s->acct_cap - 1, i = (size_t)hash_bytes(a->bytes, 20) & m;
    while (s->accts[i] && memcmp(s->accts[i]->addr.bytes, a->bytes, 20)) i = (i + 1) & m;
    return &s->accts[i];
}

hacct *hs_find(hstate *s, const evm_address *a)
{
    if (!s->acct_cap) return NULL;
    return *acct_pos(s, a);
}

hacct *hs_get(hstate *s, const evm_address *a)
{
    hacct *x = hs_find(s, a);
    return x && x->exists ? x : NULL;
}

/* the account record (exists or not), made if missing */
hacct *hs_record(hstate *s, const evm_address *a)
{
    if ((s->acct_cnt + 1) * 2 > s->acct_cap) {
        size_t oc = s->acct_cap, nc = oc ? oc * 2 : 64;
        hacct **old = s->accts;
        s->accts = xcalloc(nc, sizeof *s->accts);
        s->acct_cap = nc;
        for (size_t i = 0; i < oc; i++)
            if (old[i]) *acct_pos(s, &old[i]->addr) = old[i];
        free(old);
    }
    hacct **p = acct_pos(s, a);
    if (!*p) {
        hacct *x = xcalloc(1, sizeof *x);
        x->addr = *a;
        x->code_hash = HS_EMPTY_CODE_HASH;
        *p = x;
        s->acct_cnt++;
    }
    return *p;
}

static hjournal *jpush(hstate *s, enum hj_kind k, hacct *a)
{
    if (s->jlen == s->jcap) {
        s->jcap = s->jcap ? s->jcap * 2 : 256;
        s->j = xrealloc(s->j, s->jcap * sizeof *s->j);
    }
    hjournal *e = &s->j[s->jlen++];
    e->kind = (uint8_t)k;
    e->a = a;
    return e;
}

hacct *hs_get_or_create(hstate *s, const evm_address *a)
{
    hacct *x = hs_record(s, a);
    if (!x->exists) {
        jpush(s, HJ_EXISTS, x)->old.flag = false;
        x->exists = true;
    }
    return x;
}

static void *arena_copy(hstate *s, const void *p, size_t n)
{
    if (s->narena == s->arenacap) {
        s->arenacap = s->arenacap ? s->arenacap * 2 : 16;
        s->arena = xrealloc(s->arena, s->arenacap * sizeof *s->arena);
    }
    void *q = xcalloc(n ? n : 1, 1);
    if (n) memcpy(q, p, n);
    s->arena[s->narena++] = q;
    return q;
}

hacct *hs_load(hstate *s, const evm_address *a, uint64_t nonce, hu256 bal, const uint8_t *code, size_t code_size)
{
    hacct *x = hs_record(s, a);
    x->exists = true;
    x->nonce = nonce;
    x->balance = bal;
    x->code = code_size ? arena_copy(s, code, code_size) : NULL;
    x->code_size = code_size;
    if (code_size) evm_keccak256(code, code_size, x->code_hash.bytes);
    else x->code_hash = HS_EMPTY_CODE_HASH;
    return x;
}

static const evm_bytes32 ZERO32;

static inline bool is_zero32(const evm_bytes32 *v)
{
    uint64_t w[4];
    memcpy(w, v->bytes, 32);
    return !(w[0] | w[1] | w[2] | w[3]);
}

hslot *hs_slot(hacct *a, const evm_bytes32 *key, bool insert)
{
    if (!a->slot_cap) {
        if (!insert) return NULL;
        a->slot_cap = 16;
        a->slots = xcalloc(a->slot_cap, sizeof *a->slots);
    }
    size_t m = a->slot_cap - 1, i = (size_t)hash_bytes(key->bytes + 24, 8) & m;
    while (a->slots[i].used && memcmp(a->slots[i].key.bytes, key->bytes, 32)) i = (i + 1) & m;
    if (a->slots[i].used) return &a->slots[i];
    if (!insert) return NULL;
    if ((a->slot_cnt + 1) * 2 > a->slot_cap) {
        size_t oc = a->slot_cap;
        hslot *old = a->slots;
        a->slot_cap *= 2;
        a->slots = xcalloc(a->slot_cap, sizeof *a->slots);
        m = a->slot_cap - 1;
        for (size_t k = 0; k < oc; k++) {
            if (!old[k].used) continue;
            size_t p = (size_t)hash_bytes(old[k].key.bytes + 24, 8) & m;
            while (a->slots[p].used) p = (p + 1) & m;
            a->slots[p] = old[k];
        }
        free(old);
        i = (size_t)hash_bytes(key->bytes + 24, 8) & m;
        while (a->slots[i].used) i = (i + 1) & m;
    }
    a->slots[i].used = 1;
    a->slots[i].key = *key;
    a->slots[i].cur = a->slots[i].orig = ZERO32;
    a->slots[i].warm = 0;
    a->slot_cnt++;
    return &a->slots[i];
}

void hs_load_storage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val)
{
    (void)s;
    hslot *sl = hs_slot(a, key, true);
    sl->cur = sl->orig = *val;
    if (!is_zero32(val)) a->nonempty_storage_pre = true;
}

size_t hs_snapshot(hstate *s) { return s->jlen; }

static htslot *tslot(hacct *a, const evm_bytes32 *key, bool insert)
{
    if (!a->tslot_cap) {
        if (!insert) return NULL;
        a->tslot_cap = 8;
        a->tslots = xcalloc(a->tslot_cap, sizeof *a->tslots);
    }
    size_t m = a->tslot_cap - 1, i = (size_t)hash_bytes(key->bytes + 24, 8) & m;
    while (a->tslots[i].used && memcmp(a->tslots[i].key.bytes, key->bytes, 32)) i = (i + 1) & m;
    if (a->tslots[i].used) return &a->tslots[i];
    if (!insert) return NULL;
    if ((a->tslot_cnt + 1) * 2 > a->tslot_cap) {
        size_t oc = a->tslot_cap;
        htslot *old = a->tslots;
        a->tslot_cap *= 2;
        a->tslots = xcalloc(a->tslot_cap, sizeof *a->tslots);
        m = a->tslot_cap - 1;
        for (size_t k = 0; k < oc; k++) {
            if (!old[k].used) continue;
            size_t p = (size_t)hash_bytes(old[k].key.bytes + 24, 8) & m;
            while (a->tslots[p].used) p = (p + 1) & m;
            a->tslots[p] = old[k];
        }
        free(old);
        i = (size_t)hash_bytes(key->bytes + 24, 8) & m;
        while (a->tslots[i].used) i = (i + 1) & m;
    }
    a->tslots[i].used = 1;
    a->tslots[i].key = *key;
    a->tslots[i].val = ZERO32;
    a->tslot_cnt++;
    return &a->tslots[i];
}

void hs_revert(hstate *s, size_t snap)
{
    while (s->jlen > snap) {
        hjournal *e = &s->j[--s->jlen];
        hacct *a = e->a;
        switch (e->kind) {
        case HJ_BALANCE: a->balance = e->old.bal; break;
        case HJ_NONCE: a->nonce = e->old.nonce; break;
        case HJ_STORAGE: hs_slot(a, &e->key, true)->cur = e->old.val; break;
        case HJ_TSTORE: tslot(a, &e->key, true)->val = e->old.val; break;
        case HJ_CODE: a->code = e->old.code.code; a->code_size = e->old.code.size; a->code_hash = e->old.code.hash; break;
        case HJ_EXISTS: a->exists = e->old.flag; break;
        case HJ_TOUCH: a->touched = e->old.flag; break;
        case HJ_DESTRUCT: a->destructed = e->old.flag; break;
        case HJ_CREATED: a->created = e->old.flag; break;
        case HJ_WARM_ACCT: a->warm = e->old.flag; break;
        case HJ_WARM_SLOT: hs_slot(a, &e->key, true)->warm = e->old.flag; break;
        }
    }
}

void hs_set_balance(hstate *s, hacct *a, hu256 v)
{
    jpush(s, HJ_BALANCE, a)->old.bal = a->balance;
    a->balance = v;
}

void hs_set_nonce(hstate *s, hacct *a, uint64_t n)
{
    jpush(s, HJ_NONCE, a)->old.nonce = a->nonce;
    a->nonce = n;
}

void hs_set_code(hstate *s, hacct *a, const uint8_t *code, size_t n)
{
    hjournal *e = jpush(s, HJ_CODE, a);
    e->old.code.code = a->code;
    e->old.code.size = a->code_size;
    e->old.code.hash = a->code_hash;
    a->code = n ? arena_copy(s, code, n) : NULL;
    a->code_size = n;
    if (n) evm_keccak256(code, n, a->code_hash.bytes);
    else a->code_hash = HS_EMPTY_CODE_HASH;
}

void hs_touch(hstate *s, hacct *a)
{
    if (a->touched) return;
    jpush(s, HJ_TOUCH, a)->old.flag = false;
    a->touched = true;
}

void hs_set_flag_destructed(hstate *s, hacct *a)
{
    jpush(s, HJ_DESTRUCT, a)->old.flag = a->destructed;
    a->destructed = true;
}

void hs_set_flag_created(hstate *s, hacct *a)
{
    jpush(s, HJ_CREATED, a)->old.flag = a->created;
    a->created = true;
}

bool hs_warm_account(hstate *s, hacct *a)
{
    if (a->warm) return true;
    jpush(s, HJ_WARM_ACCT, a)->old.flag = false;
    a->warm = true;
    return false;
}

bool hs_warm_slot(hstate *s, hacct *a, const evm_bytes32 *key)
{
    hslot *sl = hs_slot(a, key, true);
    if (sl->warm) return true;
    hjournal *e = jpush(s, HJ_WARM_SLOT, a);
    e->key = *key;
    e->old.flag = false;
    sl->warm = 1;
    return false;
}

evm_bytes32 hs_get_storage(hacct *a, const evm_bytes32 *key)
{
    hslot *sl = hs_slot(a, key, false);
    return sl ? sl->cur : ZERO32;
}

enum evm_storage_status hs_set_storage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val)
{
    hslot *sl = hs_slot(a, key, true);
    const evm_bytes32 O = sl->orig, C = sl->cur, N = *val;
    if (!memcmp(C.bytes, N.bytes, 32)) return EVM_STORAGE_ASSIGNED;
    hjournal *e = jpush(s, HJ_STORAGE, a);
    e->key = *key;
    e->old.val = C;
    sl->cur = N;
    bool oz = is_zero32(&O), cz = is_zero32(&C), nz = is_zero32(&N);
    bool oc = !memcmp(O.bytes, C.bytes, 32), on = !memcmp(O.bytes, N.bytes, 32);
    if (oc) {
        if (oz) return EVM_STORAGE_ADDED;
        if (nz) return EVM_STORAGE_DELETED;
        return EVM_STORAGE_MODIFIED;
    }
    if (!oz) {
        if (cz) return on ? EVM_STORAGE_DELETED_RESTORED : EVM_STORAGE_DELETED_ADDED;
        if (nz) return EVM_STORAGE_MODIFIED_DELETED;
        if (on) return EVM_STORAGE_MODIFIED_RESTORED;
        return EVM_STORAGE_ASSIGNED;
    }
    if (nz) return EVM_STORAGE_ADDED_DELETED;
    return EVM_STORAGE_ASSIGNED;
}

evm_bytes32 hs_get_tstorage(hacct *a, const evm_bytes32 *key)
{
    htslot *t = tslot(a, key, false);
    return t ? t->val : ZERO32;
}

void hs_set_tstorage(hstate *s, hacct *a, const evm_bytes32 *key, const evm_bytes32 *val)
{
    htslot *t = tslot(a, key, true);
    if (!memcmp(t->val.bytes, val->bytes, 32)) return;
    hjournal *e = jpush(s, HJ_TSTORE, a);
    e->key = *key;
    e->old.val = t->val;
    t->val = *val;
}

void hs_add_log(hstate *s, const evm_address *addr, const uint8_t *data, size_t size,
                const evm_bytes32 *topics, size_t ntopics)
{
    if (s->nlogs == s->logcap) {
        s->logcap = s->logcap ? s->logcap * 2 : 16;
        s->logs = xrealloc(s->logs, s->logcap * sizeof *s->logs);
    }
    hlog *l = &s->logs[s->nlogs++];
    l->addr = *addr;
    l->ntopics = ntopics;
    l->topics = ntopics ? xcalloc(ntopics, sizeof *topics) : NULL;
    if (ntopics) memcpy(l->topics, topics, ntopics * sizeof *topics);
    l->size = size;
    l->data = size ? xcalloc(size, 1) : NULL;
    if (size) memcpy(l->data, data, size);
}

void hs_truncate_logs(hstate *s, size_t n)
{
    while (s->nlogs > n) {
        hlog *l = &s->logs[--s->nlogs];
        free(l->topics);
        free(l->data);
    }
}

bool hacct_is_empty(const hacct *a) { return a->nonce == 0 && hu_is_zero(a->balance) && a->code_size == 0; }

bool hacct_has_storage(const hacct *a)
{
    for (size_t i = 0; i < a->slot_cap; i++)
        if (a->slots[i].used && !is_zero32(&a->slots[i].cur)) return true;
    return false;
}

void hacct_clear_storage(hacct *a)
{
    for (size_t i = 0; i < a->slot_cap; i++)
        if (a->slots[i].used) a->slots[i].cur = ZERO32;
}

static void storage_root(hacct *a, uint8_t out[32])
{
    size_t n = 0;
    for (size_t i = 0; i < a->slot_cap; i++)
        if (a->slots[i].used && !is_zero32(&a->slots[i].cur)) n++;
    trie_kv *kv = xcalloc(n, sizeof *kv);
    uint8_t (*keys)[32] = xcalloc(n, 32);
    uint8_t (*vals)[33] = xcalloc(n, 33);
    size_t k = 0;
    for (size_t i = 0; i < a->slot_cap; i++) {
        hslot *sl = &a->slots[i];
        if (!sl->used || is_zero32(&sl->cur)) continue;
        evm_keccak256(sl->key.bytes, 32, keys[k]);
        size_t z = 0;
        while (sl->cur.bytes[z] == 0) z++;
        hbuf v = {0};
        rlp_put_bytes(&v, sl->cur.bytes + z, 32 - z);
        memcpy(vals[k], v.p, v.len);
        kv[k] = (trie_kv){keys[k], 32, vals[k], v.len};
        hbuf_free(&v);
        k++;
    }
    trie_root(kv, n, out);
    free(kv);
    free(keys);
    free(vals);
}

void hs_state_root(hstate *s, uint8_t out[32])
{
    size_t n = 0;
    for (size_t i = 0; i < s->acct_cap; i++)
        if (s->accts[i] && s->accts[i]->exists) n++;
    trie_kv *kv = xcalloc(n, sizeof *kv);
    uint8_t (*keys)[32] = xcalloc(n, 32);
    hbuf *vals = xcalloc(n, sizeof *vals);
    size_t k = 0;
    for (size_t i = 0; i < s->acct_cap; i++) {
        hacct *a = s->accts[i];
        if (!a || !a->exists) continue;
        evm_keccak256(a->addr.bytes, 20, keys[k]);
        uint8_t sr[32];
        storage_root(a, sr);
        hbuf pl = {0};
        rlp_put_u64(&pl, a->nonce);
        rlp_put_u256(&pl, a->balance);
        rlp_put_bytes(&pl, sr, 32);
        rlp_put_bytes(&pl, a->code_hash.bytes, 32);
        rlp_put_list(&vals[k], pl.p, pl.len);
        hbuf_free(&pl);
        kv[k] = (trie_kv){keys[k], 32, vals[k].p, vals[k].len};
        k++;
    }
    trie_root(kv, n, out);
    for (size_t i = 0; i < n; i++) hbuf_free(&vals[i]);
    free(vals);
    free(kv);
    free(keys);
}

void hs_logs_hash(hstate *s, uint8_t out[32])
{
    hbuf all = {0};
    for (size_t i = 0; i < s->nlogs; i++) {
        hlog *l = &s->logs[i];
        hbuf pl = {0}, tp = {0};
        rlp_put_bytes(&pl, l->addr.bytes, 20);
        for (size_t t = 0; t < l->ntopics; t++) rlp_put_bytes(&tp, l->topics[t].bytes, 32);
        rlp_put_list(&pl, tp.p, tp.len);
        rlp_put_bytes(&pl, l->data, l->size);
        rlp_put_list(&all, pl.p, pl.len);
        hbuf_free(&pl);
        hbuf_free(&tp);
    }
    hbuf lst = {0};
    rlp_put_list(&lst, all.p, all.len);
    evm_keccak256(lst.p, lst.len, out);
    hbuf_free(&lst);
    hbuf_free(&all);
}
