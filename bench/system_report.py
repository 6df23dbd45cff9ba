"""A system's report from its process's output: what `bench/peers.py` runs one system at a
time and `bench/interleave.py` runs pass by pass both read the same way."""
import json
import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_json_stdout(text):
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        for line in reversed(text.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    pass
    raise ValueError("no JSON object on stdout: " + text[-300:])


def report_from(key, returncode, stdout, wall):
    """The report a system's process printed last, or an error entry naming what was wrong."""
    if returncode != 0:
        return {"system": key, "error": f"exit code {returncode}", "stdout_tail": stdout[-2000:]}
    try:
        r = parse_json_stdout(stdout)
    except ValueError as e:
        return {"system": key, "error": str(e)}
    if not isinstance(r.get("runs"), list) or "build_seconds" not in r:
        return {"system": r.get("system", key), "error": "JSON lacks runs/build_seconds", "raw": r}
    r["process_wall_seconds"] = round(wall, 2)
    return r
