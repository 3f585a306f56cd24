//! What the benches share: where they run, and how they measure.

// Each bench uses its own part of this module.
#![allow(dead_code)]

use std::time::Duration;

/// Keeps the whole bench on one core: the threads made later inherit it.
/// With the measured thread and its server on two cores, the measured thread
/// also paid for waking across cores, which in this VM cost more than an
/// `invoke` at concurrency 1 (54–70 µs of CPU per call instead of 17–18 µs)
/// and moved the ratios by a few hundredths from run to run.
fn stay_on_one_core() {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Starts a bench: keeps it on one core and returns its arguments (without
/// the `--bench` that `cargo bench` passes). With `ORQ_BENCH_SUBSCRIBER=discard`
/// the whole run has a subscriber that wants every span and event and keeps
/// none: what the SDK's spans cost when something listens. Set for the
/// process, before any callsite is reached, so no interest is cached without it.
pub fn start() -> Vec<String> {
    stay_on_one_core();
    if std::env::var("ORQ_BENCH_SUBSCRIBER").is_ok_and(|mode| mode == "discard") {
        tracing::subscriber::set_global_default(Discard).expect("the first subscriber of the process");
        eprintln!("with a subscriber that discards every span and event");
    }
    std::env::args().skip(1).filter(|a| a != "--bench").collect()
}

/// A subscriber that is interested in everything and keeps nothing: spans
/// are made and recorded on, events are built, and all of it is dropped.
struct Discard;

impl tracing::Subscriber for Discard {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// CPU time of the calling thread.
pub fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec to the pointer it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// A `/proc/self/status` figure in MiB, such as `VmHWM:` (`None` off Linux).
pub fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The middle value (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One round's CPU time on the measured thread and its wall time.
pub struct Sample {
    pub cpu: Duration,
    pub wall: Duration,
}
