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
anne_lparen := (
ANNE_GLUE_DIR := $(USERMOD_DIR)
ANNE_ROOT := $(abspath $(realpath $(USERMOD_DIR))/..)
ANNE_LIB := $(BUILD)/anne-rust/libanne.a
ANNE_TRAIN ?= 1
# The glue, one file per concept (mod_train.c holds the training functions,
# empty without ANNE_TRAIN).
ANNE_GLUE_C := modanne.c mod_kernels.c mod_plan.c mod_train.c
# The kernels the glue calls, for the linker: every function anne.h declares
# that a glue file names (mod_train.c's only with ANNE_TRAIN).
ANNE_KERNELS := $(shell sed -n 's/^[a-z0-9_]* \(anne_[a-z0-9_]*\)[$(anne_lparen)].*/\1/p' $(ANNE_GLUE_DIR)/anne.h)
ANNE_SYMBOLS := $(sort $(filter $(ANNE_KERNELS),$(shell grep -oh 'anne_[a-z0-9_]*' \
    $(addprefix $(ANNE_GLUE_DIR)/,$(filter-out $(if $(filter 0,$(ANNE_TRAIN)),mod_train.c),$(ANNE_GLUE_C))))))

SRC_USERMOD_C += $(addprefix $(ANNE_GLUE_DIR)/,$(ANNE_GLUE_C))
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

# The glue objects are built after the archive, so every port links a fresh one.
$(addprefix $(BUILD)/$(patsubst $(USER_C_MODULES)/%,%,$(ANNE_GLUE_DIR))/,$(ANNE_GLUE_C:.c=.o)): $(ANNE_LIB)
