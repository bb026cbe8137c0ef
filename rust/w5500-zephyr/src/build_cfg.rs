//! The crate's build-time switches, decided once from its cargo features and, inside a
//! zephyr-lang-rust application build, from the image's Kconfig. `build.rs` includes this file
//! and emits the result as `--cfg`s; the host tests include it too.
//!
//! Two ways to build this crate, one set of switches:
//! - **C application**: `zephyr/cmake/rust_staticlib.cmake` builds the crate as a staticlib and
//!   maps Kconfig to cargo features (`--features emul` for `CONFIG_W5500_OFFLOAD_EMUL`).
//! - **zephyr-lang-rust application** (`CONFIG_RUST`): the application's crate depends on this
//!   one, and `rust_cargo_application()` passes no features, only the environment variable
//!   `DOTCONFIG` (the image's `.config`), as it does for every crate it builds. Boolean Kconfig
//!   options are read from there, the way `zephyr_build::export_kconfig_bool_options()` does
//!   for the `zephyr` crate, so the same `prj.conf` line switches the same code in both builds.
//!
//! | cfg | on when |
//! |---|---|
//! | `w5500_emul` (simulator core, `emul` module) | feature `emul-core`, or `CONFIG_W5500_OFFLOAD_EMUL=y` without `CONFIG_W5500_OFFLOAD_EMUL_BRIDGE` |
//! | `w5500_global_alloc` (allocator on `k_malloc`) | feature `global-alloc`, or the simulator in a Rust application without `CONFIG_RUST_ALLOC` |
//! | `w5500_panic_handler` | feature `panic-handler` (default), unless `CONFIG_RUST=y` (zephyr's handler is the image's) |
//! | `w5500_app_logger` | `CONFIG_RUST=y`: the application's `log` logger is the image's; the driver installs none |

/// What the decision reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Cargo feature `emul-core` (or `emul`).
    pub feature_emul_core: bool,
    /// Cargo feature `global-alloc` (or `emul`).
    pub feature_global_alloc: bool,
    /// Cargo feature `panic-handler` (default).
    pub feature_panic_handler: bool,
    /// `CONFIG_RUST=y` in `DOTCONFIG`: built inside a zephyr-lang-rust application.
    pub kconfig_rust: bool,
    /// `CONFIG_RUST_ALLOC=y`: zephyr-lang-rust provides the global allocator.
    pub kconfig_rust_alloc: bool,
    /// `CONFIG_W5500_OFFLOAD_EMUL=y`.
    pub kconfig_emul: bool,
    /// `CONFIG_W5500_OFFLOAD_EMUL_BRIDGE=y`: the simulator runs in a `w5500-sim` process, not
    /// in the image.
    pub kconfig_emul_bridge: bool,
    /// The target has pointer-sized atomics (compare-and-swap); the simulator needs them.
    pub target_has_atomic_ptr: bool,
}

/// The switches, each emitted as the `--cfg` of the same name with a `w5500_` prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// `w5500_emul`.
    pub emul: bool,
    /// `w5500_global_alloc`.
    pub global_alloc: bool,
    /// `w5500_panic_handler`.
    pub panic_handler: bool,
    /// `w5500_app_logger`.
    pub app_logger: bool,
}

/// Every cfg name `build.rs` may emit (for `rustc-check-cfg`).
pub const CFG_NAMES: [&str; 4] = [
    "w5500_emul",
    "w5500_global_alloc",
    "w5500_panic_handler",
    "w5500_app_logger",
];

/// Decide the switches, or say why this combination cannot build.
pub fn decide(i: &Inputs) -> Result<Switches, &'static str> {
    let kconfig_emul = i.kconfig_emul && !i.kconfig_emul_bridge;
    let emul = i.feature_emul_core || kconfig_emul;
    if emul && !i.target_has_atomic_ptr {
        return Err(
            "w5500-zephyr: the simulated W5500 (CONFIG_W5500_OFFLOAD_EMUL / feature \
                    emul-core) needs atomic compare-and-swap, which this target lacks: turn \
                    the emulator off for this board",
        );
    }
    Ok(Switches {
        emul,
        global_alloc: i.feature_global_alloc
            || (kconfig_emul && i.kconfig_rust && !i.kconfig_rust_alloc),
        panic_handler: i.feature_panic_handler && !i.kconfig_rust,
        app_logger: i.kconfig_rust,
    })
}

