# anne as a MicroPython user C module for CMake ports (rp2, esp32):
#   make -C ports/rp2 USER_C_MODULES=<anne checkout>/c_glue/micropython.cmake
# Builds the Rust kernels with c_glue/build-rust.sh, the script
# micropython.mk uses too: the Rust target from the board's CPU (rp2040 ->
# thumbv6m, rp2350 Arm -> thumbv8m.main-eabi (softfp firmware: the soft-float
# ABI), rp2350 RISC-V -> riscv32imac,
# esp32-c3/c6 -> riscv32imc/imac; Xtensa esp32/s2/s3 stop with a message
# naming what they need), the .ARM.exidx sections stripped, and the symbols of
# the toolchain's libgcc and libc made local to the archive, so that the
# firmware keeps the toolchain's memmove and soft-float routines.
#
# Settings (CMake variables or environment): ANNE_RUST_TARGET (a Rust target
# triple, overrides the choice), ANNE_CARGO (default cargo; may hold
# arguments, e.g. "env RUSTC=/usr/bin/rustc cargo"), ANNE_CARGO_FLAGS,
# ANNE_TRAIN (1, the default, or 0: without the training functions).

set(ANNE_GLUE_DIR ${CMAKE_CURRENT_LIST_DIR})

# The CPU: the rp2 platform, the ESP-IDF target, or the compiler's -mcpu.
if(PICO_PLATFORM)
    set(ANNE_CPU ${PICO_PLATFORM})
elseif(IDF_TARGET)
    set(ANNE_CPU ${IDF_TARGET})
else()
    string(REGEX MATCH "-mcpu=([^ ]+)" _anne_mcpu "${CMAKE_C_FLAGS}")
    set(ANNE_CPU ${CMAKE_MATCH_1})
    if(NOT ANNE_CPU)
        set(ANNE_CPU unknown)
    endif()
endif()
string(REGEX MATCH "-mfloat-abi=([^ ]+)" _anne_fabi "${CMAKE_C_FLAGS}")
set(ANNE_FLOAT_ABI ${CMAKE_MATCH_1})
if(NOT ANNE_FLOAT_ABI)
    set(ANNE_FLOAT_ABI soft)
endif()

foreach(_anne_var ANNE_RUST_TARGET ANNE_CARGO ANNE_CARGO_FLAGS ANNE_TRAIN)
    if(NOT DEFINED ${_anne_var} AND DEFINED ENV{${_anne_var}})
        set(${_anne_var} $ENV{${_anne_var}})
    endif()
endforeach()

set(ANNE_CARGO_DIR ${CMAKE_BINARY_DIR}/anne-rust)
set(ANNE_LIB ${ANNE_CARGO_DIR}/libanne.a)
separate_arguments(_anne_cflags UNIX_COMMAND "${CMAKE_C_FLAGS}")

# Always run (cargo is incremental); the script replaces the archive only
# when its content changed.
add_custom_target(anne_rust
    COMMAND ${CMAKE_COMMAND} -E env
            "ANNE_RUST_TARGET=${ANNE_RUST_TARGET}" "ANNE_CARGO=${ANNE_CARGO}" "ANNE_CARGO_FLAGS=${ANNE_CARGO_FLAGS}"
            ${ANNE_GLUE_DIR}/build-rust.sh ${ANNE_LIB} ${ANNE_CARGO_DIR} ${ANNE_CPU} ${ANNE_FLOAT_ABI}
            ${CMAKE_C_COMPILER} ${_anne_cflags}
    BYPRODUCTS ${ANNE_LIB}
    VERBATIM
)

add_library(usermod_anne INTERFACE)
# The glue, one file per concept (mod_train.c empty without ANNE_TRAIN).
target_sources(usermod_anne INTERFACE ${ANNE_GLUE_DIR}/modanne.c ${ANNE_GLUE_DIR}/mod_kernels.c
    ${ANNE_GLUE_DIR}/mod_plan.c ${ANNE_GLUE_DIR}/mod_train.c)
target_include_directories(usermod_anne INTERFACE ${ANNE_GLUE_DIR})
if(NOT DEFINED ANNE_TRAIN)
    set(ANNE_TRAIN 1)
endif()
target_compile_definitions(usermod_anne INTERFACE ANNE_TRAIN=${ANNE_TRAIN})
add_dependencies(usermod_anne anne_rust)
target_link_libraries(usermod_anne INTERFACE ${ANNE_LIB})
target_link_libraries(usermod INTERFACE usermod_anne)
