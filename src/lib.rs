//! The `spcti` server: configuration, wiring, gateways, drivers and storage.

pub mod admin;
pub mod cli;
pub mod config;
pub mod flow_sim;
pub mod flows;
pub mod gateway;
pub mod media;
pub mod password;
pub mod prometheus;
pub mod quiet;
pub mod serve;
pub mod sim;
pub mod sip;
pub mod sip_config;
pub mod storage;
pub mod switch;

/// The allocator of every program that links spcti (the server, its tests
/// and benches alike, so a bench measures what runs): see `Cargo.toml`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process, as latency-bound
/// servers do: the first touch of a huge page zeroes all 2 MiB of it while
/// the call that touched it waits. With mimalloc's huge-page arenas, 10,000
/// calls arriving together spent a quarter of their CPU in the kernel
/// zeroing pages (docs/performance.md). Called first thing by
/// `serve::start`; a kernel without the switch is left as it is.
pub fn no_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and touches no
    // memory of ours.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r != 0 {
        tracing::debug!(
            "transparent huge pages stay as the system has them: {}",
            std::io::Error::last_os_error()
        );
    }
}
