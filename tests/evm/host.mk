# host.mk — build rule for the EVM host's libFuzzer target (RLP + state-test JSON parsers).
# `make evm-fuzz` builds build-fuzz/evm/fuzz_rlp_json with clang -fsanitize=fuzzer,address,undefined.
EVM_FUZZ_BIN  := build-fuzz/evm/fuzz_rlp_json
EVM_FUZZ_SRCS := $(wildcard src/evm/*.c)
.PHONY: evm-fuzz
evm-fuzz: $(EVM_FUZZ_BIN)
$(EVM_FUZZ_BIN): tests/evm/fuzz_rlp_json.c $(EVM_FUZZ_SRCS) $(wildcard src/evm/*.h)
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ \
	  tests/evm/fuzz_rlp_json.c $(EVM_FUZZ_SRCS) -lcjson -lgmp -lcrypto -lsecp256k1 -lm -pthread
