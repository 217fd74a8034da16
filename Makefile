# anne: Rust neural-network kernels for MicroPython.
#
#   make demo         build the emulated Cortex-M3 firmware and run the demo
#   make test         every test: Rust, C ABI, host, MicroPython on 6 firmwares
#                     with anne built in and 4 stock ones with anne.mpy in /lib,
#                     and on the emulated Pico (built in, stock, a frozen model)
#   make bench        instruction counts on the emulated Cortex-M3, M0, M4F and RISC-V
#                     (make bench-models: MLPerf Tiny's four models alone;
#                     make bench-cnn: the int8 CNN kernels alone)
#   make fuzz         a long fuzz run of the anne module and the loader (unix, ASan)
#   make natmod       the native module build/natmod/ARCH/anne.mpy (no reflash)
#                     and a mip package.json per arch (x64 armv6m armv7m armv7emsp)
#   make dist         the release folder build/dist/ (every arch's anne.mpy and
#                     mip package, the Pico firmware, SHA256SUMS, an index)
#   make unix | qemu-m3 | qemu-m0 | qemu-m4f | qemu-rv32    build one firmware
#   make stock        the same ports without anne (for anne.mpy)
#   make rp2 | rp2-stock | rp2-pico2 | rp2 RP2_MODEL=m.anne   the Pico's firmware
#   make repl TARGET=cortex-m3        a REPL on a firmware (unix, cortex-m3, cortex-m0, cortex-m4f, riscv32)
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
# Our own MicroPython tree (build/micropython) lies inside this git checkout:
# stop git there, so that the firmware banner gives MicroPython's version,
# not this project's commit. A user's own checkout keeps its git describe.
ifeq ($(MICROPY_DIR),$(BUILD)/micropython)
export GIT_CEILING_DIRECTORIES := $(BUILD)
endif

# Rust for bare-metal Arm comes from Debian's rustc-web/cargo-web/rust-web-src:
# core is built from source for the target (-Zbuild-std=core).
DEBIAN_RUSTC := /usr/bin/rustc
DEBIAN_CARGO := /usr/bin/cargo
CROSS_CARGO := env RUSTC=$(DEBIAN_RUSTC) RUSTC_BOOTSTRAP=1 $(DEBIAN_CARGO)
# Every Rust build of the firmwares and native modules (Debian's rustc) shares
# one cargo target directory: bindgen and the other build-script dependencies
# are compiled once, and core once per target and flags, not once per
# firmware (19 builds in make test: about 50 s of CPU each saved).
export ANNE_CARGO_TARGET_DIR := $(BUILD)/cargo-cross
# The Rust tests run on the same compiler as the firmware (its own target dir).
TEST_CARGO := env RUSTC=$(DEBIAN_RUSTC) RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
	CARGO_TARGET_DIR=$(BUILD)/cargo-test $(DEBIAN_CARGO)

# The board library (micropython/) is frozen into every firmware we build.
MANIFEST := $(ROOT)/micropython/manifest.py
# Freezing checks for the micropython-lib submodule, which Debian's source
# lacks; our manifest needs nothing from it, so point the check at a stub.
NO_MPY_LIB := $(BUILD)/no-micropython-lib
FREEZE := FROZEN_MANIFEST=$(MANIFEST) MPY_LIB_DIR=$(NO_MPY_LIB)
# STRIP= keeps the unix binary's symbols (the no-panic check reads them).
UNIX_PORT_FLAGS := STRIP= MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 \
	MICROPY_SSL_MBEDTLS=0 MICROPY_PY_FFI=0 MICROPY_VFS_LFS1=0 MICROPY_VFS_LFS2=0
UNIX_FLAGS := $(FREEZE) $(UNIX_PORT_FLAGS)
QEMU_FLAGS := $(FREEZE) ANNE_CARGO="$(CROSS_CARGO)" ANNE_CARGO_FLAGS=-Zbuild-std=core

UNIX_FW := $(BUILD)/unix/micropython
ASAN_FW := $(BUILD)/unix-asan/micropython
M3_FW := $(BUILD)/cortex-m3/firmware.elf
M0_FW := $(BUILD)/cortex-m0/firmware.elf
M4F_FW := $(BUILD)/cortex-m4f/firmware.elf
RV32_FW := $(BUILD)/riscv32/firmware.elf
STAMP_DEPS := $(BUILD)/.deps-$(shell echo $(MICROPY_DIR) | md5sum | cut -c1-8)

.PHONY: bench-models bench-cnn dist rp2 rp2-model rp2-stock rp2-pico2 test-rp2040 test-rp2040-stock test-rp2040-scripts natmod natmod-run natmod-lib riscv-deps stock unix-stock qemu-m3-stock qemu-m0-stock qemu-m4f-stock fuzz all deps unix unix-asan unix-plain qemu-m3-plain test-suite qemu-m3 qemu-m0 qemu-m4f firmware test test-rust test-host test-nopanic test-board demo repl bench bench-firmware clean
.PHONY: qemu-rv32 qemu-rv32-stock
all: firmware

