//! glibc's allocator, tuned per command (`mallopt`). Every setting yields to its environment
//! variable (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, …) when that is set. Elsewhere (other
//! platforms, other allocators) these do nothing.

/// Tuned for a sync. By default glibc gives each thread that allocates under contention an arena
/// of its own (up to eight per core) and keeps what is freed there for that arena; and after a
/// large block is freed it raises its mmap threshold, so later large buffers (Arrow columns,
/// Parquet pages) come from the arenas too and stay there when freed. A sync allocates large
/// buffers on many threads (the runtime's, and the blocking pool's that write and encode days), so
/// its peak RSS was about 2.5 times its heap. Two arenas and a fixed 1 MiB threshold (larger
/// blocks are mapped, and unmapped when freed) bring a 20-day sync from about 340 to about 130 MB
/// at no measured cost in wall time (docs/performance-notes.md, "Memory of a long sync"). Called
/// before any other thread exists.
pub fn tune_for_sync() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set(&[
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, 2),
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 1 << 20),
    ]);
}

/// Tuned for an ingest's decoding: decoding threads allocate each page's Arrow columns, the
/// encoder frees them, and by default glibc hands freed memory at the top of its heaps back to the
/// kernel, so the next pages fault it in again (about 65,000 page faults for 1 M rows). Keeping up
/// to 256 MiB (growing heaps 64 MiB at a time, and mapping only blocks over 32 MiB) saves about a
/// tenth of those and 2-3% of the CPU, with the same peak RSS (docs/performance-notes.md,
/// "Landing"). Called before any other thread exists; [`tune_for_merging`] undoes it once
/// decoding is over.
pub fn tune_for_ingest() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    set(&[
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 32 << 20),
        ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 256 << 20),
        ("MALLOC_TOP_PAD_", libc::M_TOP_PAD, 64 << 20),
    ]);
}

/// Tuned for an ingest's commit, where days the lake already holds are read back and merged two
/// at a time: large, short-lived buffers that [`tune_for_ingest`]'s trim threshold and top pad
/// would keep. Those go back to glibc's defaults and what the decoding kept is given back now:
/// landing the same 1 M rows a second time peaked at 540-575 MB before, 435-475 MB after, and
/// took 2.6-2.75 s instead of 2.4 s. (Mapping blocks over 1 MiB as well, as a sync does, kept no
/// less, 405-445 MB, and took 2.75-2.8 s.)
pub fn tune_for_merging() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        set(&[
            ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 128 << 10),
            ("MALLOC_TOP_PAD_", libc::M_TOP_PAD, 128 << 10),
        ]);
        trim();
    }
}

/// Sets allocator parameters, each unless its environment variable is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallopt is a plain C call that only sets an allocator parameter"
)]
fn set(settings: &[(&str, libc::c_int, libc::c_int)]) {
    for &(variable, parameter, value) in settings {
        if std::env::var_os(variable).is_none() {
            // SAFETY: `mallopt` takes two integers and changes a setting of the allocator, under
            // the allocator's own lock.
            unsafe {
                libc::mallopt(parameter, value);
            }
        }
    }
}

/// Gives the free memory at the top of every heap back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "malloc_trim is a plain C call that only releases free memory"
)]
fn trim() {
    // SAFETY: `malloc_trim` takes an integer and releases free memory under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
