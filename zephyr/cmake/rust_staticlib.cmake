# SPDX-License-Identifier: Apache-2.0
#
# Builds the Rust part of the driver (crate rust/w5500-zephyr) as a static library for the
# board's CPU and links it with the module's C library (w5500_rust_staticlib). Used only when
# the application is C; a zephyr-lang-rust application (CONFIG_RUST) links the crate through
# its own staticlib and takes only the linker options (w5500_rust_ld_options).

include_guard(GLOBAL)
include(CheckLinkerFlag)

# Zephyr CPU Kconfig -> Rust target triple. The same mapping as zephyr-lang-rust's
# _rust_map_target() (written out here, not copied), except for 64-bit native boards:
# lang-rust uses x86_64-unknown-none, which needs its rust-std component; we build for
# x86_64-unknown-linux-gnu instead (also no_std here; the archive links into the native
# executable the same way). Override with -DW5500_RUST_TARGET=<triple>.
function(w5500_rust_map_target out)
  if(CONFIG_CPU_CORTEX_M)
    if(CONFIG_CPU_CORTEX_M0 OR CONFIG_CPU_CORTEX_M0PLUS OR CONFIG_CPU_CORTEX_M1)
      set(t thumbv6m-none-eabi)
    elseif(CONFIG_CPU_CORTEX_M3)
      set(t thumbv7m-none-eabi)
    elseif(CONFIG_CPU_CORTEX_M4 OR CONFIG_CPU_CORTEX_M7)
      if(CONFIG_FP_HARDABI)
        set(t thumbv7em-none-eabihf)
      else()
        set(t thumbv7em-none-eabi)
      endif()
    elseif(CONFIG_CPU_CORTEX_M23)
      set(t thumbv8m.base-none-eabi)
    elseif(CONFIG_CPU_CORTEX_M33 OR CONFIG_CPU_CORTEX_M55)
      if(CONFIG_FP_HARDABI)
        set(t thumbv8m.main-none-eabihf)
      else()
        set(t thumbv8m.main-none-eabi)
      endif()
    else()
      message(FATAL_ERROR "w5500-offload: no Rust target for this Cortex-M")
    endif()
  elseif(CONFIG_RISCV)
    if(CONFIG_RISCV_ISA_RV64I)
      set(t riscv64imac-unknown-none-elf)
    elseif(CONFIG_RISCV_ISA_RV32I)
      set(t riscv32imac-unknown-none-elf)
    else()
      message(FATAL_ERROR "w5500-offload: no Rust target for this RISC-V ISA")
    endif()
  elseif(CONFIG_ARCH_POSIX AND CONFIG_64BIT AND CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "x86_64")
    set(t x86_64-unknown-linux-gnu)
  elseif(CONFIG_ARCH_POSIX AND CONFIG_64BIT AND CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "aarch64")
    set(t aarch64-unknown-linux-gnu)
  else()
    message(FATAL_ERROR "w5500-offload: no Rust target for this architecture "
      "(32-bit native boards are not supported: use native_posix_64 / native_sim/native/64)")
  endif()
  set(${out} ${t} PARENT_SCOPE)
endfunction()

# Linker options for an image with Rust objects in it: the module's own archive (C
# application) or the application's librustapp.a (zephyr-lang-rust, CONFIG_RUST).
function(w5500_rust_ld_options)
  if(NOT CONFIG_ARCH_POSIX)
    # Rust objects carry .note.GNU-stack and Zephyr's do not; ld >= 2.39 then warns about an
    # executable stack ("isr_tables.c.obj: missing .note.GNU-stack section implies executable
    # stack"), which means nothing on an MCU, and is fatal where warnings are errors (twister).
    check_linker_flag(C "-Wl,--no-warn-execstack" W5500_LD_HAS_NO_WARN_EXECSTACK)
    if(W5500_LD_HAS_NO_WARN_EXECSTACK)
      zephyr_ld_options(-Wl,--no-warn-execstack)
    endif()
  endif()
endfunction()

