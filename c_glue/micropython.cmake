# anne as a MicroPython user C module for CMake ports (rp2, esp32):
#   make -C ports/rp2 USER_C_MODULES=<anne checkout>/c_glue/micropython.cmake
# Builds the Rust kernels with cargo for ANNE_RUST_TARGET and links them.
#   rp2 (RP2040, Cortex-M0+): thumbv6m-none-eabi (the default here)
#   rp2 (RP2350, Cortex-M33): thumbv8m.main-none-eabihf
#   esp32-c3/c6 (RISC-V):     riscv32imc-unknown-none-elf / riscv32imac-unknown-none-elf
# Set it with -DANNE_RUST_TARGET=... or the environment variable of that name.

set(ANNE_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)
if(NOT ANNE_RUST_TARGET)
    if(DEFINED ENV{ANNE_RUST_TARGET})
        set(ANNE_RUST_TARGET $ENV{ANNE_RUST_TARGET})
    elseif(PICO_PLATFORM STREQUAL "rp2350-arm-s")
        set(ANNE_RUST_TARGET thumbv8m.main-none-eabihf)
    else()
        set(ANNE_RUST_TARGET thumbv6m-none-eabi)
    endif()
endif()
if(NOT ANNE_CARGO)
    set(ANNE_CARGO $ENV{ANNE_CARGO})
    if(NOT ANNE_CARGO)
        set(ANNE_CARGO cargo)
    endif()
endif()
separate_arguments(ANNE_CARGO_FLAGS_LIST UNIX_COMMAND "$ENV{ANNE_CARGO_FLAGS}")

set(ANNE_CARGO_DIR ${CMAKE_BINARY_DIR}/anne-rust)
set(ANNE_LIB ${ANNE_CARGO_DIR}/${ANNE_RUST_TARGET}/release/libanne.a)

add_custom_target(anne_rust
    COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${ANNE_CARGO_DIR}
            ${ANNE_CARGO} rustc --quiet --release --lib --crate-type staticlib --target ${ANNE_RUST_TARGET} ${ANNE_CARGO_FLAGS_LIST}
    COMMAND ${CMAKE_OBJCOPY} --remove-section=.ARM.exidx* --remove-section=.ARM.extab* ${ANNE_LIB}
    WORKING_DIRECTORY ${ANNE_ROOT}
    BYPRODUCTS ${ANNE_LIB}
    COMMENT "Building anne's Rust kernels for ${ANNE_RUST_TARGET}"
)

add_library(usermod_anne INTERFACE)
target_sources(usermod_anne INTERFACE ${CMAKE_CURRENT_LIST_DIR}/modanne.c)
target_include_directories(usermod_anne INTERFACE ${CMAKE_CURRENT_LIST_DIR})
add_dependencies(usermod_anne anne_rust)
target_link_libraries(usermod_anne INTERFACE ${ANNE_LIB})
target_link_libraries(usermod INTERFACE usermod_anne)
