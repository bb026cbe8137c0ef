//! smoltcp's DHCPv4 and DNS sockets over MACRAW (placeholder until written).

use crate::env::Env;
use crate::work::{Run, Work};

/// Run the DHCP or DNS workload with smoltcp.
pub fn run(_env: &Env, _w: &Work) -> Result<Run, String> {
    Err("not implemented yet".into())
}