deps: $(STAMP_DEPS)
$(STAMP_DEPS): tools/deps.sh
	tools/deps.sh all
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/mpy-cross.stamp: $(STAMP_DEPS)
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross -j2 -s
	@mkdir -p $(NO_MPY_LIB) && echo "Stands in for micropython-lib, which anne's manifest does not use." > $(NO_MPY_LIB)/README.md
	@touch $@

# MicroPython's make collects the qstrs again only from .c files that
# changed, not from headers (c_glue/anne_functions.h lists the module's
# functions), and may keep a frozen board library older than micropython/:
# after such a change, a firmware's generated headers and frozen modules
# are made again (a fresh clone builds them once anyway).
# ($(1)/anne.stamp: the last build that succeeded.)
fresh = if [ ! -f $(1)/anne.stamp ] || [ -n "$$(find $(ROOT)/c_glue $(ROOT)/micropython \
	-newer $(1)/anne.stamp -not -path "*/__pycache__*" -print -quit)" ]; then rm -rf $(1)/genhdr $(1)/frozen_content.* $(1)/frozen_mpy; fi

unix: $(BUILD)/mpy-cross.stamp
	@$(call fresh,$(BUILD)/unix)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 -s BUILD=$(BUILD)/unix $(UNIX_FLAGS) \
		USER_C_MODULES=$(ROOT) ANNE_CARGO="$(CROSS_CARGO)"
	@touch $(BUILD)/unix/anne.stamp

# The unix port under AddressSanitizer + UBSan (the board tests run on it too):
# a read or write out of bounds, a use after free or undefined behaviour
# aborts the run, whether in the C glue, in MicroPython or in the Rust
# kernels (built -Zsanitizer=address: ANNE_SANITIZE, c_glue/build-rust.sh),
# and inside MicroPython's GC heap too, which is one malloc block to ASan:
# the build's py/gc.c (tools/gc-asan.patch) poisons every free block and
# the bytes of each allocation's last block past the size asked for, so that
# touching a freed or moved buffer (a bytearray or array grown by a callback
# while a kernel holds its old address) or reading past the end of a short
# buffer (an array that is 1 item long where 4 are read) is reported as a
# "use-after-poison" on an address inside the heap's malloc block; a block
# freed by gc_free/gc_realloc is not handed out again before the next
# collection, so that it stays poisoned while a stale pointer may use it.
# MicroPython's tree is shared by every build: this one is built from a
# hard-linked copy of it (ASAN_MP) that holds the patched gc.c as a file of
# its own. (The GC scans the stack and whole blocks on purpose: those reads
# are not checked; stack use-after-return detection is off for the same
# reason; UBSan's findings in MicroPython itself are listed in
# tools/ubsan.supp.)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_MP := $(BUILD)/unix-asan-micropython
ASAN_MP_STAMP := $(ASAN_MP)/.anne-$(shell echo $(MICROPY_DIR) | md5sum | cut -c1-8)
$(ASAN_MP_STAMP): $(BUILD)/mpy-cross.stamp tools/gc-asan.patch
	rm -rf $(ASAN_MP)
	cp -al $(MICROPY_DIR) $(ASAN_MP) 2>/dev/null || { rm -rf $(ASAN_MP) && cp -as $(abspath $(MICROPY_DIR)) $(ASAN_MP); }
	rm $(ASAN_MP)/py/gc.c
	patch -s -o $(ASAN_MP)/py/gc.c $(MICROPY_DIR)/py/gc.c tools/gc-asan.patch
	@touch $@
unix-asan: $(ASAN_MP_STAMP)
	@$(call fresh,$(BUILD)/unix-asan)
	GIT_CEILING_DIRECTORIES=$(BUILD) $(MAKE) -C $(ASAN_MP)/ports/unix -j2 -s BUILD=$(BUILD)/unix-asan $(UNIX_FLAGS) \
		USER_C_MODULES=$(ROOT) ANNE_CARGO="$(CROSS_CARGO)" ANNE_SANITIZE=address \
		CFLAGS_EXTRA="$(SANITIZE) -DMICROPY_STACK_CHECK_MARGIN=8192" LDFLAGS_EXTRA="$(SANITIZE)"
	@touch $(BUILD)/unix-asan/anne.stamp

# The same firmware without anne (MicroPython's own test suite is compared
# on both: tests/run_micropython_suite.py).
unix-plain: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 -s BUILD=$(BUILD)/unix-plain $(UNIX_FLAGS)

qemu-m3-plain: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MPS2_AN385 BUILD=$(BUILD)/cortex-m3-plain \
		MICROPY_HEAP_SIZE=1048576 $(QEMU_FLAGS)

# Heaps: the MPS2-AN385 has 4 MB of RAM, of which 1 MB is MicroPython's heap;
# the nRF51 is given 256 KB of SRAM (as an RP2040 has 264 KB): 192 KB of heap.
qemu-m3: $(BUILD)/mpy-cross.stamp
	@$(call fresh,$(BUILD)/cortex-m3)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MPS2_AN385 BUILD=$(BUILD)/cortex-m3 \
		MICROPY_HEAP_SIZE=1048576 $(QEMU_FLAGS) USER_C_MODULES=$(ROOT)
	@touch $(BUILD)/cortex-m3/anne.stamp