# w5500_rust_staticlib(<zephyr library target>)
function(w5500_rust_staticlib lib)
  set(rust_dir ${ZEPHYR_W5500_OFFLOAD_MODULE_DIR}/rust)
  if(NOT W5500_RUST_TARGET)
    w5500_rust_map_target(W5500_RUST_TARGET)
  endif()
  # Exactly the crate features the Kconfig asks for (no cargo defaults). `c-log`: the Rust
  # crates' log records reach Zephyr's logging as static strings and integers (no Rust
  # formatting in the image); records below CONFIG_W5500_OFFLOAD_LOG_LEVEL are compiled out.
  set(feature_list panic-handler c-log)
  if(NOT CONFIG_LOG OR CONFIG_W5500_OFFLOAD_LOG_LEVEL EQUAL 0)
    list(APPEND feature_list log-level-off)
  elseif(CONFIG_W5500_OFFLOAD_LOG_LEVEL EQUAL 1)
    list(APPEND feature_list log-level-err)
  elseif(CONFIG_W5500_OFFLOAD_LOG_LEVEL EQUAL 2)
    list(APPEND feature_list log-level-wrn)
  elseif(CONFIG_W5500_OFFLOAD_LOG_LEVEL EQUAL 3)
    list(APPEND feature_list log-level-inf)
  endif()
  if(CONFIG_W5500_OFFLOAD_EMUL AND NOT CONFIG_W5500_OFFLOAD_EMUL_BRIDGE)
    # The in-image simulator; with the bridge it runs in the w5500-sim process instead.
    list(APPEND feature_list emul)
  endif()
  if(CONFIG_W5500_OFFLOAD_DNS_TCP)
    list(APPEND feature_list dns-tcp)
  endif()
  if(CONFIG_W5500_OFFLOAD_DHCP_PROBE)
    list(APPEND feature_list dhcp-probe)
  endif()
  if(CONFIG_W5500_OFFLOAD_DNS_CACHE)
    list(APPEND feature_list dns-cache)
  endif()
  list(JOIN feature_list "," features_csv)
  set(features --no-default-features --features ${features_csv})
  # What changes the archive besides the target: the cargo features. Each feature set gets
  # its own target directory, so builds that share W5500_CARGO_TARGET_DIR (a twister run with
  # simulator and real-board images of one CPU) never overwrite each other's
  # libw5500_zephyr.a between cargo writing it and the link reading it. A shared target dir
  # lets several builds reuse one compilation per feature set; cargo locks it.
  list(JOIN feature_list "+" feature_set)
  if(DEFINED ENV{W5500_CARGO_TARGET_DIR})
    set(target_dir $ENV{W5500_CARGO_TARGET_DIR}/features-${feature_set})
  else()
    set(target_dir ${CMAKE_BINARY_DIR}/w5500-rust)
  endif()
  # Always the `zephyr` profile (rust/Cargo.toml: release at opt-level "z"): panic = "abort",
  # size first, LTO (debug Rust code does not fit small MCUs and needs unwinding support).
  set(archive ${target_dir}/${W5500_RUST_TARGET}/zephyr/libw5500_zephyr.a)
  # Runs on every build; cargo decides what is stale. Built from rust/, so that
  # rust-toolchain.toml selects the pinned toolchain.
  add_custom_target(w5500_rust_build
    COMMAND cargo rustc -p w5500-zephyr --lib --profile zephyr --locked
            --target ${W5500_RUST_TARGET} --target-dir ${target_dir}
            ${features} --crate-type staticlib
    BYPRODUCTS ${archive}
    WORKING_DIRECTORY ${rust_dir}
    COMMENT "Building Rust w5500-zephyr for ${W5500_RUST_TARGET}"
    USES_TERMINAL
  )
  add_library(w5500_rust STATIC IMPORTED GLOBAL)
  set_target_properties(w5500_rust PROPERTIES IMPORTED_LOCATION ${archive})
  add_dependencies(w5500_rust w5500_rust_build)
  add_dependencies(${lib} w5500_rust_build)
  # The C library references the Rust exports and the Rust archive references the C shim:
  # the archive goes after the (whole-archive) Zephyr libraries on the final link line.
  zephyr_link_libraries(w5500_rust)
  w5500_rust_ld_options()
  message(STATUS "w5500-offload: Rust target ${W5500_RUST_TARGET}, features ${features_csv}, ${archive}")
endfunction()
