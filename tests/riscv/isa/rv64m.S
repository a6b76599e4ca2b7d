# rv64m.S — RV64M: multiply (low/high, signed/unsigned/mixed), divide and remainder including the
# RISC-V division-by-zero and overflow results, and the W forms' sign extension.
#include "isa.inc"
        TEST_BEGIN
        TEST_RR 1, mul, 0xfffffffe00000001, 0xffffffff, 0xffffffff
        TEST_RR 2, mul, -6, 2, -3
        TEST_RR 3, mul, 0, 0x8000000000000000, 2
        TEST_RR 4, mulh, 0xffffffffffffffff, -1, 1
        TEST_RR 5, mulh, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000
        TEST_RR 6, mulhu, 0xfffffffffffffffe, -1, -1
        TEST_RR 7, mulhu, 0, 0x80000000, 0x80000000
        TEST_RR 8, mulhsu, 0xffffffffffffffff, -1, -1
        TEST_RR 9, mulhsu, 0xc000000000000000, 0x8000000000000000, 0x8000000000000000
        TEST_RR 10, mulh, 0xffffffffffffffff, 0x8000000000000000, 1
        TEST_RR 11, mulw, 0xffffffff80000000, 0x40000000, 2
        TEST_RR 12, mulw, 1, 0x1ffffffff, 0xffffffff
        TEST_RR 13, div, -3, 7, -2
        TEST_RR 14, div, 3, -7, -2
        TEST_RR 15, div, -1, 7, 0                          # divide by zero: all ones
        TEST_RR 16, div, 0x8000000000000000, 0x8000000000000000, -1   # overflow: dividend
        TEST_RR 17, divu, 0x7fffffffffffffff, -1, 2
        TEST_RR 18, divu, -1, 5, 0
        TEST_RR 19, rem, 1, 7, -2
        TEST_RR 20, rem, -1, -7, 2
        TEST_RR 21, rem, 7, 7, 0                           # remainder by zero: dividend
        TEST_RR 22, rem, 0, 0x8000000000000000, -1         # overflow: 0
        TEST_RR 23, remu, 1, -1, 2
        TEST_RR 24, remu, 9, 9, 0
        TEST_RR 25, divw, 0xffffffff80000000, 0x80000000, -1   # 32-bit overflow
        TEST_RR 26, divw, -1, 0x123400000007, 0              # upper bits ignored, /0
        TEST_RR 27, divw, -3, 7, 0xfffffffe
        TEST_RR 28, divuw, 0x7fffffff, 0xffffffff, 2
        TEST_RR 29, divuw, -1, 5, 0x100000000                  # divisor's low word is 0
        TEST_RR 30, remw, 0, 0x80000000, -1
        TEST_RR 31, remw, 0xfffffffffffffff9, 0xfffffff9, 0
        TEST_RR 32, remuw, 0xffffffff80000001, 0x80000001, 0
        TEST_RR 33, remuw, 1, 0xffffffff, 2
        TEST_RR 34, divuw, 0xffffffff80000000, 0x80000000, 1     # result sign-extended
        TEST_RR 35, mul, 0x1fffffd000001, 0xffffff, 0x1ffffff
        TEST_END
