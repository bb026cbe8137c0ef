//! w5500-dhcp and w5500-dns on the simulated chip (placeholder until written).

use crate::env::Env;
use crate::work::{Run, Work};

/// Run the DHCP or DNS workload with newAM's clients.
pub fn run(_env: &Env, _w: &Work) -> Result<Run, String> {
    Err("not implemented yet".into())
}
