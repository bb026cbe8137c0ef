//! DNS resolver (being written).
