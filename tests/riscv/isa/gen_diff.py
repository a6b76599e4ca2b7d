#!/usr/bin/env python3
"""gen_diff.py — random RV64GC instruction sequences for the differential tests (diff.t.sh).

Each generated program is a static Linux user program (linked with u_link.ld) that sets every
integer and FP register and a 256-byte buffer to seeded random values, runs LEN random instructions
(RV64I, M, A with LR/SC pairs, F and D with random static and dynamic rounding modes, fcsr
accesses, forward branches, loads/stores (some misaligned), explicitly compressed forms and
whatever gas compresses, operand pairs that make exact rounding ties),
then prints every register (x1, x3..x31; sp is not compared), f0..f31, fcsr and the buffer as one
hex word per line. The same file runs on qemu-riscv64 and on vmkit's hart; the outputs must match.

usage: gen_diff.py --seed N --count K --len L --out DIR
"""
import argparse
import os
import random

XR = [1, 3, 4, 5, 6, 7] + list(range(9, 32))    # not x0, sp (x2), s0 (x8: buffer base)
XC = list(range(9, 16))                          # compressible registers except the base
FR = list(range(32))
RMS = ["rne", "rtz", "rdn", "rup", "rmm", "dyn", ""]   # "" = default (dyn)
BUF = 256

SPECIAL64 = [0, 1, -1, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffff, 0x80000000, 0x7fffffff,
             0xffffffff80000000, 2, 3, -2, 0x100000000, 0xfffffffffffff800]
DSPECIAL = [0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
            0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0x7ff0000000000001,
            0x0000000000000001, 0x000fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff,
            0x43e0000000000000, 0xc3e0000000000000, 0x41e0000000000000, 0x3ca0000000000000,
            0x4340000000000001, 0x3fe0000000000000, 0x41efffffffe00000]
SSPECIAL = [0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
            0x7f800001, 0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x4f000000, 0xcf000000,
            0x5f000000, 0x33800000, 0x4b800001, 0x3f000000]


def u64(v):
    return v & 0xffffffffffffffff


