//! The `w5500-sim` bridge binary (placeholder: being written).
fn main() {}