qemu-m0: $(BUILD)/mpy-cross.stamp
	@$(call fresh,$(BUILD)/cortex-m0)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MICROBIT BUILD=$(BUILD)/cortex-m0 \
		MICROPY_HEAP_SIZE=196608 $(QEMU_FLAGS) USER_C_MODULES=$(ROOT)
	@touch $(BUILD)/cortex-m0/anne.stamp

# A hard-float Cortex-M4F (qemu's mps2-an386; board definition in
# tools/boards/MPS2_AN386): the kernels on the FPU (thumbv7em-none-eabihf).
M4F_BOARD := BOARD=MPS2_AN386 BOARD_DIR=$(ROOT)/tools/boards/MPS2_AN386
qemu-m4f: $(BUILD)/mpy-cross.stamp
	@$(call fresh,$(BUILD)/cortex-m4f)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s $(M4F_BOARD) BUILD=$(BUILD)/cortex-m4f \
		MICROPY_HEAP_SIZE=1048576 $(QEMU_FLAGS) USER_C_MODULES=$(ROOT)
	@touch $(BUILD)/cortex-m4f/anne.stamp

# A 32-bit RISC-V board: the qemu port's VIRT_RV32 (qemu's virt machine,
# rv32imac_zicsr, ilp32 soft float; the kernels as riscv32imac-unknown-none-elf,
# chosen by c_glue/build-rust.sh from -march/-mabi). Debian's RISC-V GCC 12
# (tools/deps.sh riscv) has no multilib for rv32imac_zicsr and would link the
# rv64 libgcc: LIBS names the rv32imac/ilp32 one. The firmware uses no libc
# code; newlib's headers (libnewlib-dev) stand in for picolibc's (1 GB).
# Heap: 1 MB of the board's 2 MB of data RAM, as on the MPS2 boards.
RV32_LIBGCC := riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32 -print-libgcc-file-name
RV32_FLAGS = BOARD=VIRT_RV32 MICROPY_HEAP_SIZE=1048576 LIBS="-nostdlib $$($(RV32_LIBGCC))" \
	CFLAGS_EXTRA="-isystem /usr/include/newlib"
qemu-rv32: $(BUILD)/mpy-cross.stamp riscv-deps
	@$(call fresh,$(BUILD)/riscv32)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s $(RV32_FLAGS) BUILD=$(BUILD)/riscv32 \
		$(QEMU_FLAGS) USER_C_MODULES=$(ROOT)
	@touch $(BUILD)/riscv32/anne.stamp

firmware: unix unix-asan qemu-m3 qemu-m0 qemu-m4f qemu-rv32

# The Raspberry Pi Pico: MicroPython's rp2 port with anne (through
# c_glue/micropython.cmake) and the board library frozen in, next to the
# port's own _boot.py (littlefs) and asyncio: build/rp2/firmware.uf2 (.elf).
# tools/deps.sh rp2 fetches pico-sdk, tinyusb, mbedtls and picotool from
# Debian and builds picotool. (CMAKE_ARGS must be in the environment: on the
# command line it would replace the port Makefile's own.)
# RP2_MODEL=MODEL.anne freezes a model too, as the module anne_model
# (anne_net.load(anne_model.DATA) uses its weights in place, from flash):
# build/rp2-model/ (tools/freeze_model.py).
RP2_BOARD ?= RPI_PICO
RP2_MODEL ?=
RP2 := $(BUILD)/$(if $(filter RPI_PICO,$(RP2_BOARD)),rp2,rp2-$(RP2_BOARD))$(if $(RP2_MODEL),-model)
RP2_MANIFEST := $(if $(RP2_MODEL),$(RP2)/model/manifest.py,$(ROOT)/tools/boards/rp2/manifest.py)
RP2_CMAKE_ARGS = CMAKE_ARGS="-Dpicotool_DIR=$(BUILD)/picotool/lib/cmake/picotool -DMICROPY_LIB_DIR=$(NO_MPY_LIB)"
# The Rust kernels at opt-level "s", as in the armv6m anne.mpy (as fast on
# the M0: docs/performance.md): the Pico's firmware must stay within the 640 KB
# before its 1408 KB filesystem, a frozen model included (RP2_FIT checks it).
RP2_BUILD = $(RP2_CMAKE_ARGS) CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
	RUSTC=$(DEBIAN_RUSTC) RUSTC_BOOTSTRAP=1 ANNE_CARGO=$(DEBIAN_CARGO) ANNE_CARGO_FLAGS=-Zbuild-std=core \
		$(MAKE) -C $(MICROPY_DIR)/ports/rp2 -j2 -s BOARD=$(RP2_BOARD) BUILD=$(RP2)/build \
		FROZEN_MANIFEST=$(RP2_MANIFEST) USER_C_MODULES=$(ROOT)/c_glue/micropython.cmake
# (with a model: built again once if its float data was not 4-byte aligned)
FREEZE_ALIGN = $(PYTHON) tools/freeze_model.py --align $(RP2)/build/firmware.elf $(RP2_MODEL) $(RP2)/model
RP2_FIT = @n=$$(stat -c %s $(RP2)/build/firmware.bin); [ $$n -le 655360 ] || { echo "make rp2: the firmware \
	is $$n bytes, more than the 655360 (640 KB) before the Pico's filesystem: a smaller model, or none" >&2; exit 1; }
