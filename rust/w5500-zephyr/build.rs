//! Build-time switches of w5500-zephyr (see `src/build_cfg.rs`): from the cargo features and,
//! in a zephyr-lang-rust application build, from the image's `.config` named by `DOTCONFIG`.

use std::env;

#[path = "src/build_cfg.rs"]
#[allow(dead_code)]
mod build_cfg;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/build_cfg.rs");
    println!("cargo::rerun-if-env-changed=DOTCONFIG");
    for name in build_cfg::CFG_NAMES {
        println!("cargo::rustc-check-cfg=cfg({name})");
    }
    let feature = |f: &str| env::var_os(format!("CARGO_FEATURE_{f}")).is_some();
    // Set by zephyr-lang-rust's rust_cargo_application() for every crate of the application.
    let dotconfig = match env::var("DOTCONFIG") {
        Ok(path) if !path.is_empty() => {
            println!("cargo::rerun-if-changed={path}");
            match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    println!("cargo::error=w5500-zephyr: DOTCONFIG={path}: {e}");
                    return;
                }
            }
        }
        _ => String::new(),
    };
    let kconfig = |name: &str| build_cfg::kconfig_bool(&dotconfig, name);
    let atomic_ptr = env::var("CARGO_CFG_TARGET_HAS_ATOMIC")
        .map(|v| v.split(',').any(|w| w == "ptr"))
        .unwrap_or(false);
    let inputs = build_cfg::Inputs {
        feature_emul_core: feature("EMUL_CORE"),
        feature_global_alloc: feature("GLOBAL_ALLOC"),
        feature_panic_handler: feature("PANIC_HANDLER"),
        kconfig_rust: kconfig("CONFIG_RUST"),
        kconfig_rust_alloc: kconfig("CONFIG_RUST_ALLOC"),
        kconfig_emul: kconfig("CONFIG_W5500_OFFLOAD_EMUL"),
        kconfig_emul_bridge: kconfig("CONFIG_W5500_OFFLOAD_EMUL_BRIDGE"),
        target_has_atomic_ptr: atomic_ptr,
    };
    match build_cfg::decide(&inputs) {
        Ok(s) => {
            for (on, name) in [
                (s.emul, "w5500_emul"),
                (s.global_alloc, "w5500_global_alloc"),
                (s.panic_handler, "w5500_panic_handler"),
                (s.app_logger, "w5500_app_logger"),
            ] {
                if on {
                    println!("cargo::rustc-cfg={name}");
                }
            }
        }
        Err(why) => println!("cargo::error={why}"),
    }
}
