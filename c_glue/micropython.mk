# anne as a MicroPython user C module for make-based ports (unix, qemu, stm32,
# nrf, ...): `make USER_C_MODULES=<anne checkout>`. Builds the Rust kernels for
# the port's CPU with cargo and links the archive into the firmware.
#
# Settings (make variables or environment):
#   ANNE_RUST_TARGET  Rust target triple; guessed from the port's -mcpu flag
#                     (see the README's table), the host's when not cross.
#   ANNE_CARGO        cargo to run (default: cargo)
#   ANNE_CARGO_FLAGS  extra cargo flags, e.g. -Zbuild-std=core for a target
#                     without a prebuilt core (the repo's Makefile sets this).

anne_comma := ,
ANNE_GLUE_DIR := $(USERMOD_DIR)
ANNE_ROOT := $(abspath $(realpath $(USERMOD_DIR))/..)
ANNE_LIB := $(BUILD)/anne-rust/libanne.a
ANNE_SYMBOLS := anne_dense_f32 anne_forward_f32 anne_activate_f32 anne_argmax_f32 anne_activation_default anne_activation_outputs

SRC_USERMOD_C += $(ANNE_GLUE_DIR)/modanne.c
CFLAGS_USERMOD += -I$(ANNE_GLUE_DIR)
# The kernels are pulled in explicitly: some ports put LDFLAGS before the objects.
LDFLAGS_USERMOD += $(addprefix -Wl$(anne_comma)-u$(anne_comma),$(ANNE_SYMBOLS)) $(ANNE_LIB)

ANNE_CARGO ?= cargo
ANNE_CARGO_FLAGS ?=
# Deferred (=) so that the port's full CFLAGS are known when the recipe runs.
ANNE_MCPU = $(patsubst -mcpu=%,%,$(filter -mcpu=%,$(CFLAGS)))
ANNE_RUST_TARGET ?= $(strip \
    $(if $(filter cortex-m0 cortex-m0plus cortex-m0.small-multiply cortex-m0plus.small-multiply cortex-m1,$(ANNE_MCPU)),thumbv6m-none-eabi,\
    $(if $(filter cortex-m3,$(ANNE_MCPU)),thumbv7m-none-eabi,\
    $(if $(filter cortex-m4 cortex-m7,$(ANNE_MCPU)),$(if $(filter -mfloat-abi=hard,$(CFLAGS)),thumbv7em-none-eabihf,thumbv7em-none-eabi),\
    $(if $(filter cortex-m33,$(ANNE_MCPU)),$(if $(filter -mfloat-abi=hard,$(CFLAGS)),thumbv8m.main-none-eabihf,thumbv8m.main-none-eabi),\
    $(if $(CROSS_COMPILE),unknown,host))))))

# Cross targets: the archive's compiler_builtins member also defines runtime
# routines that libgcc has (soft-float __aeabi_fadd, integer __aeabi_uidiv,
# __clzsi2, ...). Once anne pulls that member in, its copies would serve the
# whole firmware. Every symbol libgcc defines is made local to the archive,
# so the firmware, anne included, keeps the toolchain's routines.
ANNE_LIBGCC_SYMBOLS := $(BUILD)/anne-rust/libgcc-symbols.txt
# `cargo rustc --crate-type staticlib`: with LTO, building the staticlib and
# the rlib together leaves the archive without the anne_* symbols.
# Runs cargo every time (it is incremental); the archive is only replaced when
# its content changed, so an unchanged library does not relink the firmware.
$(ANNE_LIB): FORCE_ANNE
	$(ECHO) "CARGO anne ($(ANNE_RUST_TARGET))"
	$(Q)test "$(ANNE_RUST_TARGET)" != unknown || { echo "anne: cannot tell the Rust target from CFLAGS (-mcpu=$(ANNE_MCPU)); set ANNE_RUST_TARGET" >&2; exit 1; }
	+$(Q)cd $(ANNE_ROOT) && CARGO_TARGET_DIR=$(abspath $(BUILD)/anne-rust/cargo) $(ANNE_CARGO) rustc --quiet --release --lib --crate-type staticlib \
	    $(if $(filter host,$(ANNE_RUST_TARGET)),,--target $(ANNE_RUST_TARGET)) $(ANNE_CARGO_FLAGS)
	$(Q)cp $(BUILD)/anne-rust/cargo/$(if $(filter host,$(ANNE_RUST_TARGET)),,$(ANNE_RUST_TARGET)/)release/libanne.a $@.tmp
	$(Q)$(if $(filter host,$(ANNE_RUST_TARGET)),true,\
	    $(CROSS_COMPILE)readelf -sW $$($(CC) $(CFLAGS) -print-libgcc-file-name) \
	    | awk '($$5 == "GLOBAL" || $$5 == "WEAK") && $$7 != "UND" {print $$8}' | sort -u > $(ANNE_LIBGCC_SYMBOLS) && \
	    $(OBJCOPY) --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*' \
	    --localize-symbols=$(ANNE_LIBGCC_SYMBOLS) $@.tmp)
	$(Q)if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

.PHONY: FORCE_ANNE
FORCE_ANNE:

# The glue object is built after the archive, so every port links a fresh one.
$(BUILD)/$(patsubst $(USER_C_MODULES)/%,%,$(ANNE_GLUE_DIR))/modanne.o: $(ANNE_LIB)
