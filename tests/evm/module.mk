# tests/evm/module.mk — extra EVM test targets.
# `make fuzz-evm-interp` builds build/fuzz/fuzz_interp (libFuzzer + ASan + UBSan, clang; Debian package
# libclang-rt-14-dev). Run: build/fuzz/fuzz_interp -max_total_time=60 [corpus-dir]
FUZZ_CC    ?= clang
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -Isrc
FUZZ_EVM_SRCS := tests/evm/fuzz_interp.c src/evm/interp.c src/evm/keccak.c

.PHONY: fuzz-evm-interp
fuzz-evm-interp: build/fuzz/fuzz_interp
build/fuzz/fuzz_interp: $(FUZZ_EVM_SRCS) src/evm/interp_loop.h src/evm/uint256.h src/evm/evm.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_EVM_SRCS) -o $@ -pthread
