# tests/evm/bls12.mk — (bls12) `make fuzz-evm-bls12` builds build/fuzz/fuzz_bls12 (libFuzzer + ASan +
# UBSan, clang) from tests/evm/fuzz_bls12.c and the precompile sources, with the c-kzg/blst object of
# src/evm/module.mk. Run: build/fuzz/fuzz_bls12 -max_total_time=60 [corpus-dir]
FUZZ_BLS_SRCS := tests/evm/fuzz_bls12.c src/evm/precompiles.c src/evm/bls12.c src/evm/bn254.c src/evm/kzg.c \
                 src/evm/keccak.c
FUZZ_BLS_CKZG := build/third_party/ckzg/ckzg_all.o
FUZZ_BLS_INC  := build/third_party/c-kzg-4.1.0/deps

.PHONY: fuzz-evm-bls12
fuzz-evm-bls12: build/fuzz/fuzz_bls12
build/fuzz/fuzz_bls12: $(FUZZ_BLS_SRCS) src/evm/bls12.h src/evm/bn254.h src/evm/precompiles.h src/evm/evm.h \
                       $(FUZZ_BLS_CKZG)
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Isrc -isystem $(FUZZ_BLS_INC)/c-kzg -isystem $(FUZZ_BLS_INC)/blst/bindings \
	  $(FUZZ_BLS_SRCS) $(FUZZ_BLS_CKZG) -o $@ -pthread -lsecp256k1 -lcrypto -lgmp