/// Whether `.config` text sets the boolean option `name` (`CONFIG_...`) to `y`. A line that is
/// `name=y` exactly, after trailing white space; `# CONFIG_X is not set`, `=n`, `=m` and other
/// options sharing the prefix are not.
pub fn kconfig_bool(dotconfig: &str, name: &str) -> bool {
    dotconfig.lines().any(|l| {
        l.trim_end()
            .strip_prefix(name)
            .is_some_and(|rest| rest == "=y")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_app(emul: bool) -> Inputs {
        Inputs {
            feature_emul_core: emul,
            feature_global_alloc: emul,
            feature_panic_handler: true,
            target_has_atomic_ptr: true,
            ..Inputs::default()
        }
    }

    fn rust_app(emul: bool, rust_alloc: bool) -> Inputs {
        // What a zephyr-lang-rust application's crate gets: default features, no others.
        Inputs {
            feature_panic_handler: true,
            kconfig_rust: true,
            kconfig_rust_alloc: rust_alloc,
            kconfig_emul: emul,
            target_has_atomic_ptr: true,
            ..Inputs::default()
        }
    }

    #[test]
    fn c_application_follows_the_features_alone() {
        let s = decide(&c_app(true)).unwrap();
        assert_eq!(
            s,
            Switches {
                emul: true,
                global_alloc: true,
                panic_handler: true,
                app_logger: false
            }
        );
        let s = decide(&c_app(false)).unwrap();
        assert_eq!(
            s,
            Switches {
                panic_handler: true,
                ..Switches::default()
            }
        );
    }

    #[test]
    fn the_bridge_keeps_the_simulator_out_of_a_rust_application() {
        let mut i = rust_app(true, false);
        i.kconfig_emul_bridge = true;
        let s = decide(&i).unwrap();
        assert!(!s.emul);
        assert!(!s.global_alloc);
    }

    #[test]
    fn kconfig_emul_turns_the_simulator_on_in_a_rust_application() {
        let s = decide(&rust_app(true, true)).unwrap();
        assert!(s.emul);
        // zephyr-lang-rust's RUST_ALLOC is the allocator; a second one would not link.
        assert!(!s.global_alloc);
        // zephyr's #[panic_handler] is the image's, even with default features on.
        assert!(!s.panic_handler);
        assert!(s.app_logger);
    }

    #[test]
    fn rust_application_without_rust_alloc_gets_the_drivers_allocator_for_the_simulator() {
        assert!(decide(&rust_app(true, false)).unwrap().global_alloc);
        // No simulator, nothing allocates: no allocator.
        assert!(!decide(&rust_app(false, false)).unwrap().global_alloc);
    }

    #[test]
    fn rust_application_on_real_hardware() {
        let s = decide(&rust_app(false, true)).unwrap();
        assert_eq!(
            s,
            Switches {
                app_logger: true,
                ..Switches::default()
            }
        );
    }

    #[test]
    fn simulator_on_a_target_without_compare_and_swap_is_refused() {
        let mut i = rust_app(true, true);
        i.target_has_atomic_ptr = false;
        assert!(decide(&i).unwrap_err().contains("atomic"));
        let mut i = c_app(true);
        i.target_has_atomic_ptr = false;
        assert!(decide(&i).is_err());
        // Without the simulator such a target builds.
        let mut i = rust_app(false, true);
        i.target_has_atomic_ptr = false;
        assert!(decide(&i).is_ok());
    }

    #[test]
    fn dotconfig_lines() {
        let cfg =
            "# comment\nCONFIG_RUST=y\nCONFIG_RUST_ALLOC_X=y\n# CONFIG_RUST_ALLOC is not set\n\
                   CONFIG_W5500_OFFLOAD_EMUL=y  \nCONFIG_W5500_OFFLOAD_EMUL_HEAP_SIZE=262144\n\
                   CONFIG_NET=n\n";
        assert!(kconfig_bool(cfg, "CONFIG_RUST"));
        assert!(!kconfig_bool(cfg, "CONFIG_RUST_ALLOC"));
        assert!(kconfig_bool(cfg, "CONFIG_W5500_OFFLOAD_EMUL"));
        assert!(!kconfig_bool(cfg, "CONFIG_NET"));
        assert!(!kconfig_bool(cfg, "CONFIG_W5500"));
        assert!(!kconfig_bool("", "CONFIG_RUST"));
    }

    #[test]
    fn every_switch_has_a_declared_cfg_name() {
        assert!(CFG_NAMES.iter().all(|n| n.starts_with("w5500_")));
        assert_eq!(CFG_NAMES.len(), 4);
    }
}
