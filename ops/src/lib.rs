//! The operator command's library: what `shop-ops` runs, for the tests to run too.
pub mod admins;
pub mod smoke;
