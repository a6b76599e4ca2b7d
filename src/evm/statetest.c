/* statetest.c — the Ethereum JSON state-test runner behind `vmkit evm statetest`: parses env/pre/
 * transaction/post with cJSON, runs every (fork, data, gas, value) case on a fresh state, compares the
 * post-state root, logs hash and expected exception; optional EIP-3155 tracing and benchmarking. */
#include "internal.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* ---------- small parsers (all input untrusted) ---------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int st_parse_hex(const char *s, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!s) return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n & 1) return -1;
    uint8_t *b = malloc(n / 2 + 1);
    if (!b) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0) { free(b); return -1; }
        b[i] = (uint8_t)(h * 16 + l);
    }
    *out = b;
    *len = n / 2;
    return 0;
}

/* number "0x..." (or decimal) into 256 bits; returns -1 if malformed or too large */
static int parse_u256(const cJSON *j, hu256 *v)
{
    *v = hu_from_u64(0);
    if (!cJSON_IsString(j)) return -1;
    const char *s = j->valuestring;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        while (*s == '0') s++;
        size_t n = strlen(s);
        if (n > 64) return -1;
        for (size_t i = 0; i < n; i++) {
            int d = hexval(s[i]);
            if (d < 0) return -1;
            size_t bit = (n - 1 - i) * 4;
            v->w[bit / 64] |= (uint64_t)d << (bit % 64);
        }
        return 0;
    }
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        hu256 t;
        if (hu_mul(&t, *v, hu_from_u64(10)) || hu_add(v, t, hu_from_u64((uint64_t)(*s - '0')))) return -1;
    }
    return 0;
}

static int parse_u64(const cJSON *j, uint64_t *v)
{
    hu256 x;
    if (parse_u256(j, &x) || !hu_fits64(x)) return -1;
    *v = x.w[0];
    return 0;
}

static int parse_b32(const cJSON *j, evm_bytes32 *b)
{
    hu256 x;
    if (parse_u256(j, &x)) return -1;
    *b = hu_to_be(x);
    return 0;
}

static int parse_addr(const cJSON *j, evm_address *a)
{
    uint8_t *b;
    size_t n;
    if (!cJSON_IsString(j) || st_parse_hex(j->valuestring, &b, &n)) return -1;
    if (n != 20) { free(b); return -1; }
    memcpy(a->bytes, b, 20);
    free(b);
    return 0;
}

static int parse_bytes(const cJSON *j, uint8_t **out, size_t *len)
{
    if (!cJSON_IsString(j)) return -1;
    const char *s = j->valuestring;
    /* ":label name :raw 0x..." style (benchmarks) */
    if (s[0] == ':') {
        const char *r = strstr(s, ":raw ");
        if (!r) return -1;
        s = r + 5;
    }
    return st_parse_hex(s, out, len);
}

/* ---------- parsed test ---------- */
typedef struct pacct {
    evm_address addr; uint64_t nonce; hu256 bal; uint8_t *code; size_t code_size;
    evm_bytes32 *skeys, *svals; size_t nslots;
} pacct;

typedef struct ptest {
    const char *name;
    hblockenv env;
    evm_bytes32 difficulty, random; bool has_random;
    uint64_t excess_blob_gas; bool has_excess;
    pacct *pre; size_t npre;
    /* transaction */
    htx base;
    bool bad_nonce, bad_sender;
    uint8_t **data; size_t *data_len; size_t ndata;
    int64_t *gas; bool *gas_bad; size_t ngas;
    hu256 *value; bool *value_bad; size_t nvalue;
    haccess **al; size_t *nal; bool *has_al; size_t nal_lists;
    bool any_al;
    evm_bytes32 *blobs; size_t nblobs;
    hauth *auth; size_t nauth;
    const cJSON *labels;
} ptest;

