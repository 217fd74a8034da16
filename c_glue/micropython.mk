# anne as a MicroPython user C module for make-based ports (unix, qemu, stm32,
# nrf, ...): `make USER_C_MODULES=<anne checkout>`. Builds the Rust kernels for
# the port's CPU with cargo and links the archive into the firmware.
#
# Settings (make variables or environment):
#   ANNE_RUST_TARGET  Rust target triple; chosen from the port's -mcpu flag
#                     (RISC-V: its -march and -mabi) by c_glue/build-rust.sh
#                     (see the README's table), the host's when not cross.
#   ANNE_CARGO        cargo to run (default: cargo)
#   ANNE_CARGO_FLAGS  extra cargo flags, e.g. -Zbuild-std=core for a target
#                     without a prebuilt core (the repo's Makefile sets this).
#   ANNE_TRAIN        1 (default) or 0: 0 leaves the training functions out
#                     (an inference-only module: anne_net then trains on its
#                     pure-Python backend)
#   ANNE_SANITIZE     e.g. address: the kernels built -Zsanitizer=address, for
#                     a firmware built -fsanitize=address (the repo's
#                     unix-asan build; c_glue/build-rust.sh)

anne_comma := ,
ANNE_GLUE_DIR := $(USERMOD_DIR)
ANNE_ROOT := $(abspath $(realpath $(USERMOD_DIR))/..)
ANNE_LIB := $(BUILD)/anne-rust/libanne.a
ANNE_TRAIN ?= 1
ANNE_SYMBOLS := anne_dense_f32 anne_forward_f32 anne_activate_f32 anne_argmax_f32 anne_activation_default anne_activation_outputs
ifneq ($(ANNE_TRAIN),0)
ANNE_SYMBOLS += anne_activation_backward_f32 anne_dense_backward_f32 anne_layer_backward_f32 anne_sgd_f32 anne_adam_f32
endif

SRC_USERMOD_C += $(ANNE_GLUE_DIR)/modanne.c
CFLAGS_USERMOD += -I$(ANNE_GLUE_DIR) -DANNE_TRAIN=$(ANNE_TRAIN)
# The kernels are pulled in explicitly: some ports put LDFLAGS before the objects.
LDFLAGS_USERMOD += $(addprefix -Wl$(anne_comma)-u$(anne_comma),$(ANNE_SYMBOLS)) $(ANNE_LIB)

# The CPU and float ABI from the port's CFLAGS (deferred: the full CFLAGS are
# known when the recipe runs); c_glue/build-rust.sh picks the Rust target
# from them (ANNE_RUST_TARGET overrides it) and builds the archive.
# (RISC-V ports give -march and -mabi, no -mcpu: the -march is passed as the CPU.)
ANNE_MCPU = $(or $(patsubst -mcpu=%,%,$(filter -mcpu=%,$(CFLAGS))),$(patsubst -march=%,%,$(filter -march=rv%,$(CFLAGS))),$(if $(CROSS_COMPILE),unknown,host))
ANNE_FLOAT_ABI = $(or $(patsubst -mfloat-abi=%,%,$(filter -mfloat-abi=%,$(CFLAGS))),soft)
export ANNE_RUST_TARGET ANNE_CARGO ANNE_CARGO_FLAGS ANNE_SANITIZE

# Runs cargo every time (it is incremental); the archive is only replaced when
# its content changed, so an unchanged library does not relink the firmware.
$(ANNE_LIB): FORCE_ANNE
	+$(Q)$(ANNE_GLUE_DIR)/build-rust.sh $@ $(abspath $(BUILD)/anne-rust/cargo) $(ANNE_MCPU) $(ANNE_FLOAT_ABI) \
	    $(CC) $(filter -mcpu=% -mthumb -mfloat-abi=% -mfpu=% -march=% -mabi=%,$(CFLAGS))

.PHONY: FORCE_ANNE
FORCE_ANNE:

# The glue object is built after the archive, so every port links a fresh one.
$(BUILD)/$(patsubst $(USER_C_MODULES)/%,%,$(ANNE_GLUE_DIR))/modanne.o: $(ANNE_LIB)
