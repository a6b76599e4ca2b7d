# src/evm/module.mk — (precompiles) builds c-kzg + blst for the KZG point-evaluation precompile
# (src/evm/kzg.c) from the npm package `c-kzg`, fetched once with `npm pack` into build/third_party/
# (cached, never committed), embeds its mainnet trusted setup, and adds the result to libvmk_evm.a.
# If the fetch fails, a stub object is used and the precompile fails cleanly (kzg.c compiles without
# the c-kzg headers). Delete build/third_party/c-kzg-* to retry the fetch.
CKZG_VER := 4.1.0
CKZG_SRC := build/third_party/c-kzg-$(CKZG_VER)
CKZG_OBJ := $(B)/third_party/ckzg/ckzg_all.o
CKZG_CC  := $(CC) -O2 -w -fPIC -D__BLST_PORTABLE__

$(CKZG_SRC)/.stamp:
	@mkdir -p build/third_party
	@cd build/third_party && tmp=c-kzg-$(CKZG_VER).tmp.$$$$ && rm -rf $$tmp && mkdir -p $$tmp && \
	if timeout 300 npm pack --silent --pack-destination $$tmp c-kzg@$(CKZG_VER) >/dev/null 2>npm-c-kzg.log && \
	    tar xzf $$tmp/c-kzg-$(CKZG_VER).tgz -C $$tmp --strip-components=1 && \
	    test -f $$tmp/deps/c-kzg/ckzg.c && test -f $$tmp/deps/blst/src/server.c; then \
	  echo "c-kzg $(CKZG_VER): fetched into $(CKZG_SRC)"; \
	else \
	  echo "c-kzg: npm pack failed (build/third_party/npm-c-kzg.log): KZG point evaluation disabled" >&2; \
	  rm -rf $$tmp && mkdir -p $$tmp; \
	fi; touch $$tmp/.stamp; \
	if [ -e c-kzg-$(CKZG_VER)/.stamp ]; then rm -rf $$tmp; else rm -rf c-kzg-$(CKZG_VER) && mv $$tmp c-kzg-$(CKZG_VER); fi

$(CKZG_OBJ): $(CKZG_SRC)/.stamp src/evm/module.mk
	@mkdir -p $(dir $@)
	@if [ -f $(CKZG_SRC)/deps/c-kzg/ckzg.c ]; then \
	  echo "CC c-kzg + blst -> $@"; \
	  $(CKZG_CC) -c $(CKZG_SRC)/deps/blst/src/server.c -o $(dir $@)blst.o && \
	  $(CKZG_CC) -c $(CKZG_SRC)/deps/blst/build/assembly.S -o $(dir $@)blst_asm.o && \
	  $(CKZG_CC) -I$(CKZG_SRC)/deps/blst/bindings -I$(CKZG_SRC)/deps/c-kzg -c $(CKZG_SRC)/deps/c-kzg/ckzg.c \
	    -o $(dir $@)ckzg.o && \
	  printf '%s\n' '.section .rodata' '.global vmk_kzg_setup_txt' 'vmk_kzg_setup_txt:' \
	    '.incbin "$(abspath $(CKZG_SRC))/deps/c-kzg/trusted_setup.txt"' '.global vmk_kzg_setup_txt_end' \
	    'vmk_kzg_setup_txt_end:' '.byte 0' '.section .note.GNU-stack,"",@progbits' > $(dir $@)setup.S && \
	  $(CC) -c $(dir $@)setup.S -o $(dir $@)setup.o && \
	  $(CC) -r -nostdlib -o $@ $(dir $@)blst.o $(dir $@)blst_asm.o $(dir $@)ckzg.o $(dir $@)setup.o; \
	else \
	  echo 'typedef int vmk_no_ckzg;' | $(CC) -x c -c - -o $@; \
	fi

$(B)/obj/evm/kzg.o: $(CKZG_SRC)/.stamp
$(B)/obj/evm/kzg.o: CFLAGS += -isystem $(CKZG_SRC)/deps/c-kzg -isystem $(CKZG_SRC)/deps/blst/bindings
$(call lib_of,evm): $(CKZG_OBJ)