rp2: $(BUILD)/mpy-cross.stamp
	tools/deps.sh rp2
	$(if $(RP2_MODEL),$(PYTHON) tools/freeze_model.py $(RP2_MODEL) $(RP2)/model)
	$(RP2_BUILD)
	$(if $(RP2_MODEL),$(FREEZE_ALIGN) || { $(RP2_BUILD) && $(FREEZE_ALIGN); })
	$(if $(filter RPI_PICO,$(RP2_BOARD)),$(RP2_FIT))
	cp $(RP2)/build/firmware.uf2 $(RP2)/build/firmware.elf $(RP2)/build/firmware.elf.map $(RP2)/

# The Pico's firmware with a model frozen in (the fixture wide.anne), for
# tests/host/test_rp2.py: build/rp2-model/.
rp2-model:
	$(MAKE) rp2 RP2_MODEL=tests/fixtures/models/wide.anne

# The Pico's stock firmware: the same port, board and sources without anne
# and without the board library (tools/boards/rp2/manifest-stock.py), for
# anne.mpy in /lib (tools/run-on --stock rp2040): build/rp2-stock/.
rp2-stock: $(BUILD)/mpy-cross.stamp
	tools/deps.sh rp2
	$(RP2_CMAKE_ARGS) $(MAKE) -C $(MICROPY_DIR)/ports/rp2 -j2 -s BOARD=RPI_PICO BUILD=$(BUILD)/rp2-stock/build \
		FROZEN_MANIFEST=$(ROOT)/tools/boards/rp2/manifest-stock.py
	cp $(BUILD)/rp2-stock/build/firmware.uf2 $(BUILD)/rp2-stock/build/firmware.elf $(BUILD)/rp2-stock/

# The Pico 2 (RP2350, Cortex-M33; the port builds it -mfloat-abi=softfp, so
# the Rust target is thumbv8m.main-none-eabi): build/rp2-RPI_PICO2/. Built
# and link-checked by make test (tests/host/test_rp2.py); no emulator runs it.
rp2-pico2:
	$(MAKE) rp2 RP2_BOARD=RPI_PICO2

# "Stock" firmware: the same ports and boards without anne and without the
# board library frozen in (nothing frozen at all), for the native module
# (anne.mpy) and the board library installed under /lib as mip puts them
# (tools/run-on --stock). The qemu MICROBIT board is built with the Thumb
# emitter, which loading native code needs (stock rp2 firmware has it on).
STOCK := FROZEN_MANIFEST=
unix-stock: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 -s BUILD=$(BUILD)/unix-stock $(UNIX_PORT_FLAGS) $(STOCK)

# (The stock M3 and M4F have 1.25 MB of heap: tests/host/test_mip.py keeps
# the files mip writes in a RAM filesystem in the heap, 343 KB, and loading
# the 180 KB armv7m anne.mpy then needs one block that large; their
# firmware still ends below run-on's images at 0x1A0000.)
qemu-m3-stock: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MPS2_AN385 BUILD=$(BUILD)/cortex-m3-stock \
		MICROPY_HEAP_SIZE=1310720 $(STOCK)

# The stock Cortex-M0 stands in for a Pico on stock rp2 firmware, which has
# about 240 KB of heap free at boot: 224 KB of the board's 256 KB here (a
# native module lives in the heap; anne.mpy takes about 79 KB of it).
qemu-m0-stock: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s BOARD=MICROBIT BUILD=$(BUILD)/cortex-m0-stock \
		MICROPY_HEAP_SIZE=229376 $(STOCK) CFLAGS_EXTRA="-DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0"

qemu-m4f-stock: $(BUILD)/mpy-cross.stamp
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s $(M4F_BOARD) BUILD=$(BUILD)/cortex-m4f-stock \
		MICROPY_HEAP_SIZE=1310720 $(STOCK)

# The stock VIRT_RV32 board (MicroPython's own build loads native code:
# the rv32imc anne.mpy).
qemu-rv32-stock: $(BUILD)/mpy-cross.stamp riscv-deps
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s $(RV32_FLAGS) BUILD=$(BUILD)/riscv32-stock $(STOCK)

stock: unix-stock qemu-m3-stock qemu-m0-stock qemu-m4f-stock qemu-rv32-stock

# The native module: build/natmod/ARCH/anne.mpy (c_glue/natmod/Makefile),
# the board library compiled with mpy-cross (build/natmod/lib/*.mpy), and a
# mip package.json per arch (build/natmod/ARCH/package.json). make test runs
# the NATMOD_ARCHS on emulated boards, and rv32imc (ESP32-C3/C6) on the
# stock VIRT_RV32 board (Debian's RISC-V toolchain: tools/deps.sh riscv).
NATMOD_ARCHS := x64 armv6m armv7m armv7emsp
NATMOD := $(BUILD)/natmod
BOARD_LIB := $(wildcard micropython/anne_*.py)
natmod: $(addprefix natmod-,$(NATMOD_ARCHS) rv32imc) $(addsuffix -lite,$(addprefix natmod-,$(NATMOD_ARCHS) rv32imc))
natmod-run: $(addprefix natmod-,$(NATMOD_ARCHS)) natmod-rv32imc natmod-x64-lite natmod-armv6m-lite
natmod-rv32imc-lite: riscv-deps
natmod-rv32imc: riscv-deps
riscv-deps:
	tools/deps.sh riscv
