//! The keel.storage module binaries. Each binary in src/bin holds one family of modules (a
//! static glibc binary starts at about 1.08 MB, and the budget is 1.5 MiB per binary, so
//! families are split where they would outgrow it). The collection's dispatch action plugin
//! (collection/plugins/action/native_module.py) knows which binary holds which module and names
//! the module in `_keel_module`.

pub mod selftest;