static void free_test(ptest *t)
{
    for (size_t i = 0; i < t->npre; i++) {
        free(t->pre[i].code);
        free(t->pre[i].skeys);
        free(t->pre[i].svals);
    }
    free(t->pre);
    for (size_t i = 0; i < t->ndata; i++) free(t->data[i]);
    free(t->data);
    free(t->data_len);
    free(t->gas);
    free(t->gas_bad);
    free(t->value);
    free(t->value_bad);
    for (size_t i = 0; i < t->nal_lists; i++) {
        for (size_t k = 0; k < t->nal[i]; k++) free(t->al[i][k].keys);
        free(t->al[i]);
    }
    free(t->al);
    free(t->nal);
    free(t->has_al);
    free(t->blobs);
    free(t->auth);
    memset(t, 0, sizeof *t);
}

/* blob base fee = fake_exponential(1, excess, fraction), saturating at 2^256-1; the fraction is the
 * fork's (EIP-4844 3338477, EIP-7691 Prague 5007716) */
static hu256 blob_base_fee(uint64_t excess, uint64_t denom)
{
    /* accumulate in 256 bits with an early exit on overflow */
    hu256 out = hu_from_u64(0), acc = hu_from_u64(denom), num = hu_from_u64(excess);
    for (uint64_t i = 1; !hu_is_zero(acc); i++) {
        if (hu_add(&out, out, acc)) goto sat;
        hu256 t;
        if (hu_mul(&t, acc, num)) goto sat;
        /* t / (denom * i) by long division on limbs (divisor fits in 64 bits for sane i) */
        unsigned __int128 d = (unsigned __int128)denom * i;
        if (d >> 64) goto sat;
        uint64_t dv = (uint64_t)d;
        unsigned __int128 rem = 0;
        for (int k = 3; k >= 0; k--) {
            unsigned __int128 cur = (rem << 64) | t.w[k];
            acc.w[k] = (uint64_t)(cur / dv);
            rem = cur % dv;
        }
    }
    {
        unsigned __int128 rem = 0;
        for (int k = 3; k >= 0; k--) {
            unsigned __int128 cur = (rem << 64) | out.w[k];
            out.w[k] = (uint64_t)(cur / denom);
            rem = cur % denom;
        }
    }
    return out;
sat:
    out.w[0] = out.w[1] = out.w[2] = out.w[3] = UINT64_MAX;
    return out;
}

static int parse_access_list(const cJSON *j, haccess **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(j)) return -1;
    size_t cnt = (size_t)cJSON_GetArraySize(j);
    haccess *a = calloc(cnt ? cnt : 1, sizeof *a);
    if (!a) return -1;
    *out = a;
    *n = cnt;   /* entries are zeroed, so the caller can free all of them even after a parse error */
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (parse_addr(cJSON_GetObjectItemCaseSensitive(e, "address"), &a[i].addr)) return -1;
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(e, "storageKeys");
        size_t nk = cJSON_IsArray(keys) ? (size_t)cJSON_GetArraySize(keys) : 0;
        a[i].keys = calloc(nk ? nk : 1, sizeof *a[i].keys);
        if (!a[i].keys) return -1;
        const cJSON *k;
        size_t x = 0;
        if (nk) cJSON_ArrayForEach(k, keys) { if (parse_b32(k, &a[i].keys[x++])) return -1; }
        a[i].nkeys = nk;
        i++;
    }
    return 0;
}

