/* trie.c — Merkle Patricia Trie root over a set of (key, value) pairs (Ethereum yellow paper, App. D):
 * builds the nodes bottom-up from the sorted keys; nodes whose RLP is < 32 bytes are embedded. */
#include "internal.h"
#include <stdlib.h>

static int kv_cmp(const void *a, const void *b)
{
    const trie_kv *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static inline unsigned nib(const trie_kv *kv, size_t i)
{
    uint8_t b = kv->key[i / 2];
    return (i & 1) ? (b & 15u) : (b >> 4);
}

/* hex-prefix encoding of nibbles [from, to) of key, with the leaf flag */
static void put_hp(hbuf *out, const trie_kv *kv, size_t from, size_t to, bool leaf)
{
    hbuf tmp = {0};
    size_t n = to - from;
    uint8_t flag = leaf ? 2 : 0, b;
    if (n & 1) {
        b = (uint8_t)(((flag | 1) << 4) | nib(kv, from));
        from++;
    } else {
        b = (uint8_t)(flag << 4);
    }
    hbuf_put(&tmp, &b, 1);
    for (size_t i = from; i < to; i += 2) {
        b = (uint8_t)((nib(kv, i) << 4) | nib(kv, i + 1));
        hbuf_put(&tmp, &b, 1);
    }
    rlp_put_bytes(out, tmp.p, tmp.len);
    hbuf_free(&tmp);
}

/* Appends the reference to the node for kv[0..n) at nibble depth d: embedded RLP if < 32 bytes, else
 * the RLP string of its hash. */
static void node_ref(hbuf *out, trie_kv *kv, size_t n, size_t d);

static void node_rlp(hbuf *node, trie_kv *kv, size_t n, size_t d)
{
    size_t nibs = kv[0].key_len * 2;
    hbuf pl = {0};
    if (n == 1) {
        put_hp(&pl, &kv[0], d, nibs, true);
        rlp_put_bytes(&pl, kv[0].val, kv[0].val_len);
        rlp_put_list(node, pl.p, pl.len);
        hbuf_free(&pl);
        return;
    }
    /* common prefix of the first and last (sorted) keys */
    size_t cp = d;
    while (cp < nibs && nib(&kv[0], cp) == nib(&kv[n - 1], cp)) cp++;
    if (cp > d) {
        put_hp(&pl, &kv[0], d, cp, false);
        node_ref(&pl, kv, n, cp);
        rlp_put_list(node, pl.p, pl.len);
        hbuf_free(&pl);
        return;
    }
    /* branch; a key ending exactly here goes to the value slot (only with variable-length keys) */
    size_t i = 0;
    const trie_kv *here = NULL;
    if (kv[0].key_len * 2 == d) { here = &kv[0]; i = 1; }
    for (unsigned c = 0; c < 16; c++) {
        size_t j = i;
        while (j < n && nib(&kv[j], d) == c) j++;
        if (j == i) {
            uint8_t e = 0x80;
            hbuf_put(&pl, &e, 1);
        } else {
            node_ref(&pl, kv + i, j - i, d + 1);
        }
        i = j;
    }
    if (here) rlp_put_bytes(&pl, here->val, here->val_len);
    else { uint8_t e = 0x80; hbuf_put(&pl, &e, 1); }
    rlp_put_list(node, pl.p, pl.len);
    hbuf_free(&pl);
}

static void node_ref(hbuf *out, trie_kv *kv, size_t n, size_t d)
{
    hbuf node = {0};
    node_rlp(&node, kv, n, d);
    if (node.len < 32) {
        hbuf_put(out, node.p, node.len);
    } else {
        uint8_t h[32];
        evm_keccak256(node.p, node.len, h);
        rlp_put_bytes(out, h, 32);
    }
    hbuf_free(&node);
}

void trie_root(trie_kv *kv, size_t n, uint8_t out[32])
{
    if (n == 0) {
        uint8_t e = 0x80;
        evm_keccak256(&e, 1, out);
        return;
    }
    qsort(kv, n, sizeof *kv, kv_cmp);
    hbuf node = {0};
    node_rlp(&node, kv, n, 0);
    evm_keccak256(node.p, node.len, out);   /* the root is always hashed */
    hbuf_free(&node);
}
