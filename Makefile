# anne: Rust neural-network kernels for MicroPython.
#
#   make demo         build the emulated Cortex-M3 firmware and run the demo
#   make test         every test: Rust, C ABI, host, MicroPython on 3 targets
#   make bench        instruction counts on the emulated Cortex-M3 and M0
#   make unix | qemu-m3 | qemu-m0     build one firmware
#   make repl TARGET=cortex-m3        a REPL on a firmware (unix, cortex-m3, cortex-m0)
#   make deps         install what the above need (run by them as required)
#   make clean
#
# MICROPY_DIR=/path/to/micropython uses your own MicroPython checkout instead
# of the 1.25.0 source that `make deps` fetches into build/micropython.

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
MICROPY_DIR ?= $(BUILD)/micropython
PYTHON ?= python3
TARGET ?= cortex-m3

export MICROPY_DIR

# Rust for bare-metal Arm comes from Debian's rustc-web/cargo-web/rust-web-src:
# core is built from source for the target (-Zbuild-std=core).
DEBIAN_RUSTC := /usr/bin/rustc
DEBIAN_CARGO := /usr/bin/cargo
CROSS_CARGO := env RUSTC=$(DEBIAN_RUSTC) RUSTC_BOOTSTRAP=1 $(DEBIAN_CARGO)

# The board library (micropython/) is frozen into every firmware we build.
MANIFEST := $(ROOT)/micropython/manifest.py
# Freezing checks for the micropython-lib submodule, which Debian's source
# lacks; our manifest needs nothing from it, so point the check at a stub.
NO_MPY_LIB := $(BUILD)/no-micropython-lib
FREEZE := FROZEN_MANIFEST=$(MANIFEST) MPY_LIB_DIR=$(NO_MPY_LIB)
UNIX_FLAGS := $(FREEZE) MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 \
	MICROPY_SSL_MBEDTLS=0 MICROPY_PY_FFI=0 MICROPY_VFS_LFS1=0 MICROPY_VFS_LFS2=0
QEMU_FLAGS := $(FREEZE) ANNE_CARGO="$(CROSS_CARGO)" ANNE_CARGO_FLAGS=-Zbuild-std=core

UNIX_FW := $(BUILD)/unix/micropython
M3_FW := $(BUILD)/cortex-m3/firmware.elf
M0_FW := $(BUILD)/cortex-m0/firmware.elf
STAMP_DEPS := $(BUILD)/.deps-$(shell echo $(MICROPY_DIR) | md5sum | cut -c1-8)

.PHONY: all deps unix qemu-m3 qemu-m0 firmware test test-rust test-host test-board demo repl bench clean
all: firmware

deps: $(STAMP_DEPS)
$(STAMP_DEPS): tools/deps.sh
	tools/deps.sh all
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/mpy-cross.stamp: $(STAMP_DEPS)
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross -j2 -s
	@mkdir -p $(NO_MPY_LIB) && echo "Stands in for micropython-lib, which anne's manifest does not use." > $(NO_MPY_LIB)/README.md
	@touch $@

unix: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 -s BUILD=$(BUILD)/unix $(UNIX_FLAGS) \
		USER_C_MODULES=$(ROOT) ANNE_CARGO="$(CROSS_CARGO)"

# Heaps: the MPS2-AN385 has 4 MB of RAM, of which 1 MB is MicroPython's heap;
# the nRF51 is given 256 KB of SRAM (as an RP2040 has 264 KB): 192 KB of heap.
qemu-m3: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MPS2_AN385 BUILD=$(BUILD)/cortex-m3 \
		MICROPY_HEAP_SIZE=1048576 $(QEMU_FLAGS) USER_C_MODULES=$(ROOT)

qemu-m0: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MICROBIT BUILD=$(BUILD)/cortex-m0 \
		MICROPY_HEAP_SIZE=196608 $(QEMU_FLAGS) USER_C_MODULES=$(ROOT)

firmware: unix qemu-m3 qemu-m0

test: deps firmware test-rust test-host test-board

test-rust: deps
	cargo test --quiet

test-host: deps
	$(PYTHON) -m pytest -q tests/host

test-board: firmware
	$(PYTHON) tests/run_board_tests.py unix cortex-m3 cortex-m0

demo: qemu-m3
	tools/run-on cortex-m3 examples/demo.py

repl: deps
	tools/run-on --repl $(TARGET)

clean:
	rm -rf $(BUILD)/unix $(BUILD)/cortex-m3 $(BUILD)/cortex-m0 $(BUILD)/bench target