#define FIELD(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* returns NULL on success or a message */
static const char *parse_test(const cJSON *jt, ptest *t)
{
    memset(t, 0, sizeof *t);
    t->name = jt->string;
    const cJSON *env = FIELD(jt, "env"), *pre = FIELD(jt, "pre"), *tx = FIELD(jt, "transaction");
    if (!cJSON_IsObject(env) || !cJSON_IsObject(pre) || !cJSON_IsObject(tx)) return "missing env/pre/transaction";
    const cJSON *info = FIELD(jt, "_info");
    t->labels = info ? FIELD(info, "labels") : NULL;
    uint64_t u;
    if (parse_addr(FIELD(env, "currentCoinbase"), &t->env.coinbase)) return "bad env.currentCoinbase";
    if (parse_u64(FIELD(env, "currentGasLimit"), &u) || u > INT64_MAX) return "bad env.currentGasLimit";
    t->env.gas_limit = (int64_t)u;
    if (parse_u64(FIELD(env, "currentNumber"), &u) || u > INT64_MAX) return "bad env.currentNumber";
    t->env.number = (int64_t)u;
    if (parse_u64(FIELD(env, "currentTimestamp"), &u) || u > INT64_MAX) return "bad env.currentTimestamp";
    t->env.timestamp = (int64_t)u;
    if (FIELD(env, "currentDifficulty") && parse_b32(FIELD(env, "currentDifficulty"), &t->difficulty))
        return "bad env.currentDifficulty";
    if (FIELD(env, "currentRandom")) {
        if (parse_b32(FIELD(env, "currentRandom"), &t->random)) return "bad env.currentRandom";
        t->has_random = true;
    }
    if (FIELD(env, "currentBaseFee") && parse_u256(FIELD(env, "currentBaseFee"), &t->env.base_fee))
        return "bad env.currentBaseFee";
    if (FIELD(env, "currentExcessBlobGas")) {
        if (parse_u64(FIELD(env, "currentExcessBlobGas"), &t->excess_blob_gas)) return "bad env.currentExcessBlobGas";
        t->has_excess = true;
    }
    t->env.chain_id = hu_to_be(hu_from_u64(1));

    /* pre */
    size_t np = (size_t)cJSON_GetArraySize(pre);
    t->pre = calloc(np ? np : 1, sizeof *t->pre);
    if (!t->pre) return "out of memory";
    const cJSON *ja;
    cJSON_ArrayForEach(ja, pre) {
        pacct *a = &t->pre[t->npre++];
        cJSON tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.type = cJSON_String;
        tmp.valuestring = ja->string;
        if (!ja->string || parse_addr(&tmp, &a->addr)) return "bad pre address";
        if (parse_u64(FIELD(ja, "nonce"), &a->nonce)) return "bad pre nonce";
        if (parse_u256(FIELD(ja, "balance"), &a->bal)) return "bad pre balance";
        if (parse_bytes(FIELD(ja, "code"), &a->code, &a->code_size)) return "bad pre code";
        const cJSON *st = FIELD(ja, "storage");
        if (st && !cJSON_IsObject(st)) return "bad pre storage";
        size_t ns = st ? (size_t)cJSON_GetArraySize(st) : 0;
        a->skeys = calloc(ns ? ns : 1, 32);
        a->svals = calloc(ns ? ns : 1, 32);
        if (!a->skeys || !a->svals) return "out of memory";
        const cJSON *js;
        if (st) cJSON_ArrayForEach(js, st) {
            memset(&tmp, 0, sizeof tmp);
            tmp.type = cJSON_String;
            tmp.valuestring = js->string;
            if (!js->string || parse_b32(&tmp, &a->skeys[a->nslots]) || parse_b32(js, &a->svals[a->nslots]))
                return "bad pre storage slot";
            a->nslots++;
        }
    }

    /* transaction */
    htx *b = &t->base;
    const cJSON *to = FIELD(tx, "to");
    if (!cJSON_IsString(to)) return "bad transaction.to";
    if (to->valuestring[0] == 0) b->is_create = true;
    else if (parse_addr(to, &b->to)) return "bad transaction.to";
    if (parse_addr(FIELD(tx, "sender"), &b->sender)) return "bad or missing transaction.sender";
    if (parse_u64(FIELD(tx, "nonce"), &b->nonce)) t->bad_nonce = true;
    const cJSON *gp = FIELD(tx, "gasPrice"), *mf = FIELD(tx, "maxFeePerGas"), *mp = FIELD(tx, "maxPriorityFeePerGas");
    if (mf || mp) {
        b->type = 2;
        if (parse_u256(mf, &b->max_fee) || parse_u256(mp, &b->max_priority_fee)) b->invalid_encoding = true;
    } else {
        if (parse_u256(gp, &b->gas_price)) b->invalid_encoding = true;
    }
    const cJSON *bh = FIELD(tx, "blobVersionedHashes");
    if (bh) {
        b->type = 3;
        if (!cJSON_IsArray(bh)) return "bad transaction.blobVersionedHashes";
        t->nblobs = (size_t)cJSON_GetArraySize(bh);
        t->blobs = calloc(t->nblobs ? t->nblobs : 1, 32);
        if (!t->blobs) return "out of memory";
        size_t i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, bh) if (parse_b32(e, &t->blobs[i++])) return "bad blob versioned hash";
        if (parse_u256(FIELD(tx, "maxFeePerBlobGas"), &b->max_fee_per_blob_gas)) b->invalid_encoding = true;
    }
    const cJSON *data = FIELD(tx, "data"), *gl = FIELD(tx, "gasLimit"), *val = FIELD(tx, "value");
    if (!cJSON_IsArray(data) || !cJSON_IsArray(gl) || !cJSON_IsArray(val)) return "transaction data/gasLimit/value must be arrays";
    t->ndata = (size_t)cJSON_GetArraySize(data);
    t->ngas = (size_t)cJSON_GetArraySize(gl);
    t->nvalue = (size_t)cJSON_GetArraySize(val);
    t->data = calloc(t->ndata + 1, sizeof *t->data);
    t->data_len = calloc(t->ndata + 1, sizeof *t->data_len);
    t->gas = calloc(t->ngas + 1, sizeof *t->gas);
    t->gas_bad = calloc(t->ngas + 1, sizeof *t->gas_bad);
    t->value = calloc(t->nvalue + 1, sizeof *t->value);
    t->value_bad = calloc(t->nvalue + 1, sizeof *t->value_bad);
    if (!t->data || !t->data_len || !t->gas || !t->gas_bad || !t->value || !t->value_bad) return "out of memory";
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, data) {
        if (parse_bytes(e, &t->data[i], &t->data_len[i])) return "bad transaction.data entry";
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(e, gl) {
        if (parse_u64(e, &u) || u > INT64_MAX) t->gas_bad[i] = true;
        else t->gas[i] = (int64_t)u;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(e, val) { if (parse_u256(e, &t->value[i])) t->value_bad[i] = true; i++; }
    const cJSON *au = FIELD(tx, "authorizationList");
    if (au) {
        /* EIP-7702 set-code transaction */
        if (!cJSON_IsArray(au)) return "bad transaction.authorizationList";
        b->type = 4;
        t->nauth = (size_t)cJSON_GetArraySize(au);
        t->auth = calloc(t->nauth ? t->nauth : 1, sizeof *t->auth);
        if (!t->auth) return "out of memory";
        i = 0;
        cJSON_ArrayForEach(e, au) {
            hauth *x = &t->auth[i++];
            if (!cJSON_IsObject(e) || parse_addr(FIELD(e, "address"), &x->addr)) return "bad authorization address";
            const cJSON *yp = FIELD(e, "yParity") ? FIELD(e, "yParity") : FIELD(e, "v");
            if (parse_u256(FIELD(e, "chainId"), &x->chain_id) || parse_u64(FIELD(e, "nonce"), &x->nonce) ||
                parse_u256(yp, &x->y_parity) || parse_u256(FIELD(e, "r"), &x->r) || parse_u256(FIELD(e, "s"), &x->s))
                b->invalid_encoding = true;
        }
    }
    const cJSON *al = FIELD(tx, "accessLists");
    if (al && cJSON_IsArray(al)) {
        t->any_al = true;
        if (b->type == 0) b->type = 1;
        t->nal_lists = (size_t)cJSON_GetArraySize(al);
        t->al = calloc(t->nal_lists + 1, sizeof *t->al);
        t->nal = calloc(t->nal_lists + 1, sizeof *t->nal);
        t->has_al = calloc(t->nal_lists + 1, sizeof *t->has_al);
        if (!t->al || !t->nal || !t->has_al) return "out of memory";
        i = 0;
        cJSON_ArrayForEach(e, al) {
            if (!cJSON_IsNull(e)) {
                if (parse_access_list(e, &t->al[i], &t->nal[i])) return "bad access list";
                t->has_al[i] = true;
            }
            i++;
        }
    }
    return NULL;
}

static void load_state(const ptest *t, hstate *s)
{
    hs_init(s);
    for (size_t i = 0; i < t->npre; i++) {
        const pacct *p = &t->pre[i];
        hacct *a = hs_load(s, &p->addr, p->nonce, p->bal, p->code, p->code_size);
        for (size_t k = 0; k < p->nslots; k++)
            if (!hu_is_zero(hu_from_be(&p->svals[k]))) hs_load_storage(s, a, &p->skeys[k], &p->svals[k]);
    }
}

/* builds the transaction for indexes; returns false if an index is out of range */
static bool make_tx(const ptest *t, size_t d, size_t g, size_t v, htx *tx)
{
    if (d >= t->ndata || g >= t->ngas || v >= t->nvalue) return false;
    *tx = t->base;
    tx->data = t->data[d];
    tx->data_size = t->data_len[d];
    tx->gas_limit = t->gas[g];
    tx->value = t->value[v];
    if (t->gas_bad[g] || t->value_bad[v] || t->bad_nonce) tx->invalid_encoding = true;
    if (t->any_al && d < t->nal_lists && t->has_al[d]) {
        tx->access = t->al[d];
        tx->naccess = t->nal[d];
    } else if (t->any_al && tx->type == 1) {
        tx->type = 0;   /* no list for this data index: a legacy transaction */
    }
    tx->blob_hashes = t->blobs;
    tx->nblob = t->nblobs;
    tx->auth = t->auth;
    tx->nauth = t->nauth;
    return true;
}

static void hex32(const uint8_t *b, char *out)
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static const char *short_path(const char *p)
{
    const char *g = strstr(p, "GeneralStateTests/");
    return g ? g + strlen("GeneralStateTests/") : p;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---------- EIP-3155 tracer ---------- */
static void trace_step(void *tctx, const evm_trace_step *s)
{
    (void)tctx;
    char buf[8192];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "{\"pc\":%llu,\"op\":%u,\"gas\":\"0x%llx\",\"gasCost\":\"0x%llx\",\"memSize\":%zu,\"stack\":[",
                          (unsigned long long)s->pc, s->op, (unsigned long long)s->gas,
                          (unsigned long long)s->gas_cost, s->mem_size);
    fputs(buf, stderr);
    for (size_t i = 0; i < s->stack_size; i++) {
        const uint8_t *b = s->stack[i].bytes;
        size_t z = 0;
        while (z < 31 && b[z] == 0) z++;
        char h[80];
        size_t k = 0;
        k += (size_t)sprintf(h, "%s\"0x%x", i ? "," : "", b[z]);
        for (size_t j = z + 1; j < 32; j++) k += (size_t)sprintf(h + k, "%02x", b[j]);
        h[k++] = '"';
        h[k] = 0;
        fputs(h, stderr);
    }
    fprintf(stderr, "],\"depth\":%d,\"refund\":%lld,\"opName\":\"%s\"}\n", s->depth + 1, (long long)s->refund,
            s->op_name ? s->op_name : "");
}

void st_trace_enable(bool on) { evm_set_tracer(on ? trace_step : NULL, NULL); }

/* ---------- running ---------- */
static const char *const FORKS[] = {"Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople",
                                    "ConstantinopleFix", "Istanbul", "Berlin", "London", "Merge", "Shanghai",
                                    "Cancun", "Prague"};
static int fork_rev(const char *name)
{
    for (size_t i = 0; i < sizeof FORKS / sizeof *FORKS; i++)
        if (!strcmp(FORKS[i], name)) return (int)i;
    if (!strcmp(name, "Paris")) return EVM_PARIS;
    if (!strcmp(name, "Petersburg")) return EVM_PETERSBURG;
    return -1;
}

static void env_for_rev(ptest *t, int rev)
{
    t->env.prev_randao = (rev >= EVM_PARIS && t->has_random) ? t->random : t->difficulty;
    t->env.blob_base_fee = blob_base_fee(t->excess_blob_gas, htx_blob_fee_fraction((enum evm_revision)rev));
}

static int run_test(const char *path, const cJSON *jt, const st_opts *o, st_counts *c, FILE *out)
{
    ptest t;
    const char *err = parse_test(jt, &t);
    const char *sp = short_path(path);
    const cJSON *post = FIELD(jt, "post");
    if (err || !cJSON_IsObject(post)) {
        fprintf(stderr, "evm statetest: %s: test %s: %s\n", path, jt->string ? jt->string : "?",
                err ? err : "missing post");
        free_test(&t);
        return -1;
    }
    /* bench: only the newest fork present (or the selected one) */
    int bench_rev = -1;
    if (o->bench > 0) {
        const cJSON *pf;
        cJSON_ArrayForEach(pf, post) {
            int r = fork_rev(pf->string);
            if (r >= 0 && r > bench_rev && (o->fork < 0 || (o->fork >> r & 1))) bench_rev = r;
        }
    }
    const cJSON *pf;
    cJSON_ArrayForEach(pf, post) {
        int rev = fork_rev(pf->string);
        if (rev < 0) { c->unknown_fork += cJSON_GetArraySize(pf); continue; }
        if (o->fork >= 0 && !(o->fork >> rev & 1)) continue;
        if (o->bench > 0 && rev != bench_rev) continue;
        env_for_rev(&t, rev);
        const cJSON *pc;
        cJSON_ArrayForEach(pc, pf) {
            const cJSON *ix = FIELD(pc, "indexes");
            const cJSON *jd = ix ? FIELD(ix, "data") : NULL, *jg = ix ? FIELD(ix, "gas") : NULL,
                        *jv = ix ? FIELD(ix, "value") : NULL;
            char id[1024];
            int d = cJSON_IsNumber(jd) ? jd->valueint : -1, g = cJSON_IsNumber(jg) ? jg->valueint : -1,
                v = cJSON_IsNumber(jv) ? jv->valueint : -1;
            snprintf(id, sizeof id, "%s:%s:%s:%d:%d:%d", sp, t.name, pf->string, d, g, v);
            htx tx;
            if (d < 0 || g < 0 || v < 0 || !make_tx(&t, (size_t)d, (size_t)g, (size_t)v, &tx)) {
                fprintf(out, "FAIL %s: bad indexes\n", id);
                c->fail[rev]++;
                continue;
            }
            const cJSON *jh = FIELD(pc, "hash"), *jl = FIELD(pc, "logs"), *je = FIELD(pc, "expectException");
            uint8_t *want_root = NULL, *want_logs = NULL;
            size_t nr = 0, nl = 0;
            if (!cJSON_IsString(jh) || st_parse_hex(jh->valuestring, &want_root, &nr) || nr != 32) {
                fprintf(out, "FAIL %s: bad or missing post hash\n", id);
                c->fail[rev]++;
                free(want_root);
                continue;
            }
            if (jl && (!cJSON_IsString(jl) || st_parse_hex(jl->valuestring, &want_logs, &nl) || nl != 32)) {
                free(want_logs);
                want_logs = NULL;
            }
            const char *want_exc = cJSON_IsString(je) ? je->valuestring : NULL;

            hstate s;
            htx_result r;
            if (o->bench > 0) {
                double *ts = calloc((size_t)o->bench, sizeof *ts);
                if (!ts) { free(want_root); free(want_logs); continue; }
                for (int k = 0; k < o->bench; k++) {
                    load_state(&t, &s);
                    double t0 = now_us();
                    r = htx_apply(&s, (enum evm_revision)rev, &t.env, &tx);
                    ts[k] = now_us() - t0;
                    htx_finalize(&s, (enum evm_revision)rev, &t.env);
                    if (k + 1 < o->bench) hs_free(&s);
                }
                qsort(ts, (size_t)o->bench, sizeof *ts, dcmp);
                double med = ts[o->bench / 2];
                char dl[32];
                snprintf(dl, sizeof dl, "%d", d);
                const cJSON *lab = t.labels ? FIELD(t.labels, dl) : NULL;
                fprintf(out, "BENCH %s %s %d:%d:%d %s median_us=%.1f gas=%lld mgas_s=%.2f\n", sp, t.name, d, g, v,
                        cJSON_IsString(lab) ? lab->valuestring : "-", med, (long long)r.gas_used,
                        med > 0 ? (double)r.gas_used / med : 0.0);
                free(ts);
            } else {
                load_state(&t, &s);
                if (o->trace) st_trace_enable(true);
                r = htx_apply(&s, (enum evm_revision)rev, &t.env, &tx);
                if (o->trace) st_trace_enable(false);
                htx_finalize(&s, (enum evm_revision)rev, &t.env);
            }
            uint8_t root[32], logs[32];
            hs_state_root(&s, root);
            hs_logs_hash(&s, logs);
            if (o->trace) {
                char rh[65];
                hex32(root, rh);
                fprintf(stderr, "{\"stateRoot\":\"0x%s\",\"gasUsed\":\"0x%llx\",\"error\":\"%s\"}\n", rh,
                        (long long)r.gas_used, r.error ? r.error : evm_status_name(r.status));
            }
            char wh[65], gh[65];
            bool ok = true;
            char why[512] = "";
            if (want_exc && !r.error) {
                ok = false;
                snprintf(why, sizeof why, "expected exception %s, got none (status %s)", want_exc,
                         evm_status_name(r.status));
            } else if (!want_exc && r.error) {
                ok = false;
                snprintf(why, sizeof why, "unexpected exception %s", r.error);
            } else if (memcmp(root, want_root, 32)) {
                ok = false;
                hex32(want_root, wh);
                hex32(root, gh);
                snprintf(why, sizeof why, "root expected %s got %s (status %s, gas %lld)", wh, gh,
                         r.error ? r.error : evm_status_name(r.status), (long long)r.gas_used);
            } else if (want_logs && memcmp(logs, want_logs, 32)) {
                ok = false;
                hex32(want_logs, wh);
                hex32(logs, gh);
                snprintf(why, sizeof why, "logs expected %s got %s", wh, gh);
            }
            if (ok) c->pass[rev]++;
            else {
                c->fail[rev]++;
                fprintf(out, "FAIL %s: %s\n", id, why);
            }
            hs_free(&s);
            free(want_root);
            free(want_logs);
        }
    }
    free_test(&t);
    return 0;
}

static int run_file_impl(const char *path, const st_opts *o, st_counts *c, FILE *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "evm statetest: cannot open %s: %s\n", path, strerror(errno));
        c->file_errors++;
        return -1;
    }
    if (fseek(f, 0, SEEK_END) || ftell(f) < 0) {
        fprintf(stderr, "evm statetest: cannot read %s\n", path);
        fclose(f);
        c->file_errors++;
        return -1;
    }
    long sz = ftell(f);
    rewind(f);
    if (sz > (1L << 30)) {
        fprintf(stderr, "evm statetest: %s: file too large\n", path);
        fclose(f);
        c->file_errors++;
        return -1;
    }
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "evm statetest: cannot read %s\n", path);
        free(buf);
        fclose(f);
        c->file_errors++;
        return -1;
    }
    fclose(f);
    buf[sz] = 0;
    int rc = st_run_json(path, buf, (size_t)sz, o, c, out);
    free(buf);
    return rc;
}

