# emlearn_bench: a bench-only MicroPython user C module binding emlearn's
# eml_net (header-only C99, shipped in the `emlearn` PyPI package), so that
# bench/run_bench.py can time it next to anne in the same firmware.
# Built only by `make bench` (USER_C_MODULES=build/bench/usermods, where this
# folder is linked as emlearn_bench/). EMLEARN_INCLUDE: the folder holding
# eml_net.h; found through the emlearn package when not given.

EMLEARN_INCLUDE ?= $(shell python3 -c "import emlearn; print(emlearn.includedir)")
EMLEARN_BENCH_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(EMLEARN_BENCH_DIR)/emlearn_bench.c
CFLAGS_USERMOD += -I$(EMLEARN_INCLUDE)