natmod-%: $(BUILD)/mpy-cross.stamp natmod-lib
	$(MAKE) -C c_glue/natmod -s MPY_DIR=$(MICROPY_DIR) ARCH=$* BUILD=$(NATMOD)/$* ANNE_CARGO="$(CROSS_CARGO)"
	$(PYTHON) tools/natmod_package.py $* $(NATMOD)

# The inference-only native module, build/natmod/ARCH-lite/anne.mpy (and its
# package.json): the glue without the training functions (ANNE_TRAIN=0) and
# the Rust kernels at opt-level "s" (on the FPU, armv7emsp, at 3: "s" keeps
# the dense loops from being unrolled, 3x the instructions, for 7 KB).
# Native modules live in RAM: on the RP2040 it takes 33 KB of it where the
# full module takes 87 KB. anne_net trains on its pure-Python backend there.
natmod-%-lite: $(BUILD)/mpy-cross.stamp natmod-lib
	$(MAKE) -C c_glue/natmod -s MPY_DIR=$(MICROPY_DIR) ARCH=$* BUILD=$(NATMOD)/$*-lite ANNE_TRAIN=0 \
		ANNE_OPT_LEVEL=$(if $(filter armv7emsp,$*),3,s) ANNE_CARGO="$(CROSS_CARGO)"
	$(PYTHON) tools/natmod_package.py $*-lite $(NATMOD)

natmod-lib: $(patsubst micropython/%.py,$(NATMOD)/lib/%.mpy,$(BOARD_LIB))
$(NATMOD)/lib/%.mpy: micropython/%.py $(BUILD)/mpy-cross.stamp
	@mkdir -p $(dir $@)
	$(MICROPY_DIR)/mpy-cross/build/mpy-cross -s $(notdir $<) -o $@ $<

# The release folder: build/dist/ holds every architecture's anne.mpy and
# mip package (full and -lite), the board library as .mpy, the Pico's and the
# Pico 2's firmware.uf2, SHA256SUMS and an index (README.md) saying which
# file a board needs and the line that installs it (tools/make_dist.py).
dist: natmod rp2 rp2-pico2
	$(PYTHON) tools/make_dist.py $(BUILD)

test: deps firmware natmod-run stock rp2 rp2-pico2 rp2-model dist test-rust test-host test-nopanic test-board test-rp2040 test-suite

test-rust: deps
	$(TEST_CARGO) test --quiet

# Two at a time (pytest-xdist), a test file's tests on one worker, in order.
test-host: deps
	ANNE_REQUIRE_BUILDS=1 $(PYTHON) -m pytest -q -n 2 --dist loadfile tests/host

# MicroPython's own tests (basics, float, micropython) end the same way with
# anne linked in as without it, on the unix port and the emulated M3.
test-suite: unix unix-plain qemu-m3 qemu-m3-plain
	$(PYTHON) tests/run_micropython_suite.py unix $(UNIX_FW) $(BUILD)/unix-plain/micropython
	$(PYTHON) tests/run_micropython_suite.py cortex-m3 $(M3_FW) $(BUILD)/cortex-m3-plain/firmware.elf

# No firmware may hold a Rust panic path (core::panicking::*, panic_fmt).
test-nopanic: firmware natmod-run
	tools/check-no-panic $(UNIX_FW) $(ASAN_FW) $(M3_FW) $(M0_FW) $(M4F_FW) $(RV32_FW) $(NATMOD_ARCHS:%=$(NATMOD)/%/anne.o) \
		$(NATMOD)/rv32imc/anne.o \
		$(NATMOD)/x64-lite/anne.o $(NATMOD)/armv6m-lite/anne.o

# Built-in anne on 6 firmwares; anne.mpy + the board library in /lib on the
# 5 stock ones (TARGET-stock: tools/run-on --stock), and the inference-only
# anne.mpy on 2 of them (TARGET-lite: --stock --lite).
BOARD_TARGETS := unix unix-asan cortex-m3 cortex-m0 cortex-m4f riscv32 riscv32-stock unix-stock cortex-m3-stock cortex-m0-stock cortex-m4f-stock \
	unix-lite cortex-m0-lite
test-board: firmware natmod-run stock
	$(PYTHON) tests/run_board_tests.py $(BOARD_TARGETS) $(BOARD_EXCLUDE)

