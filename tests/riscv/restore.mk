# tests/riscv/restore.mk — the engine+device restore harness (not a unit test: it links the virtio
# module too, so it is not named test_*); run by tests/riscv/restore.t.sh.
$(B)/tests/riscv/restore_harness: $(B)/tobj/riscv/restore_harness.o $(foreach m,riscv virtio dev mem base,$(call lib_of,$(m)))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(call lib_of,riscv) $(call lib_of,virtio) $(call lib_of,dev) \
	  $(call lib_of,mem) $(call lib_of,base) -Wl,--end-group $(LDLIBS)
all: $(B)/tests/riscv/restore_harness
mod-riscv: $(B)/tests/riscv/restore_harness
-include $(B)/tobj/riscv/restore_harness.d
