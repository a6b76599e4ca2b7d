# src/evm/bls12.mk — (bls12) gives src/evm/bls12.c and tests/evm/test_bls12.c the blst headers of the
# c-kzg package that src/evm/module.mk fetches and compiles (keep BLS12_CKZG in step with its CKZG_VER;
# this file is included before module.mk, so it cannot use CKZG_SRC). Without the headers bls12.c
# compiles to a stub whose precompiles always fail.
BLS12_CKZG := build/third_party/c-kzg-4.1.0
$(B)/obj/evm/bls12.o $(B)/tobj/evm/test_bls12.o: $(BLS12_CKZG)/.stamp
$(B)/obj/evm/bls12.o $(B)/tobj/evm/test_bls12.o: CFLAGS += -isystem $(BLS12_CKZG)/deps/blst/bindings