class Gen:
    def __init__(self, rng, length):
        self.r = rng
        self.length = length
        self.out = []
        self.label = 0

    def x(self):
        return "x%d" % self.r.choice(XR)

    def xsrc(self):
        return "x%d" % self.r.choice(XR + [0, 8])

    def f(self):
        return "f%d" % self.r.choice(FR)

    def rm(self):
        m = self.r.choice(RMS)
        return (", " + m) if m else ""

    def val64(self):
        k = self.r.random()
        if k < 0.3:
            return u64(self.r.choice(SPECIAL64))
        if k < 0.5:
            return u64(self.r.randint(-2048, 2047))
        if k < 0.6:
            return u64(self.r.getrandbits(32))
        if k < 0.7:
            # p+1 significant bits ending in 1: an exact tie when converted to single/double
            p = self.r.choice([24, 53])
            v = ((1 << p) | (2 * self.r.getrandbits(p - 1) + 1)) << self.r.randint(0, 63 - p - 1)
            return u64(-v if self.r.random() < 0.5 else v)
        return self.r.getrandbits(64)

    def fpat(self):
        k = self.r.random()
        if k < 0.3:
            return self.r.choice(DSPECIAL)
        if k < 0.55:
            return 0xffffffff00000000 | self.r.choice(SSPECIAL)
        if k < 0.7:
            return 0xffffffff00000000 | self.r.getrandbits(32)
        if k < 0.73:
            return self.r.getrandbits(64)     # a single-precision op sees a non-boxed value
        if k < 0.82:
            # neighbouring exponents: sums and differences are often exact ties (RNE vs RMM)
            if self.r.random() < 0.5:
                e = self.r.randint(1022, 1024)
                return (self.r.getrandbits(1) << 63) | (e << 52) | self.r.getrandbits(52)
            e = self.r.randint(126, 128)
            return 0xffffffff00000000 | (self.r.getrandbits(1) << 31) | (e << 23) | self.r.getrandbits(23)
        # a double with a moderate exponent (interesting rounding)
        e = self.r.randint(1023 - 60, 1023 + 60)
        return (self.r.getrandbits(1) << 63) | (e << 52) | self.r.getrandbits(52)

    def emit(self, s):
        self.out.append("        " + s)

    # ---- instruction classes ----
    def alu_rr(self):
        op = self.r.choice(["add", "sub", "and", "or", "xor", "sll", "srl", "sra", "slt", "sltu",
                            "addw", "subw", "sllw", "srlw", "sraw"])
        rd = self.x()
        rs1 = rd if self.r.random() < 0.3 else self.xsrc()
        if op in ("and", "or", "xor", "sub", "addw", "subw") and self.r.random() < 0.3:
            rd = rs1 = "x%d" % self.r.choice(XC)    # c.and/c.or/c.xor/c.sub/c.addw/c.subw
            self.emit("%s %s, %s, x%d" % (op, rd, rs1, self.r.choice(XC + [8])))
            return
        self.emit("%s %s, %s, %s" % (op, rd, rs1, self.xsrc()))

    def alu_ri(self):
        op = self.r.choice(["addi", "andi", "ori", "xori", "slti", "sltiu", "slli", "srli", "srai",
                            "addiw", "slliw", "srliw", "sraiw"])
        if op in ("slli", "srli", "srai"):
            imm = self.r.randint(0, 63)
        elif op in ("slliw", "srliw", "sraiw"):
            imm = self.r.randint(0, 31)
        else:
            imm = self.r.choice([self.r.randint(-2048, 2047), self.r.randint(-32, 31), 0, -1, 1])
        rd = self.x()
        rs1 = rd if self.r.random() < 0.4 else self.xsrc()
        self.emit("%s %s, %s, %d" % (op, rd, rs1, imm))

    def compressed(self):
        rd = "x%d" % self.r.choice(XC)
        k = self.r.randint(0, 8)
        if k == 0:
            self.emit("c.li %s, %d" % (rd, self.r.randint(-32, 31)))
        elif k == 1:
            self.emit("c.addi %s, %d" % (rd, self.r.choice([i for i in range(-32, 32) if i])))
        elif k == 2:
            self.emit("c.slli %s, %d" % (rd, self.r.randint(1, 63)))
        elif k == 3:
            self.emit("c.srli %s, %d" % (rd, self.r.randint(1, 63)))
        elif k == 4:
            self.emit("c.srai %s, %d" % (rd, self.r.randint(1, 63)))
        elif k == 5:
            self.emit("c.andi %s, %d" % (rd, self.r.randint(-32, 31)))
        elif k == 6:
            self.emit("c.addiw %s, %d" % (rd, self.r.randint(-32, 31)))
        elif k == 7:
            self.emit("c.lui %s, %d" % (rd, self.r.choice(list(range(1, 32)) + list(range(0xfffe0, 0x100000)))))
        else:
            self.emit("c.mv %s, x%d" % (rd, self.r.choice(XR)))

    def lui(self):
        if self.r.random() < 0.8:
            self.emit("lui %s, 0x%x" % (self.x(), self.r.getrandbits(20)))
        else:
            self.emit("auipc %s, 0x%x" % (self.x(), self.r.getrandbits(20)))

    def muldiv(self):
        op = self.r.choice(["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
                            "mulw", "divw", "divuw", "remw", "remuw"])
        self.emit("%s %s, %s, %s" % (op, self.x(), self.xsrc(), self.xsrc()))

    def off(self, size):
        # mostly aligned; sometimes misaligned (the hart and qemu-user both do these in hardware)
        if self.r.random() < 0.15:
            return self.r.randrange(0, BUF - size + 1)
        return self.r.randrange(0, BUF - size + 1, size)

    def load(self):
        op, size = self.r.choice([("ld", 8), ("lw", 4), ("lwu", 4), ("lh", 2), ("lhu", 2), ("lb", 1), ("lbu", 1)])
        off = self.off(size)
        rd = "x%d" % self.r.choice(XC) if self.r.random() < 0.3 else self.x()
        self.emit("%s %s, %d(x8)" % (op, rd, off))

    def store(self):
        op, size = self.r.choice([("sd", 8), ("sw", 4), ("sh", 2), ("sb", 1)])
        off = self.off(size)
        self.emit("%s %s, %d(x8)" % (op, self.xsrc(), off))

    def sp_mem(self):
        # sp points at the buffer: c.ldsp/c.sdsp/c.lwsp/c.swsp/c.fldsp/c.fsdsp forms
        k = self.r.randint(0, 5)
        op, size, fp = [("ld", 8, 0), ("sd", 8, 0), ("lw", 4, 0), ("sw", 4, 0), ("fld", 8, 1), ("fsd", 8, 1)][k]
        off = self.r.randrange(0, BUF - size + 1, size)
        reg = self.f() if fp else (self.x() if op[0] == "l" else self.xsrc())
        self.emit("%s %s, %d(sp)" % (op, reg, off))

    def loop(self):
        # a short counted backward loop; its counter (x30) is not written by the body
        n = self.r.randint(1, 6)
        self.label += 1
        lab = "B%d" % self.label
        self.emit("li x30, %d" % n)
        self.out.append("%s:" % lab)
        saved = XR[:]
        XR.remove(30)
        try:
            for _ in range(self.r.randint(1, 5)):
                self.simple()
        finally:
            XR[:] = saved
        self.emit("addi x30, x30, -1")
        self.emit("bnez x30, %s" % lab)

    def call(self):
        # jal/jalr with link registers: the link values are addresses, identical on both sides
        self.label += 1
        lab = "J%d" % self.label
        if self.r.random() < 0.5:
            self.emit("jal %s, %s" % (self.x(), lab))
        else:
            self.emit("lla x31, %s" % lab)
            self.emit("jalr %s, 0(x31)" % self.x())
        self.simple()
        self.out.append("%s:" % lab)

    def amo(self):
        w = self.r.choice(["w", "d"])
        size = 4 if w == "w" else 8
        off = self.r.randrange(0, BUF - size + 1, size)
        op = self.r.choice(["amoswap", "amoadd", "amoand", "amoor", "amoxor", "amomin", "amomax",
                            "amominu", "amomaxu"])
        suf = self.r.choice(["", ".aq", ".rl", ".aqrl"])
        self.emit("addi x31, x8, %d" % off)
        self.emit("%s.%s%s %s, %s, (x31)" % (op, w, suf, self.x(), self.xsrc()))

    def lrsc(self):
        w = self.r.choice(["w", "d"])
        size = 4 if w == "w" else 8
        off = self.r.randrange(0, BUF - size + 1, size)
        self.emit("addi x31, x8, %d" % off)
        rd = "x%d" % self.r.choice([r for r in XR if r != 31])
        self.emit("lr.%s %s, (x31)" % (w, rd))
        self.emit("sc.%s %s, %s, (x31)" % (w, self.x(), self.xsrc()))

    def branch(self):
        op = self.r.choice(["beq", "bne", "blt", "bge", "bltu", "bgeu"])
        self.label += 1
        lab = "L%d" % self.label
        self.emit("%s %s, %s, %s" % (op, self.xsrc(), self.xsrc(), lab))
        for _ in range(self.r.randint(1, 3)):
            self.simple()
        self.out.append("%s:" % lab)

    def fp_arith(self):
        p = self.r.choice(["s", "d"])
        k = self.r.random()
        if k < 0.5:
            op = self.r.choice(["fadd", "fsub", "fmul", "fdiv"])
            self.emit("%s.%s %s, %s, %s%s" % (op, p, self.f(), self.f(), self.f(), self.rm()))
        elif k < 0.75:
            op = self.r.choice(["fmadd", "fmsub", "fnmsub", "fnmadd"])
            self.emit("%s.%s %s, %s, %s, %s%s" % (op, p, self.f(), self.f(), self.f(), self.f(), self.rm()))
        elif k < 0.85:
            self.emit("fsqrt.%s %s, %s%s" % (p, self.f(), self.f(), self.rm()))
        else:
            op = self.r.choice(["fmin", "fmax", "fsgnj", "fsgnjn", "fsgnjx"])
            self.emit("%s.%s %s, %s, %s" % (op, p, self.f(), self.f(), self.f()))

    def fp_misc(self):
        p = self.r.choice(["s", "d"])
        k = self.r.randint(0, 9)
        if k == 0:
            op = self.r.choice(["feq", "flt", "fle"])
            self.emit("%s.%s %s, %s, %s" % (op, p, self.x(), self.f(), self.f()))
        elif k == 1:
            self.emit("fclass.%s %s, %s" % (p, self.x(), self.f()))
        elif k == 2:
            it = self.r.choice(["w", "wu", "l", "lu"])
            self.emit("fcvt.%s.%s %s, %s%s" % (it, p, self.x(), self.f(), self.rm()))
        elif k == 3:
            it = self.r.choice(["w", "wu", "l", "lu"])
            rm = self.rm() if (p == "s" or it in ("l", "lu")) else ""
            self.emit("fcvt.%s.%s %s, %s%s" % (p, it, self.f(), self.xsrc(), rm))
        elif k == 4:
            if self.r.random() < 0.5:
                self.emit("fcvt.s.d %s, %s%s" % (self.f(), self.f(), self.rm()))
            else:
                self.emit("fcvt.d.s %s, %s" % (self.f(), self.f()))
        elif k == 5:
            if p == "s":
                self.emit(self.r.choice(["fmv.x.w %s, %s" % (self.x(), self.f()),
                                         "fmv.w.x %s, %s" % (self.f(), self.xsrc())]))
            else:
                self.emit(self.r.choice(["fmv.x.d %s, %s" % (self.x(), self.f()),
                                         "fmv.d.x %s, %s" % (self.f(), self.xsrc())]))
        elif k == 6:
            size = 4 if p == "s" else 8
            off = self.off(size)
            op = ("flw" if p == "s" else "fld") if self.r.random() < 0.5 else ("fsw" if p == "s" else "fsd")
            self.emit("%s %s, %d(x8)" % (op, self.f(), off))
        elif k == 7:
            self.emit("fsrmi %d" % self.r.randint(0, 4))
        elif k == 8:
            self.emit(self.r.choice(["frflags %s" % self.x(), "csrr %s, fcsr" % self.x(),
                                     "fsflagsi %d" % self.r.randint(0, 31),
                                     "csrrs %s, fflags, x0" % self.x()]))
        else:
            # an FP value with a chosen bit pattern, so that later ops see specials again
            self.emit("li x31, 0x%x" % self.fpat())
            self.emit("fmv.d.x %s, x31" % self.f())

    def tie(self):
        # operands whose exact sum/difference/conversion is (often) halfway between two values
        if self.r.random() < 0.3:
            p = self.r.choice([24, 53])
            v = ((1 << p) | (2 * self.r.getrandbits(p - 1) + 1)) << self.r.randint(0, 63 - p - 1)
            self.emit("li x31, 0x%x" % u64(-v if self.r.random() < 0.5 else v))
            op = self.r.choice(["fcvt.s.l", "fcvt.d.l", "fcvt.s.lu", "fcvt.d.lu"])
            self.emit("%s %s, x31%s" % (op, self.f(), self.rm()))
            return
        dbl = self.r.random() < 0.5
        m, eb, top = (52, 11, 0) if dbl else (23, 8, 0xffffffff00000000)
        e = self.r.randint(1, (1 << eb) - 3) if self.r.random() < 0.3 else (1 << (eb - 1)) - 1
        sa, sb = self.r.getrandbits(1), self.r.getrandbits(1)
        a = top | (sa << (m + eb)) | (e << m) | self.r.getrandbits(m)
        b = top | (sb << (m + eb)) | ((e - 1) << m) | (self.r.getrandbits(m) | 1)
        fa, fb = self.f(), self.f()
        while fb == fa:
            fb = self.f()
        self.emit("li x31, 0x%x" % a)
        self.emit("fmv.d.x %s, x31" % fa)
        self.emit("li x31, 0x%x" % b)
        self.emit("fmv.d.x %s, x31" % fb)
        p = "d" if dbl else "s"
        op = self.r.choice(["fadd", "fsub"])
        self.emit("%s.%s %s, %s, %s%s" % (op, p, self.f(), fa, fb, self.rm()))

    def simple(self):
        w = self.r.random()
        if w < 0.15: self.alu_rr()
        elif w < 0.27: self.alu_ri()
        elif w < 0.34: self.compressed()
        elif w < 0.37: self.lui()
        elif w < 0.45: self.muldiv()
        elif w < 0.51: self.load()
        elif w < 0.56: self.store()
        elif w < 0.60: self.amo()
        elif w < 0.77: self.fp_arith()
        elif w < 0.82: self.tie()
        else: self.fp_misc()

    def body(self):
        n = 0
        while n < self.length:
            w = self.r.random()
            if w < 0.04: self.lrsc()
            elif w < 0.10: self.branch()
            elif w < 0.13: self.loop()
            elif w < 0.15: self.call()
            elif w < 0.19: self.sp_mem()
            else: self.simple()
            n += 1

    def program(self, name):
        r = self.r
        lines = ["# %s — generated by gen_diff.py; do not edit" % name,
                 "        .section .text.start, \"ax\"",
                 "        .globl _start",
                 "_start:",
                 "        lla x8, buf",
                 "        lla sp, buf",
                 "        fsrmi %d" % r.randint(0, 4)]
        for i in FR:
            lines.append("        li x31, 0x%x" % self.fpat())
            lines.append("        fmv.d.x f%d, x31" % i)
        for i in XR:
            lines.append("        li x%d, 0x%x" % (i, self.val64()))
        self.body()
        lines += self.out
        lines.append("        j dump")
        lines.append("        .data")
        lines.append("        .balign 4096")
        # the buffer straddles a page boundary at buf+128 (misaligned accesses may cross it)
        lines.append("        .skip 4096 - 128 - 520")
        lines.append("save:   .zero 520")
        lines.append("buf:")
        for _ in range(BUF // 8):
            lines.append("        .dword 0x%x" % self.val64())
        lines.append("out:    .zero %d" % (17 * (65 + BUF // 8)))
        lines.append(DUMP)
        return "\n".join(lines) + "\n"


DUMP = r"""
        .text
dump:   lla sp, save                    # sp is the only register not compared
        .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        sd x\r, (\r * 8)(sp)
        .endr
        .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        fsd f\r, (256 + \r * 8)(sp)
        .endr
        csrr t0, fcsr
        sd t0, 512(sp)
        lla a1, out
        mv a2, sp
        li a3, 65 + 256 / 8             # save area (x, f, fcsr) then the buffer, contiguous
1:      ld t0, 0(a2)
        li t1, 16
2:      srli t2, t0, 60
        slli t0, t0, 4
        addi t2, t2, 48
        li t3, 58
        blt t2, t3, 3f
        addi t2, t2, 39
3:      sb t2, 0(a1)
        addi a1, a1, 1
        addi t1, t1, -1
        bnez t1, 2b
        li t2, 10
        sb t2, 0(a1)
        addi a1, a1, 1
        addi a2, a2, 8
        addi a3, a3, -1
        bnez a3, 1b
        lla t0, out
        sub a2, a1, t0
        mv a1, t0
        li a0, 1
        li a7, 64
        ecall
        li a0, 0
        li a7, 93
        ecall
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--len", type=int, default=400)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.count < 1 or a.count > 10000 or a.len < 1 or a.len > 100000:
        ap.error("count must be 1..10000 and len 1..100000")
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        name = "diff_%d_%03d" % (a.seed, i)
        g = Gen(random.Random(a.seed * 100003 + i), a.len)
        with open(os.path.join(a.out, name + ".S"), "w") as fh:
            fh.write(g.program(name))


if __name__ == "__main__":
    main()