int st_run_json(const char *path, const char *buf, size_t len, const st_opts *o, st_counts *c, FILE *out)
{
    cJSON *root = cJSON_ParseWithLength(buf, len);
    if (!root || !cJSON_IsObject(root)) {
        fprintf(stderr, "evm statetest: %s: malformed JSON (not a state-test object)\n", path);
        cJSON_Delete(root);
        c->file_errors++;
        return -1;
    }
    int rc = 0;
    const cJSON *jt;
    cJSON_ArrayForEach(jt, root) {
        if (!cJSON_IsObject(jt)) {
            fprintf(stderr, "evm statetest: %s: %s is not a test object\n", path, jt->string ? jt->string : "?");
            rc = -1;
            continue;
        }
        if (run_test(path, jt, o, c, out)) rc = -1;
    }
    if (rc) c->file_errors++;
    cJSON_Delete(root);
    return rc;
}

static int run_code_impl(const uint8_t *code, size_t code_size, const uint8_t *input, size_t input_size,
                         int64_t gas, enum evm_revision rev, bool trace, FILE *out)
{
    hstate s;
    hs_init(&s);
    evm_address self, caller;
    memset(&self, 0, sizeof self);
    memset(&caller, 0, sizeof caller);
    self.bytes[19] = 0xaa;   /* 0x...aa runs the code */
    caller.bytes[19] = 0xcc;
    hs_load(&s, &self, 1, hu_from_u64(0), code, code_size);
    hs_load(&s, &caller, 0, hu_from_u64(0), NULL, 0);
    hblockenv env;
    memset(&env, 0, sizeof env);
    env.gas_limit = INT64_MAX;
    env.number = 1;
    env.timestamp = 1;
    env.chain_id = hu_to_be(hu_from_u64(1));
    hhost h;
    memset(&h, 0, sizeof h);
    h.st = &s;
    h.rev = rev;
    h.env = &env;
    h.txc.tx_origin = caller;
    h.txc.block_number = 1;
    h.txc.block_timestamp = 1;
    h.txc.block_gas_limit = env.gas_limit;
    h.txc.chain_id = env.chain_id;
    if (rev >= EVM_BERLIN) {
        hs_warm_account(&s, hs_record(&s, &self));
        hs_warm_account(&s, hs_record(&s, &caller));
    }
    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = EVM_CALL;
    m.gas = gas;
    m.recipient = m.code_address = self;
    m.sender = caller;
    m.input_data = input;
    m.input_size = input_size;
    if (trace) st_trace_enable(true);
    evm_result r = evm_execute(&hhost_iface, &h, rev, &m, code, code_size);
    if (trace) st_trace_enable(false);
    fprintf(out, "status: %s\ngas used: %lld\noutput: ", evm_status_name(r.status), (long long)(gas - r.gas_left));
    for (size_t i = 0; i < r.output_size; i++) fprintf(out, "%02x", r.output_data[i]);
    fputc('\n', out);
    int rc = r.status == EVM_SUCCESS ? 0 : 1;
    evm_release_result(&r);
    hs_free(&s);
    return rc;
}

