//! The `sluice` command line (SPEC section 1): `serve`, `check`, `--version`.
//! Everything else lives in the library.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sluice::logging::init();
}
