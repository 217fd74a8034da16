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

UNIX_FLAGS := FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 \
	MICROPY_SSL_MBEDTLS=0 MICROPY_PY_FFI=0 MICROPY_VFS_LFS1=0 MICROPY_VFS_LFS2=0
QEMU_FLAGS := FROZEN_MANIFEST= ANNE_CARGO="$(CROSS_CARGO)" ANNE_CARGO_FLAGS=-Zbuild-std=core

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
	@touch $@

unix: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 -s BUILD=$(BUILD)/unix $(UNIX_FLAGS) \
		USER_C_MODULES=$(ROOT) ANNE_CARGO="$(CROSS_CARGO)"

qemu-m3: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MPS2_AN385 BUILD=$(BUILD)/cortex-m3 \
		$(QEMU_FLAGS) USER_C_MODULES=$(ROOT)

qemu-m0: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MICROBIT BUILD=$(BUILD)/cortex-m0 \
		$(QEMU_FLAGS) USER_C_MODULES=$(ROOT)

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
