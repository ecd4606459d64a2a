//! The sections clap's grammar does not hold: exit status, files, how
//! engines call corten, and the other pages. Plain roff.

/// The exit status every command shares, and run's and exec's own.
fn exit_status(command: Option<&str>) -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    match command {
        Some("run") => s.push_str(
            "The container process's exit status; 128+N when a signal N killed it; \
             127 when its command does not exist; 1 when corten itself fails.\n",
        ),
        Some("exec") => s.push_str(
            "The process's exit status (128+N when a signal N killed it), or with \
             \\fB\\-\\-detach\\fR 0; 255 when exec itself fails (unknown container, \
             stopped or paused container, missing command, bad working directory), \
             as runc, so that a caller tells corten's failure from the process's.\n",
        ),
        _ => s.push_str(
            "0 on success; 1 on failure, with one line on standard error (and in the \
             \\fB\\-\\-log\\fR file, in \\fB\\-\\-log\\-format\\fR).\n",
        ),
    }
    if command.is_none() {
        s.push_str(
            ".PP\n\\fBrun\\fR exits with the container process's status (128+N when a \
             signal N killed it, 127 when its command does not exist); \\fBexec\\fR \
             with the process's, and 255 when exec itself fails, as runc.\n",
        );
    }
    s
}

const FILES: &str = r#".SH FILES
.TP
.I /run/corten
The state of root's containers (one directory per container), unless
\fB\-\-root\fR names another.
.TP
.I $XDG_RUNTIME_DIR/corten
The state of an unprivileged (rootless) user's containers, usually
/run/user/UID/corten.
"#;

const ENGINES: &str = r#".SH ENGINES
corten takes runc's command line, so engines use it in runc's place:
.TP
podman
\fBpodman \-\-runtime /usr/bin/corten run ...\fR, or \fBruntime = "corten"\fR
with a \fB[engine.runtimes]\fR entry in containers.conf.
.TP
containerd
the runc v2 shim with \fBBinaryName = "/usr/bin/corten"\fR in the runtime's
options.
.TP
Docker
\fB"runtimes": {"corten": {"path": "/usr/bin/corten"}}\fR in daemon.json,
then \fBdocker run \-\-runtime corten ...\fR.
"#;

/// corten(8)'s extra sections.
pub fn top(cmd: &clap::Command) -> String {
    let pages: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("\\fBcorten\\-{}\\fR(8)", s.get_name().replace('-', "\\-")))
        .collect();
    format!(
        "{}{FILES}{ENGINES}.SH \"SEE ALSO\"\n{},\n\\fBrunc\\fR(8)\n",
        exit_status(None),
        pages.join(",\n")
    )
}

/// corten-COMMAND(8)'s extra sections.
pub fn command(name: &str) -> String {
    format!(
        "{}.SH \"SEE ALSO\"\n\\fBcorten\\fR(8), for the global options \
         (\\fB\\-\\-root\\fR, \\fB\\-\\-log\\fR, ...), the files and how engines call corten\n",
        exit_status(Some(name))
    )
}
