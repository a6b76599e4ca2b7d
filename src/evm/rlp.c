/* rlp.c — Recursive Length Prefix encoding (and a strict decoder/validator) plus the growable byte
 * buffer used across the EVM host side. */
#include "internal.h"
#include <stdlib.h>
#include <stdio.h>

void hbuf_put(hbuf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->len + n) nc *= 2;
        uint8_t *p = realloc(b->p, nc);
        if (!p) { fprintf(stderr, "evm: out of memory\n"); abort(); }
        b->p = p;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void hbuf_free(hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void put_len(hbuf *b, size_t n, uint8_t base)
{
    if (n < 56) {
        uint8_t h = (uint8_t)(base + n);
        hbuf_put(b, &h, 1);
        return;
    }
    uint8_t tmp[9];
    int k = 0;
    for (size_t v = n; v; v >>= 8) k++;
    tmp[0] = (uint8_t)(base + 55 + k);
    for (int i = 0; i < k; i++) tmp[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    hbuf_put(b, tmp, (size_t)k + 1);
}

void rlp_put_bytes(hbuf *b, const uint8_t *data, size_t n)
{
    if (n == 1 && data[0] < 0x80) {
        hbuf_put(b, data, 1);
        return;
    }
    put_len(b, n, 0x80);
    hbuf_put(b, data, n);
}

void rlp_put_u64(hbuf *b, uint64_t v)
{
    uint8_t tmp[8];
    int k = 0;
    for (uint64_t x = v; x; x >>= 8) k++;
    for (int i = 0; i < k; i++) tmp[i] = (uint8_t)(v >> (8 * (k - 1 - i)));
    rlp_put_bytes(b, tmp, (size_t)k);
}

void rlp_put_u256(hbuf *b, hu256 v)
{
    evm_uint256be be = hu_to_be(v);
    size_t i = 0;
    while (i < 32 && be.bytes[i] == 0) i++;
    rlp_put_bytes(b, be.bytes + i, 32 - i);
}

void rlp_put_list(hbuf *b, const uint8_t *payload, size_t n)
{
    put_len(b, n, 0xc0);
    hbuf_put(b, payload, n);
}

int rlp_decode(const uint8_t *p, size_t n, rlp_item *it)
{
    if (n == 0) return -1;
    uint8_t h = p[0];
    size_t hl, pl;
    if (h < 0x80) {
        it->is_list = false; it->payload = p; it->payload_len = 1; it->total_len = 1;
        return 0;
    }
    bool list = h >= 0xc0;
    uint8_t base = list ? 0xc0 : 0x80;
    if (h - base < 56) {
        hl = 1;
        pl = (size_t)(h - base);
        if (!list && pl == 1 && n >= 2 && p[1] < 0x80) return -1;   /* should be a single byte */
    } else {
        size_t k = (size_t)(h - base - 55);
        if (k > 8 || n < 1 + k || p[1] == 0) return -1;             /* leading zero in length */
        pl = 0;
        for (size_t i = 0; i < k; i++) pl = (pl << 8) | p[1 + i];
        if (pl < 56) return -1;                                      /* should be a short form */
        hl = 1 + k;
    }
    if (pl > n - hl) return -1;
    it->is_list = list; it->payload = p + hl; it->payload_len = pl; it->total_len = hl + pl;
    return 0;
}

static long validate(const uint8_t *p, size_t n, int depth)
{
    rlp_item it;
    if (depth > 64 || rlp_decode(p, n, &it)) return -1;
    if (!it.is_list) return 1;
    long count = 1;
    size_t off = 0;
    while (off < it.payload_len) {
        rlp_item sub;
        if (rlp_decode(it.payload + off, it.payload_len - off, &sub)) return -1;
        long c = validate(it.payload + off, sub.total_len, depth + 1);
        if (c < 0) return -1;
        count += c;
        off += sub.total_len;
    }
    return count;
}

long rlp_validate(const uint8_t *p, size_t n)
{
    rlp_item it;
    if (rlp_decode(p, n, &it) || it.total_len != n) return -1;
    return validate(p, n, 0);
}
