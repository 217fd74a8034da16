# A hard-float Cortex-M4F board for MicroPython's qemu port: qemu's
# mps2-an386 (Cortex-M4 with a single-precision FPU), built with
#   make -C ports/qemu BOARD_DIR=<anne>/tools/boards/MPS2_AN386 ...
# MicroPython 1.25's startup code does not enable the FPU (CPACR is 0 at
# reset): qemu presets CPACR (full access to CP10/CP11) before the core runs.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386
QEMU_ARGS += -device loader,addr=0xE000ED88,data=0x00F00000,data-len=4,cpu-num=0

CFLAGS += -mthumb -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4F"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7emsp
