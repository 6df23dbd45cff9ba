"""Systems run pass by pass in turn (`bench/peers.py --interleave`).

Run one after another, each system meets whatever phase the shared machine is in while its
sweep runs: on the 2-core VM this benchmark runs on, a slow half-minute moved one system's
figure, and so a ratio, by up to 1.4x between runs of unchanged builds. Here every system is
built first and then waits; the driver asks each in turn for one timed pass over the query
set (`pass EF` on its stdin, the protocol of `nearstore bench ann --passes-from-stdin` and
`peer_run.py --passes-from-stdin`), round after round, so a slow phase lands on all of them
alike. Each system still reports each ef's fastest pass. The order rotates from one pass to
the next, so no system always runs first after a build or right after another's.
"""
import json
import selectors
import subprocess
import time

from system_report import log, report_from


class System:
    """One system's process, built and waiting for pass commands."""

    def __init__(self, key, cmd, env, timeout):
        self.key = key
        self.cmd = cmd + ["--passes-from-stdin"]
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.error = None
        self.started = time.perf_counter()
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=None, text=True, env=env)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ)

    def read_json_line(self):
        """The process's next stdout line as JSON, or None (and `error` set)."""
        left = self.deadline - time.monotonic()
        if left <= 0 or not self.sel.select(timeout=left):
            return self.fail(f"timed out after {self.timeout} s")
        line = self.p.stdout.readline()
        if not line:
            return self.fail(f"exit code {self.p.wait()} before answering")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return self.fail(f"not a JSON line on stdout: {line[:200]!r}")

    def fail(self, why):
        self.error = why
        self.p.kill()
        self.p.wait()
        return None

    def run_pass(self, ef):
        try:
            self.p.stdin.write(f"pass {ef}\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            return self.fail(f"exit code {self.p.wait()} before a pass")
        r = self.read_json_line()
        if r is not None and r.get("ef") != ef:
            return self.fail(f"answered {r!r} to `pass {ef}`")
        return r

    def finish(self):
        """Ends the passes and returns the system's report (or an error entry)."""
        if self.error:
            return {"system": self.key, "error": self.error}
        try:
            out, _ = self.p.communicate("done\n", timeout=max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.fail(f"timed out after {self.timeout} s")
            return {"system": self.key, "error": self.error}
        return report_from(self.key, self.p.returncode, out, time.perf_counter() - self.started)


def run_interleaved(runs_of, efs, repeats, timeout):
    """Builds every system (one at a time), then runs `repeats` rounds of one pass per ef and
    system, the systems' order rotating pass by pass. Returns {key: report}."""
    systems = []
    for key, cmd, env in runs_of:
        log(f"\n== {key}: building: {' '.join(cmd)} --passes-from-stdin")
        s = System(key, cmd, env, timeout)
        ready = s.read_json_line()
        if ready is not None and ready.get("ready") is not True:
            s.fail(f"expected {{\"ready\": true}}, got {ready!r}")
        if s.error:
            log(f"== {key}: FAILED: {s.error}")
        systems.append(s)
    live = [s for s in systems if not s.error]
    turn = 0
    for rnd in range(max(1, repeats)):
        log(f"\n== interleaved round {rnd + 1} of {max(1, repeats)}")
        for ef in efs:
            shift = turn % max(1, len(live))
            turn += 1
            for s in live[shift:] + live[:shift]:
                if s.error:
                    continue
                r = s.run_pass(ef)
                if r is None:
                    log(f"== {s.key}: FAILED: {s.error}")
                else:
                    log(f"[{s.key}] ef={ef:4d} recall@10={r['recall_at_10']:.4f} qps={r['qps']:.0f}")
    return {s.key: s.finish() for s in systems}
