#!/usr/bin/env python3
"""Cold start of the desktop bundle: launch to the first window shown, against the venv launch.

    .venv/bin/python bench/bench_bundle.py [--runs 5]     # after: bash packaging/build-bundle.sh

Both launch ``photosense demo`` on the same demo library (built once, untimed) in a private Xvfb,
with a bare environment (PATH=/usr/bin:/bin, a fresh HOME, DISPLAY). The time runs from the
process start until xdotool sees a visible 1280-wide window titled PhotoSense (polled every 20 ms,
from outside the app); then the app is stopped. Launches alternate venv/bundle. The baseline is the
venv launch (``<venv>/bin/photosense demo``) measured the same way in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, save_report

BUNDLE = ROOT / "dist" / "PhotoSense"
POLL_S = 0.02


def start_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as numbers:
        return server, f":{numbers.readline().strip()}"


def window_shown(display: str) -> bool:
    """A visible, window-sized (not a dialog) window titled PhotoSense is on *display*."""
    env = {**os.environ, "DISPLAY": display}
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^PhotoSense$"], env=env,
                           capture_output=True, text=True).stdout.split()
    for wid in found:
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], env=env,
                                  capture_output=True, text=True).stdout
        if any(line.startswith("WIDTH=") and int(line[6:]) >= 600 for line in geometry.splitlines()):
            return True
    return False


def launch_to_window(exe: Path, env: dict[str, str], display: str, timeout: float = 300) -> float:
    """Seconds from starting ``exe demo`` to its main window being shown."""
    start = time.perf_counter()
    app = subprocess.Popen([str(exe), "demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not window_shown(display):
            if app.poll() is not None:
                raise RuntimeError(f"{exe} demo exited ({app.returncode}): {app.stderr.read().decode()[-2000:]}")
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{exe} demo showed no window within {timeout:g} s")
            time.sleep(POLL_S)
        return time.perf_counter() - start
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        # let the window go away before the next launch is watched
        while window_shown(display):
            time.sleep(POLL_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--venv-exe", type=Path, default=Path(sys.executable).parent / "photosense",
                        help="the venv launcher (default: the one beside this Python)")
    args = parser.parse_args()
    bundle_exe = BUNDLE / "photosense"
    if not bundle_exe.is_file():
        sys.exit(f"{bundle_exe} is missing: run 'bash packaging/build-bundle.sh' first")
    server, display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {"PATH": "/usr/bin:/bin", "HOME": home, "DISPLAY": display}
            # the demo library, built once and shared (both are the same version), untimed
            subprocess.run([str(bundle_exe), "demo", "--no-gui"], env=env, check=True, capture_output=True)
            times: dict[str, list[float]] = {"venv": [], "bundle": []}
            for run in range(args.runs):
                for name, exe in (("venv", args.venv_exe), ("bundle", bundle_exe)):
                    times[name].append(launch_to_window(exe, env, display))
                print(f"run {run + 1}: venv {times['venv'][-1]:.2f} s, bundle {times['bundle'][-1]:.2f} s", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    size = subprocess.run(["du", "-sb", str(BUNDLE)], capture_output=True, text=True).stdout.split()[0]
    report = {name: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "runs_s": v}
              for name, v in times.items()}
    report["bundle_bytes"] = int(size)
    print(f"machine: {machine()}")
    print(f"launch to first window, median of {args.runs} (min-max):")
    for name in ("venv", "bundle"):
        r = report[name]
        label = "baseline venv  " if name == "venv" else "bundle         "
        print(f"  {label} {r['median_s']:.2f} s ({r['min_s']:.2f}-{r['max_s']:.2f})")
    print(f"  bundle / venv: {report['bundle']['median_s'] / report['venv']['median_s']:.2f}x")
    print(f"bundle size on disk: {int(size) / 2**20:.0f} MiB")
    print(f"report: {save_report('bundle', report)}")


if __name__ == "__main__":
    main()
