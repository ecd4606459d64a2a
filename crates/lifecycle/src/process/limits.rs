//! rlimits, oom_score_adj and no_new_privs.

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// Resource names as the spec spells them, and their numbers.
const RLIMITS: &[(&str, libc::c_int)] = &[
    ("RLIMIT_CPU", libc::RLIMIT_CPU as libc::c_int),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as libc::c_int),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as libc::c_int),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as libc::c_int),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as libc::c_int),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as libc::c_int),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as libc::c_int),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as libc::c_int),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("RLIMIT_AS", libc::RLIMIT_AS as libc::c_int),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as libc::c_int),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as libc::c_int),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as libc::c_int),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as libc::c_int),
];

/// Applies process.rlimits while still privileged (raising a hard limit
/// needs CAP_SYS_RESOURCE).
pub fn apply_rlimits(spec: &Spec) -> Result<(), Error> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    for r in p.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let Some(&(_, res)) = RLIMITS.iter().find(|(n, _)| *n == name) else {
            return Err(Error::Config(format!("unknown rlimit {name:?}")));
        };
        sys::caps::set_rlimit(res, r.soft(), r.hard())
            .with_context(|| format!("setting {name} to {}:{}", r.soft(), r.hard()))?;
    }
    Ok(())
}

/// Writes process.oomScoreAdj for the init (inherited across execve).
pub fn apply_oom_score_adj(spec: &Spec, proc: &sys::procfs::ProcFs) -> Result<(), Error> {
    let Some(adj) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) else {
        return Ok(());
    };
    proc.write(
        std::path::Path::new("self/oom_score_adj"),
        adj.to_string().as_bytes(),
    )
    .context("writing oom_score_adj")
}

/// Whether the config asks for no_new_privs.
pub fn no_new_privileges(spec: &Spec) -> bool {
    spec.process()
        .as_ref()
        .and_then(|p| p.no_new_privileges())
        .unwrap_or(false)
}

/// Sets no_new_privs when the config asks for it.
pub fn apply_no_new_privileges(spec: &Spec) -> Result<(), Error> {
    if no_new_privileges(spec) {
        sys::caps::set_no_new_privs().context("setting no_new_privs")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_names_match_the_spec_serialization() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"],
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}, {"type": "RLIMIT_RTTIME", "soft": 1, "hard": 2}]}
        }))
        .unwrap();
        for r in spec.process().as_ref().unwrap().rlimits().as_ref().unwrap() {
            let name = serde_json::to_value(r.typ()).unwrap();
            assert!(RLIMITS.iter().any(|(n, _)| *n == name), "{name}");
        }
    }
}