# Every script runs on every target, but for the subsets and runs named here.
# The stock Cortex-M0 (a Pico's heap, 224 KB, with the full armv6m anne.mpy,
# 108 KB, and the board library loaded into it) runs a representative
# subset, M0_STOCK_TESTS: the module's calls, bad input, special values,
# loading and editing, the Keras models of Dense and Conv1D, quantizing,
# training a CNN chain and Dense graphs (test_train.py's runs are out). The scripts left out of it (int8 and
# float CNNs and graphs, editing a ResNet, the fuzzer, the reliability runs)
# load fixtures or networks that leave no block big enough in what is left
# of that heap, where they fail with MemoryError at a place that moves with
# every change to the module or the library; they run on the built-in
# Cortex-M0 (the same instruction set) and with the inference-only module
# on cortex-m0-lite. Making the armv6m module smaller brings them back.
# The inference-only module trains on the Python loop (on its kernels): on
# unix-lite; cortex-m0-lite leaves out the training scripts (and
# test_graph_edit, which trains and quantizes a resized ResNet).
M0_STOCK_TESTS := bad_input,glue_safety,int8_fast,keras_kernels,net_build,net_edit,net_fallback,net_habits,net_keras,net_load,net_outputs,net_upsampling,quantize.py,quantize_merges,quantize_tables,regressions,reliability_train,special_values,train_2d,train_graph
# The stock Cortex-M3, M4F and RISC-V (anne.mpy and the board library in /lib)
# leave out the Keras and LiteRT parity of whole models and graphs, the
# reliability scripts and the fuzzer: the same kernels, compiled the same
# way for the module, run every other script there (the module's calls,
# bad input, training, int8, quantizing), and the parity runs on the same
# instruction sets built in (cortex-m3, cortex-m4f, riscv32) and on
# unix-stock (x64's anne.mpy).
STOCK_PARITY_OUT := test_net_keras.py test_int8_graph.py test_net_graph.py test_quantize_resnet.py \
	test_reliability_net.py test_reliability_train.py test_fuzz.py
BOARD_EXCLUDE := --only "cortex-m0-stock:$(M0_STOCK_TESTS)" \
	$(foreach t,cortex-m3-stock cortex-m4f-stock riscv32-stock,$(foreach s,$(STOCK_PARITY_OUT),-x "$(t) tests/board/$(s)")) \
	-x "cortex-m0-lite tests/board/test_int8.py" \
	-x "cortex-m0-stock tests/board/test_train_2d.py [cnn_adam_depthwise]" \
	-x "cortex-m0-stock tests/board/test_train_2d.py [cnn_sgd_separable]" \
	-x "cortex-m0-stock tests/board/test_net_keras.py [affine_kept conv_har]" \
	-x "cortex-m0-stock tests/board/test_train_graph.py [graph_conv_residual]" \
	-x "cortex-m0-stock tests/board/test_train_graph.py [graph_mul_sub]" \
	-x "cortex-m0-lite tests/board/test_train" -x "cortex-m0-lite tests/board/test_reliability_train.py" \
	-x "cortex-m0-lite tests/board/test_graph_edit.py" \
	-x "cortex-m0-lite tests/board/test_int8_graph.py"

# The emulated Pico (rp2040py: 3-4 million instructions a second) runs a
# representative subset: the module's bad input and special values,
# building, editing and Conv1D networks, the regressions. The rest (the
# Keras kernels and models, loading the 131 bad files, training, the
# fuzzer) runs on the Cortex-M0, the same instruction set, in test-board.
RP2040_TESTS := bad_input,special_values,net_build,net_edit,net_conv.py,regressions
# On the stock rp2 firmware (anne.mpy and the board library copied into
# /lib over the emulated USB console: about 6 minutes, its own timeout),
# one test.
RP2040_STOCK_TESTS := net_build
# And the keyword spotter's int8 network (examples/kws, docs/cnn-examples.md)
# on its 24 held-out clips, identical to LiteRT's outputs or the script
# raises: 4.0 M instructions a clip, about 2 minutes with the copy of the
# files. The committed kws_int8.anne is the converter's
# (tests/host/test_cnn_examples.py).
RP2040_KWS := tools/run-on --timeout 900 rp2040 examples/kws/kws.py examples/kws/kws_int8.anne \
	examples/kws/kws_test_int8.jsonl
# Two emulators at a time: the stock Pico's run (the longest) beside the
# scripts, one at a time, then the keyword spotter. (A run may take 15
# minutes before it counts as hung, not run-on's 5.)
test-rp2040: rp2 rp2-stock natmod-armv6m
	$(MAKE) -s -j2 -Otarget test-rp2040-stock test-rp2040-scripts
test-rp2040-stock:
	ANNE_RUN_TIMEOUT=1500 $(PYTHON) tests/run_board_tests.py rp2040-stock -k $(RP2040_STOCK_TESTS)
test-rp2040-scripts:
	ANNE_RUN_TIMEOUT=900 $(PYTHON) tests/run_board_tests.py -j1 rp2040 -k $(RP2040_TESTS)
	$(RP2040_KWS)

# A long fuzz run (tests/board/test_fuzz.py, bounded in make test) on the
# unix port under ASan + UBSan: FUZZ_SEEDS seeds, FUZZ_CALLS calls each.
FUZZ_SEEDS ?= 1 2 3 4 5 6 7 8
FUZZ_CALLS ?= 50000
fuzz: unix-asan
	@for s in $(FUZZ_SEEDS); do \
		echo '{"seed": '$$s', "calls": $(FUZZ_CALLS), "files": $(FUZZ_CALLS)}' > $(BUILD)/fuzz.json; \
		tools/run-on --timeout 7200 unix-asan tests/board/test_fuzz.py tests/board/boardcheck.py \
			tests/fixtures/models/iris3.anne tests/fixtures/models/conv_norm.anne $(BUILD)/fuzz.json || exit 1; \
	done

