/* fpu.h — RISC-V F and D arithmetic (internal to src/riscv): IEEE 754-2008 exact results for every
 * static rounding mode, with the accrued exception flags RISC-V defines (fflags), RISC-V NaN rules
 * (canonical NaN results, signalling-NaN invalid), and RISC-V conversion saturation. Values are raw
 * bit patterns; NaN-boxing of single-precision values in 64-bit registers is the hart's job.
 * rm is always a resolved static mode 0..4 (the hart resolves DYN from frm and raises illegal
 * instruction for reserved modes before calling). Every function ORs raised flags into *fl. */
#ifndef VMK_RISCV_FPU_H
#define VMK_RISCV_FPU_H
#include <stdint.h>

enum { RV_RM_RNE = 0, RV_RM_RTZ = 1, RV_RM_RDN = 2, RV_RM_RUP = 3, RV_RM_RMM = 4, RV_RM_DYN = 7 };
enum { RV_FF_NX = 1, RV_FF_UF = 2, RV_FF_OF = 4, RV_FF_DZ = 8, RV_FF_NV = 16 };
#define RV_F32_CANON_NAN 0x7fc00000u
#define RV_F64_CANON_NAN 0x7ff8000000000000ull

#define RV_FPU_DECL(T, p) \
    T p##_add(T a, T b, int rm, uint32_t *fl); \
    T p##_sub(T a, T b, int rm, uint32_t *fl); \
    T p##_mul(T a, T b, int rm, uint32_t *fl); \
    T p##_div(T a, T b, int rm, uint32_t *fl); \
    T p##_sqrt(T a, int rm, uint32_t *fl); \
    T p##_madd(T a, T b, T c, int rm, uint32_t *fl);   /*  a*b + c, single rounding */ \
    T p##_msub(T a, T b, T c, int rm, uint32_t *fl);   /*  a*b - c */ \
    T p##_nmsub(T a, T b, T c, int rm, uint32_t *fl);  /* -a*b + c */ \
    T p##_nmadd(T a, T b, T c, int rm, uint32_t *fl);  /* -a*b - c */ \
    T p##_min(T a, T b, uint32_t *fl);                 /* IEEE 754-2019 minimumNumber, -0 < +0 */ \
    T p##_max(T a, T b, uint32_t *fl); \
    int p##_eq(T a, T b, uint32_t *fl);                /* quiet: NV only for sNaN */ \
    int p##_lt(T a, T b, uint32_t *fl);                /* signalling: NV for any NaN */ \
    int p##_le(T a, T b, uint32_t *fl); \
    uint32_t p##_classify(T a);                        /* FCLASS bit mask */ \
    int32_t  p##_to_i32(T a, int rm, uint32_t *fl);    /* saturating, NV on out-of-range/NaN */ \
    uint32_t p##_to_u32(T a, int rm, uint32_t *fl); \
    int64_t  p##_to_i64(T a, int rm, uint32_t *fl); \
    uint64_t p##_to_u64(T a, int rm, uint32_t *fl); \
    T p##_from_i32(int32_t v, int rm, uint32_t *fl); \
    T p##_from_u32(uint32_t v, int rm, uint32_t *fl); \
    T p##_from_i64(int64_t v, int rm, uint32_t *fl); \
    T p##_from_u64(uint64_t v, int rm, uint32_t *fl);

RV_FPU_DECL(uint32_t, rv_f32)
RV_FPU_DECL(uint64_t, rv_f64)

uint64_t rv_f32_to_f64(uint32_t a, uint32_t *fl);          /* exact; sNaN -> NV, NaN -> canonical */
uint32_t rv_f64_to_f32(uint64_t a, int rm, uint32_t *fl);

#endif
