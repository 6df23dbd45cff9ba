//! Driving a `kill -9` torture test: the test binary is re-executed as a child that runs a
//! workload and reports it over stdout, and the parent SIGKILLs it at a chosen moment.
//!
//! Line protocol, each line prefixed by [`PREFIX`] (libtest may print its own text before):
//! `state <json>` (the content found after recovery), `begin <json>` (an operation about to
//! run), `ack` (it returned), `done`.

// Test support: a failure to spawn, read or wait for the child is a failed test, reported
// by panicking like any other test assertion.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Marks protocol lines.
pub const PREFIX: &str = "KILL9 ";

/// One report of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The recovered content (JSON).
    State(&'a str),
    /// An operation about to run (JSON).
    Begin(&'a str),
    /// The last begun operation returned.
    Ack,
}

/// The protocol event on a line of the child's output, if any.
pub fn event(line: &str) -> Option<Event<'_>> {
    let msg = &line[line.find(PREFIX)? + PREFIX.len()..];
    if let Some(state) = msg.strip_prefix("state ") {
        Some(Event::State(state))
    } else if let Some(op) = msg.strip_prefix("begin ") {
        Some(Event::Begin(op))
    } else {
        (msg == "ack").then_some(Event::Ack)
    }
}

/// Child side: reports an event (stdout is a pipe the parent reads line by line).
pub fn report(event: Event<'_>) {
    match event {
        Event::State(json) => println!("{PREFIX}state {json}"),
        Event::Begin(json) => println!("{PREFIX}begin {json}"),
        Event::Ack => println!("{PREFIX}ack"),
    }
}

/// Re-executes this test binary running only `test`, with `env` set, stdout piped.
pub fn spawn_child(test: &str, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the child")
}

/// Reads the child's events, handing each to `on_event`, and SIGKILLs it right after its
/// `kill_after`-th acknowledgement (lines it wrote before dying are still read). Returns
/// the operation begun but not acknowledged when it died. Fails the test unless the child
/// died of SIGKILL.
pub fn run_until_killed(
    mut child: Child,
    kill_after: u64,
    mut on_event: impl FnMut(Event<'_>),
) -> Option<String> {
    let mut stdout = BufReader::new(child.stdout.take().expect("a piped stdout"));
    let (mut inflight, mut acks, mut killed) = (None, 0, false);
    let mut buf = String::new();
    while let Some(line) = next_complete_line(&mut stdout, &mut buf) {
        let Some(e) = event(line) else { continue };
        match e {
            Event::Begin(op) => inflight = Some(op.to_string()),
            Event::Ack => {
                inflight = None;
                acks += 1;
            }
            Event::State(_) => {}
        }
        on_event(e);
        if e == Event::Ack && acks == kill_after && !killed {
            child.kill().expect("SIGKILL");
            killed = true;
        }
    }
    let status = child.wait().expect("wait for the child");
    assert!(killed, "child ended before being killed: {status:?}");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the child died of SIGKILL"
    );
    inflight
}

/// The next newline-terminated line of `r` (without the newline), read into `buf`; `None`
/// at the end, on a read error, or for a last line without its newline: a child killed
/// while writing a long line leaves a fragment, which is no event (a `begin` cut short was
/// printed before its operation started; an `ack` cut short leaves that operation in
/// flight, as it must).
fn next_complete_line<'b>(r: &mut impl BufRead, buf: &'b mut String) -> Option<&'b str> {
    buf.clear();
    match r.read_line(buf) {
        Ok(n) if n > 0 => buf.strip_suffix('\n'),
        _ => None,
    }
}

/// Reads a child that runs to its end (a recovery-only child), handing each event to
/// `on_event`; fails the test if it fails or reports no state.
pub fn run_to_end(mut child: Child, mut on_event: impl FnMut(Event<'_>)) {
    let stdout = child.stdout.take().expect("a piped stdout");
    let mut states = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the child's output");
        if let Some(e) = event(&line) {
            states += usize::from(matches!(e, Event::State(_)));
            on_event(e);
        }
    }
    assert!(
        child.wait().expect("wait for the child").success(),
        "the child failed"
    );
    assert!(states > 0, "the child reported its state");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines_are_found_after_other_output() {
        assert_eq!(event("test x ... KILL9 state {}"), Some(Event::State("{}")));
        assert_eq!(event("KILL9 begin [1]"), Some(Event::Begin("[1]")));
        assert_eq!(event("KILL9 ack"), Some(Event::Ack));
        assert_eq!(event("running 1 test"), None);
        assert_eq!(event("KILL9 done"), None);
    }

    #[test]
    fn a_line_cut_short_by_the_kill_is_not_read() {
        let mut out = std::io::Cursor::new("KILL9 ack\nKILL9 begin {\"upsert\": [1, 2".as_bytes());
        let mut buf = String::new();
        assert_eq!(next_complete_line(&mut out, &mut buf), Some("KILL9 ack"));
        assert_eq!(next_complete_line(&mut out, &mut buf), None);
        let mut empty = std::io::Cursor::new(&b""[..]);
        assert_eq!(next_complete_line(&mut empty, &mut buf), None);
    }
}
