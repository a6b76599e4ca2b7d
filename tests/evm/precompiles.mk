# tests/evm/precompiles.mk — (precompiles) `make fuzz-evm-precompiles` builds build/fuzz/fuzz_precompiles
# (libFuzzer + ASan + UBSan, clang) from tests/evm/fuzz_precompiles.c and the precompile sources, with
# the c-kzg/blst object of src/evm/module.mk. Run: build/fuzz/fuzz_precompiles -max_total_time=60
FUZZ_PC_SRCS := tests/evm/fuzz_precompiles.c src/evm/precompiles.c src/evm/bn254.c src/evm/kzg.c src/evm/keccak.c \
                src/evm/bls12.c
FUZZ_PC_CKZG := build/third_party/ckzg/ckzg_all.o

.PHONY: fuzz-evm-precompiles
fuzz-evm-precompiles: build/fuzz/fuzz_precompiles
build/fuzz/fuzz_precompiles: $(FUZZ_PC_SRCS) src/evm/bn254.h src/evm/bls12.h src/evm/precompiles.h src/evm/evm.h $(FUZZ_PC_CKZG)
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Isrc -isystem $(CKZG_SRC)/deps/c-kzg -isystem $(CKZG_SRC)/deps/blst/bindings \
	  $(FUZZ_PC_SRCS) $(FUZZ_PC_CKZG) -o $@ -pthread -lsecp256k1 -lcrypto -lgmp
