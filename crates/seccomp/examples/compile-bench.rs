//! Compile time of a seccomp profile: corten's compiler beside libseccomp's
//! (translated as runc does, exported as BPF). Run by hack/bench.sh:
//!
//!     cargo run --release -p corten-seccomp --example compile-bench -- PROFILE.json [ROUNDS]

use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use oci_spec::runtime::LinuxSeccomp;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: compile-bench PROFILE.json [ROUNDS]");
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(200);
    let profile: LinuxSeccomp = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut ours = Vec::new();
    let mut insns = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let f = seccomp::Filter::compile(&profile).unwrap();
        ours.push(t.elapsed());
        insns = f.program.len();
    }
    // The two halves: translating the profile, emitting the program.
    let native = seccomp::Arch::native();
    let mut translate = Vec::new();
    let mut emit = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let policy = seccomp::Policy::from_spec(&profile, native, &|_| true).unwrap();
        translate.push(t.elapsed());
        let t = Instant::now();
        seccomp::Filter::from_policy(&policy).unwrap();
        emit.push(t.elapsed());
    }
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        common::oracle(&profile, native).unwrap();
        theirs.push(t.elapsed());
    }
    let (o, t) = (median(ours), median(theirs));
    let (tr, em) = (median(translate), median(emit));
    println!(
        "seccomp compile (median of {rounds}): corten {:.1} us ({insns} insns), libseccomp {:.1} us, {:.0}x",
        o.as_secs_f64() * 1e6,
        t.as_secs_f64() * 1e6,
        t.as_secs_f64() / o.as_secs_f64()
    );
    println!(
        "  corten: translate {:.1} us, emit {:.1} us",
        tr.as_secs_f64() * 1e6,
        em.as_secs_f64() * 1e6
    );
}