/* 1024 nested calls need more than the default 8 MiB stack (much more under ASan): run each file on a
 * thread with a large, lazily committed stack. */
enum { BIG_STACK = 1024u << 20 };
typedef struct job {
    int kind, rc;
    const char *path; const st_opts *o; st_counts *c; FILE *out;
    const uint8_t *code, *input; size_t code_size, input_size; int64_t gas; enum evm_revision rev; bool trace;
} job;

static void *job_main(void *arg)
{
    job *j = arg;
    if (j->kind == 0) j->rc = run_file_impl(j->path, j->o, j->c, j->out);
    else j->rc = run_code_impl(j->code, j->code_size, j->input, j->input_size, j->gas, j->rev, j->trace, j->out);
    return NULL;
}

static int run_job(job *j)
{
    pthread_attr_t a;
    pthread_t t;
    if (pthread_attr_init(&a) || pthread_attr_setstacksize(&a, BIG_STACK) || pthread_create(&t, &a, job_main, j)) {
        pthread_attr_destroy(&a);
        job_main(j);   /* fall back to the current stack */
        return j->rc;
    }
    pthread_attr_destroy(&a);
    pthread_join(t, NULL);
    return j->rc;
}

int st_run_file(const char *path, const st_opts *o, st_counts *c, FILE *out)
{
    job j = {.kind = 0, .path = path, .o = o, .c = c, .out = out};
    return run_job(&j);
}

int st_run_code(const uint8_t *code, size_t code_size, const uint8_t *input, size_t input_size, int64_t gas,
                enum evm_revision rev, bool trace, FILE *out)
{
    job j = {.kind = 1, .code = code, .code_size = code_size, .input = input, .input_size = input_size,
             .gas = gas, .rev = rev, .trace = trace, .out = out};
    return run_job(&j);
}