# The demo: Keras models -> .anne files (host converter) -> the board.
DIGITS := 0,1,2,3,4,5,6,7,8,9
WORDS := rise,fall,hum,silence
DEMO_FW := $(if $(filter unix,$(TARGET)),unix,$(if $(filter cortex-m0,$(TARGET)),qemu-m0,$(if $(filter cortex-m4f,$(TARGET)),qemu-m4f,$(if $(filter riscv32,$(TARGET)),qemu-rv32,$(if $(filter rp2040,$(TARGET)),rp2,qemu-m3)))))
demo: deps $(DEMO_FW)
	@mkdir -p $(BUILD)/demo
	@echo "== Converting the Keras models (tools/anne_convert.py, no TensorFlow needed)"
	$(PYTHON) tools/anne_convert.py examples/iris/ai_anne_8.keras -o $(BUILD)/demo/ai_anne_8.anne --classes versicolor,virginica
	$(PYTHON) tools/anne_convert.py examples/iris/ai_anne_6.keras -o $(BUILD)/demo/ai_anne_6.anne --classes versicolor,virginica
	$(PYTHON) tools/anne_convert.py examples/iris/iris3.keras -o $(BUILD)/demo/iris3.anne --classes setosa,versicolor,virginica \
		--features "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"
	@echo "== AI-ANNE's two Iris networks on the emulated $(TARGET), as Keras trained them"
	tools/run-on $(TARGET) examples/iris/ai_anne.py $(BUILD)/demo/ai_anne_8.anne $(BUILD)/demo/ai_anne_6.anne examples/iris/ai_anne_8.json
	@echo "== A 3-class Iris model trained in Keras, on the emulated $(TARGET)"
	tools/run-on $(TARGET) examples/iris/iris3.py $(BUILD)/demo/iris3.anne examples/iris/iris3.json
	@echo "== The same model in int8: quantized on the PC (anne-convert --quantize int8) and on the emulated $(TARGET) (net.quantize)"
	$(PYTHON) tools/anne_convert.py examples/iris/iris3.keras -o $(BUILD)/demo/iris3_int8.anne --classes setosa,versicolor,virginica \
		--quantize int8 --calibration examples/iris/iris_train.json
	tools/run-on $(TARGET) examples/iris/iris3_int8.py $(BUILD)/demo/iris3.anne $(BUILD)/demo/iris3_int8.anne \
		examples/iris/iris3.json examples/iris/iris_train.json
	@echo "== Raw readings into a Keras model that starts with Normalization, on the emulated $(TARGET)"
	tools/run-on $(TARGET) examples/tabular/tabular.py tests/fixtures/models/norm_tabular.anne tests/fixtures/models/norm_tabular.json
	@echo "== Human activity from a 3-axis accelerometer stream: Conv1D, sample by sample, on the emulated $(TARGET)"
	$(PYTHON) tools/anne_convert.py examples/har/har.keras -o $(BUILD)/demo/har.anne --classes still,walking,running --features x,y,z
	tools/run-on $(TARGET) examples/har/har.py $(BUILD)/demo/har.anne examples/har/har_stream.json
	@echo "== The same network with its first Conv1D made narrower, retrained on the emulated $(TARGET) with fit()"
	tools/run-on $(TARGET) examples/har/retrain.py $(BUILD)/demo/har.anne examples/har/har_stream.json
	@echo "== Handwritten digits (8x8): a small CNN from Keras in float32 and from TensorFlow's .tflite in int8, on the emulated $(TARGET)"
	$(PYTHON) tools/anne_convert.py examples/digits/digits.keras -o $(BUILD)/demo/digits.anne --classes $(DIGITS)
	$(PYTHON) tools/anne_convert.py examples/digits/digits.tflite -o $(BUILD)/demo/digits_int8.anne --classes $(DIGITS)
	tools/run-on $(TARGET) examples/digits/digits.py $(BUILD)/demo/digits.anne $(BUILD)/demo/digits_int8.anne \
		examples/digits/digits_test.jsonl examples/digits/digits_test_int8.jsonl
	@echo "== The digits CNN with its second Conv2D made narrower, retrained on the emulated $(TARGET) with fit()"
	tools/run-on $(TARGET) examples/digits/retrain.py $(BUILD)/demo/digits.anne \
		examples/digits/digits_train.jsonl examples/digits/digits_test.jsonl
	@echo "== A keyword spotter (a DS-CNN on spectrograms) in float32 and int8, on the emulated $(TARGET)"
	$(PYTHON) tools/anne_convert.py examples/kws/kws.keras -o $(BUILD)/demo/kws.anne --classes $(WORDS)
	$(PYTHON) tools/anne_convert.py examples/kws/kws.tflite -o $(BUILD)/demo/kws_int8.anne --classes $(WORDS)
	tools/run-on $(TARGET) examples/kws/kws.py $(BUILD)/demo/kws.anne $(BUILD)/demo/kws_int8.anne \
		examples/kws/kws_test.jsonl examples/kws/kws_test_int8.jsonl

