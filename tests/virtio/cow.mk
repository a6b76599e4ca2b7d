# tests/virtio/cow.mk — mkcow, the overlay-creation tool cow.t.sh uses (not a unit test).
$(B)/tests/virtio/mkcow: $(B)/tobj/virtio/mkcow.o $(foreach m,virtio mem base,$(call lib_of,$(m)))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(foreach m,virtio mem base,$(call lib_of,$(m))) -Wl,--end-group $(LDLIBS)
all: $(B)/tests/virtio/mkcow
mod-virtio: $(B)/tests/virtio/mkcow
-include $(B)/tobj/virtio/mkcow.d
