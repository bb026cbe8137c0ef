//! DHCP client (being written).