repl: deps
	tools/run-on --repl $(TARGET)

# Benchmarks (bench/): firmwares of their own under build/bench (the tests'
# build/cortex-m3 and build/cortex-m0 stay as they are): anne + frozen anne_net
# + a bench-only binding of emlearn's eml_net, and a "plain" one without anne
# (emlearn_bench only; same flags, same heap) for the size and float-loop
# comparisons. Then bench/run_bench.py runs everything under qemu -icount.
BENCH := $(BUILD)/bench
BENCH_PIP := emlearn matplotlib
BENCH_MODS := $(BENCH)/usermods
BENCH_PLAIN_MODS := $(BENCH)/usermods-plain
BENCH_QEMU = $(MAKE) -C $(MICROPY_DIR)/ports/qemu -j2 -s $(QEMU_FLAGS) \
	EMLEARN_INCLUDE="$$($(PYTHON) -c 'import emlearn; print(emlearn.includedir)')"
BENCH_M3 = $(BENCH_QEMU) BOARD=MPS2_AN385 MICROPY_HEAP_SIZE=1048576
BENCH_M0 = $(BENCH_QEMU) BOARD=MICROBIT MICROPY_HEAP_SIZE=196608
BENCH_M4F = $(BENCH_QEMU) $(M4F_BOARD) MICROPY_HEAP_SIZE=1048576
BENCH_RV32 = $(BENCH_QEMU) $(RV32_FLAGS)

# BENCH_ONLY=int8: only the int8 section (bench/run_bench.py --only int8: the
# int8 kernels and networks, and the float32 anne_net figures they are set
# against), on the firmwares with anne only (no plain, stock or natmod builds).
BENCH_ONLY ?=
bench: bench-firmware bench-cnn $(if $(BENCH_ONLY),,qemu-rv32 natmod-run natmod-armv7m-lite natmod-armv7emsp-lite natmod-rv32imc-lite stock bench-models)
	$(PYTHON) bench/run_bench.py --out $(BENCH) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

# Whole models: MLPerf Tiny's four architectures (random weights) on the
# test firmwares (bench/models.py; build/bench/models.md).
bench-models: qemu-m3 qemu-m0 qemu-m4f qemu-rv32
	$(PYTHON) bench/models.py --out $(BENCH)

# The int8 CNN kernels of issue 30 (conv 3x3, conv 1x1, depthwise 3x3) per
# multiply-add on the test firmwares, beside CMSIS-NN's figures
# (bench/cnn_kernels.py; build/bench/cnn_kernels.md).
bench-cnn: qemu-m3 qemu-m0 qemu-m4f
	$(PYTHON) bench/cnn_kernels.py --out $(BENCH)

bench-firmware: $(BUILD)/mpy-cross.stamp riscv-deps
	@$(PYTHON) -c "import emlearn, matplotlib" 2>/dev/null || $(PYTHON) -m pip install -q $(BENCH_PIP)
	@mkdir -p $(BENCH_MODS) $(BENCH_PLAIN_MODS)
	@ln -sfn $(ROOT)/c_glue $(BENCH_MODS)/anne
	@ln -sfn $(ROOT)/bench/emlearn_mod $(BENCH_MODS)/emlearn_bench
	@ln -sfn $(ROOT)/bench/emlearn_mod $(BENCH_PLAIN_MODS)/emlearn_bench
	$(BENCH_M3) BUILD=$(BENCH)/cortex-m3 USER_C_MODULES=$(BENCH_MODS)
	$(BENCH_M0) BUILD=$(BENCH)/cortex-m0 USER_C_MODULES=$(BENCH_MODS)
	$(BENCH_M4F) BUILD=$(BENCH)/cortex-m4f USER_C_MODULES=$(BENCH_MODS)
	$(BENCH_RV32) BUILD=$(BENCH)/riscv32 USER_C_MODULES=$(BENCH_MODS)
ifeq ($(BENCH_ONLY),)
	$(BENCH_M3) BUILD=$(BENCH)/cortex-m3-plain USER_C_MODULES=$(BENCH_PLAIN_MODS)
	$(BENCH_M0) BUILD=$(BENCH)/cortex-m0-plain USER_C_MODULES=$(BENCH_PLAIN_MODS)
	$(BENCH_M4F) BUILD=$(BENCH)/cortex-m4f-plain USER_C_MODULES=$(BENCH_PLAIN_MODS)
	$(BENCH_RV32) BUILD=$(BENCH)/riscv32-plain USER_C_MODULES=$(BENCH_PLAIN_MODS)
endif

clean:
	rm -rf $(BUILD)/unix $(BUILD)/unix-asan $(ASAN_MP) $(BUILD)/unix-plain $(BUILD)/cortex-m3 $(BUILD)/cortex-m3-plain \
		$(BUILD)/cortex-m0 $(BUILD)/cortex-m4f $(BUILD)/riscv32 $(BUILD)/*-stock $(BUILD)/natmod $(BUILD)/bench $(BUILD)/cargo-test $(BUILD)/cargo-cross target
