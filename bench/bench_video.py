#!/usr/bin/env python3
"""Video indexing: PhotoSense's sampler and pipeline against a naive decode-everything loop, in the same run.

    .venv/bin/python bench/bench_video.py [--minutes 3] [--model ViT-B-32:none] [--device cpu] [--quick]

The clips are phone-like 1080p H.264 (30 fps, a keyframe every 1 or 2 s, no B-frames, ~16 Mbit/s, the
MP4/MOV index written last), 10-60 s long, textured scenes with sensor noise and a new scene every
12 s, every other clip held by a shaky hand, the others panning steadily; they are made once and kept
in bench/out (making them is not measured). Both sides are whole processes (imports, model creation,
decoding, encoding; PhotoSense also writes its catalog and vector index):

* baseline: the naive loop - decode every frame with PyAV, embed one frame per second of video, one
  at a time (open_clip's README way, as bench/naive_loop.py does for photos);
* ``photosense index --model MODEL --json`` on the same folder.

Printed: seconds of video indexed per second of wall time (goal >= 20x real time), the speed-up over
the baseline (goal >= 5x), and the peak RSS of ``photosense index`` on one 4K clip against one 720p clip
of the same length, each in a fresh process (goal: the 4K clip costs < 200 MB more). For insight, the
sampler alone (``video.sample_frames``, no model) is also run in fresh processes: the frames it decodes
against every frame of the clips, and its own peak RSS on the 720p and 4K clips.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from common import OUT, machine, save_report

FPS = 30
LENGTHS_S = (15, 45, 10, 30, 60, 20)  # phone clips: mostly short, some a minute (cycled up to --minutes)
SCENE_S = 12.0
BITRATE_PER_MPIXEL = 8_000_000  # ~16 Mbit/s at 1080p, as phones record H.264
GOALS = {"realtime": 20.0, "speedup": 5.0, "rss_4k_extra_mb": 200.0}


# -- the clips --------------------------------------------------------------------------------------

def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A photo-like scene: soft large shapes, some hard-edged objects and fine texture (uint8, H x W x 3)."""
    from PIL import Image, ImageDraw

    blocks = rng.integers(0, 255, (max(2, height // 120), max(2, width // 120), 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 40, width // 6)), int(rng.integers(height // 40, height // 5))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
    pixels = np.asarray(image, dtype=np.int16)
    pixels += rng.integers(-10, 11, pixels.shape, dtype=np.int16)  # texture that moves with the scene
    return np.clip(pixels, 0, 255).astype(np.uint8)


def write_phone_clip(path: Path, width: int, height: int, seconds: float, seed: int, gop_s: float,
                     style: str = "pan") -> Path:
    """Encode a clip the way a phone does (see the module docstring). *style*: "pan" sweeps steadily
    across each scene (2 px a frame at 1080p: a third of the frame width in 10 s); "handheld" holds the
    shot with a shaky hand (a random walk of a few pixels)."""
    import av

    rng = np.random.default_rng(seed)
    frames = int(round(seconds * FPS))
    gop = int(round(gop_s * FPS))
    scale = width / 1920
    per_scene = int(SCENE_S * FPS)
    travel = int(2 * scale * per_scene) if style == "pan" else int(40 * scale)
    # sensor noise: a few fixed fields cycled (cheap), weak enough for the encoder to keep quality
    noise = [rng.integers(-3, 4, (height, width, 3), dtype=np.int8) for _ in range(3)]
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mov" if path.suffix == ".mov" else "mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS), options={
            "preset": "veryfast", "x264-params": f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.bit_rate = int(BITRATE_PER_MPIXEL * width * height / 1e6)
        stream.codec_context.gop_size = gop
        scene, x, y = None, 0.0, 0.0
        for i in range(frames):
            k = i % per_scene
            if k == 0:
                scene = _scene(rng, width + travel, height + travel // 3 + 1)
                x, y = (0.0, 0.0) if style == "pan" else (travel / 2, travel / 6)
            if style == "pan":
                x, y = travel * k / per_scene, travel * k / per_scene / 3
            else:
                x = min(max(x + rng.normal(0, 1.5 * scale), 0), travel)
                y = min(max(y + rng.normal(0, 1.0 * scale), 0), travel // 3)
            left, top = int(x), int(y)
            crop = scene[top:top + height, left:left + width].astype(np.int16)
            pixels = np.clip(crop + noise[i % 3], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    os.replace(tmp, path)
    return path


def clip_set(minutes: float) -> tuple[Path, list[Path], float]:
    """1080p clips adding up to *minutes* (made once, kept in bench/out); returns (folder, files, seconds)."""
    folder = OUT / "video-phone-1080p"
    folder.mkdir(parents=True, exist_ok=True)
    files, total, n = [], 0.0, 0
    while total < minutes * 60 - 1e-6:
        seconds = min(LENGTHS_S[n % len(LENGTHS_S)], minutes * 60 - total)
        seconds = max(5.0, round(seconds))
        path = folder / f"VID_{n:03d}_{int(seconds)}s.{'mov' if n % 2 else 'mp4'}"
        if not path.exists():
            print(f"writing {path.name} (1920x1080, {seconds:g} s)…", flush=True)
            write_phone_clip(path, 1920, 1080, seconds, seed=n, gop_s=1.0 if n % 2 else 2.0,
                             style="pan" if n % 2 else "handheld")
        files.append(path)
        total += seconds
        n += 1
    return folder, files, total


def sized_clip(width: int, height: int, seconds: float) -> Path:
    """One clip of a given size (made once), the same content at every size."""
    folder = OUT / f"video-phone-{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"VID_{int(seconds)}s.mp4"
    if not path.exists():
        print(f"writing {path.name} ({width}x{height}, {seconds:g} s)…", flush=True)
        write_phone_clip(path, width, height, seconds, seed=1000, gop_s=1.0, style="pan")
    return path


# -- measuring ----------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, the high-water mark of its own memory since exec. (ru_maxrss, of
    a child from wait4 or RUSAGE_CHILDREN, is no good here: Linux starts it at the parent's RSS when the
    child was forked, so every child of this torch-importing process would seem to peak at >= 1 GB.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measured(peak_file: str, argv: list[str]) -> None:
    """Run ``photosense ARGV`` in this very process and write its peak RSS (MB) to *peak_file* at exit."""
    import atexit
    import runpy

    atexit.register(lambda: Path(peak_file).write_text(f"{peak_rss_mb():.1f}"))
    sys.argv = ["photosense", *argv]
    runpy.run_module("photosense", run_name="__main__", alter_sys=True)


def timed(cmd: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of a whole child process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        code = subprocess.run(cmd, stdout=out, stderr=err, text=True).returncode
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()[-3000:]}")
        return elapsed, out.read()


# -- the two sides ----------------------------------------------------------------------------------

def baseline_loop(arch: str, folder: Path, device: str) -> None:
    """The naive loop (runs in a child process): decode every frame, embed one per second, one by one."""
    from photosense.core.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import av
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    model.eval().to(device)
    decoded = embedded = 0
    t0 = time.perf_counter()
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".mp4", ".mov")):
        with av.open(str(path)) as container:
            next_t = 0.0
            for frame in container.decode(video=0):
                decoded += 1
                if frame.time is None or frame.time < next_t:
                    continue
                next_t = float(int(frame.time)) + 1.0
                image = preprocess(frame.to_image()).unsqueeze(0).to(device)
                with torch.no_grad(), torch.autocast("cuda", enabled=device.startswith("cuda")):
                    features = model.encode_image(image)
                    features /= features.norm(dim=-1, keepdim=True)
                embedded += 1
    print(json.dumps({"decoded": decoded, "embedded": embedded, "loop_s": time.perf_counter() - t0,
                      "peak_rss_mb": peak_rss_mb()}))


def sample_only(files: list[Path], min_side: int) -> None:
    """The sampler alone (runs in a child process): frames decoded, moments kept, time and peak RSS."""
    from photosense.core import video

    stats = video.DecodeStats()
    kept = 0
    t0 = time.perf_counter()
    for path in files:
        kept += len(video.sample_frames(path, min_side=min_side, stats=stats)[1])
    print(json.dumps({"frames_decoded": stats.frames, "packets": stats.packets, "seeks": stats.seeks,
                      "moments": kept, "seconds": time.perf_counter() - t0,
                      "peak_rss_mb": peak_rss_mb()}))


def sampler(files: list[Path]) -> dict:
    return json.loads(timed([sys.executable, str(Path(__file__).resolve()), "--sample-only", *map(str, files)])[1])


def total_frames(files: list[Path]) -> int:
    import av

    count = 0
    for path in files:
        with av.open(str(path)) as container:
            count += container.streams.video[0].frames
    return count


def photosense_index(folder: Path, library: Path, model: str, device: str) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS in MB, JSON summary) of ``photosense index`` as a whole process."""
    peak = library.with_name(library.name + ".peak")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peak-rss-to", str(peak), "--library", str(library),
           "index", str(folder), "--model", model, "--device", device, "--json"]
    seconds, stdout = timed(cmd)
    return seconds, float(peak.read_text()), json.loads(stdout)


def moments(library: Path) -> int:
    db = sqlite3.connect(library / "catalog.sqlite3")
    try:
        return db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
    finally:
        db.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="minutes of 1080p video (default 3)")
    ap.add_argument("--rss-seconds", type=float, default=20.0, help="length of the 4K and 720p clips (default 20)")
    ap.add_argument("--model", default="ViT-B-32:none")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="1 minute of video and 8 s clips for the RSS figure")
    ap.add_argument("--baseline-loop", nargs=3, metavar=("ARCH", "FOLDER", "DEVICE"), help=argparse.SUPPRESS)
    ap.add_argument("--sample-only", nargs="+", metavar="CLIP", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sample_only:
        sample_only([Path(p) for p in args.sample_only], min_side=224)
        return 0
    if args.baseline_loop:
        arch, folder, device = args.baseline_loop
        baseline_loop(arch, Path(folder), device)
        return 0
    if args.quick:
        args.minutes, args.rss_seconds = min(args.minutes, 1.0), min(args.rss_seconds, 8.0)
    arch = args.model.split(":")[0]

    folder, files, video_s = clip_set(args.minutes)
    uhd = sized_clip(3840, 2160, args.rss_seconds)
    hd = sized_clip(1280, 720, args.rss_seconds)
    size_mb = sum(f.stat().st_size for f in files) / 2**20
    print(f"machine: {machine()}\n{len(files)} clips, {video_s / 60:.1f} min of 1080p30 H.264 ({size_mb:.0f} MB) "
          f"in {folder}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        clips.mkdir()
        for f in files:
            (clips / f.name).symlink_to(f)
        baseline_s, out = timed([sys.executable, str(Path(__file__).resolve()), "--baseline-loop",
                                 arch, str(clips), args.device])
        loop = json.loads(out.strip().splitlines()[-1])
        baseline_rss = loop["peak_rss_mb"]
        print(f"baseline (decode every frame, embed 1/s): {baseline_s:.1f}s, {video_s / baseline_s:.1f}x real "
              f"time ({loop['decoded']} frames decoded, {loop['embedded']} embedded)", flush=True)
        ours_s, ours_rss, summary = photosense_index(clips, Path(tmp) / "lib", args.model, args.device)
        assert summary["indexed"] == len(files) and summary["failed"] == 0, summary
        sampled = moments(Path(tmp) / "lib")
        print(f"photosense index: {ours_s:.1f}s, {video_s / ours_s:.1f}x real time ({sampled} moments embedded)",
              flush=True)

        rss = {}
        for name, path in (("720p", hd), ("4K", uhd)):
            one = Path(tmp) / name
            one.mkdir()
            (one / path.name).symlink_to(path)
            seconds, peak, result = photosense_index(one, Path(tmp) / f"lib-{name}", args.model, args.device)
            assert result["indexed"] == 1, result
            rss[name] = (peak, seconds)
            print(f"photosense index, one {args.rss_seconds:g} s {name} clip: peak RSS {peak:.0f} MB, {seconds:.1f}s",
                  flush=True)

    alone = sampler(files)
    every = total_frames(files)
    alone_rss = {name: sampler([path]) for name, path in (("720p", hd), ("4K", uhd))}
    print(f"sampler alone: {alone['frames_decoded']} of {every} frames decoded, {alone['moments']} moments, "
          f"{alone['seconds']:.1f}s; peak RSS on one clip 720p {alone_rss['720p']['peak_rss_mb']:.0f} MB, "
          f"4K {alone_rss['4K']['peak_rss_mb']:.0f} MB", flush=True)

    realtime = video_s / ours_s
    speedup = baseline_s / ours_s
    extra = rss["4K"][0] - rss["720p"][0]
    print()
    print(f"| {'measure':58} | {'value':>16} |")
    print(f"|{'-' * 60}|{'-' * 18}|")
    rows = [
        (f"video indexed ({len(files)} clips, {video_s / 60:.1f} min of 1080p30)", f"{video_s:.0f} s"),
        ("baseline: decode every frame, embed 1/s (whole process)", f"{video_s / baseline_s:.1f}x real time"),
        ("photosense index (whole process), goal >= 20x", f"{realtime:.1f}x real time"),
        ("speed-up over the baseline, goal >= 5x", f"{speedup:.1f}x"),
        ("frames embedded: baseline / photosense", f"{loop['embedded']} / {sampled}"),
        ("peak RSS: baseline / photosense index", f"{baseline_rss:.0f} / {ours_rss:.0f} MB"),
        (f"peak RSS, one {args.rss_seconds:g} s clip: 720p / 4K", f"{rss['720p'][0]:.0f} / {rss['4K'][0]:.0f} MB"),
        ("4K costs more than 720p, goal < 200 MB", f"{round(extra) + 0:+d} MB"),
        ("sampler alone (no model): frames decoded / all frames", f"{alone['frames_decoded']} / {every}"),
        ("sampler alone: seconds for all clips", f"{alone['seconds']:.1f} s"),
        ("sampler alone, peak RSS on one clip: 720p / 4K",
         f"{alone_rss['720p']['peak_rss_mb']:.0f} / {alone_rss['4K']['peak_rss_mb']:.0f} MB"),
    ]
    for name, value in rows:
        print(f"| {name:58} | {value:>16} |")
    path = save_report("video", {
        "model": args.model, "device": args.device, "clips": len(files), "video_s": video_s,
        "clip_mb": size_mb, "fps": FPS, "quick": args.quick,
        "baseline_s": baseline_s, "baseline_decoded_frames": loop["decoded"], "baseline_embedded": loop["embedded"],
        "baseline_realtime": video_s / baseline_s, "baseline_peak_rss_mb": baseline_rss,
        "photosense_s": ours_s, "photosense_realtime": realtime, "photosense_moments": sampled,
        "photosense_peak_rss_mb": ours_rss, "speedup": speedup,
        "rss_clip_s": args.rss_seconds, "rss_720p_mb": rss["720p"][0], "rss_4k_mb": rss["4K"][0],
        "index_720p_s": rss["720p"][1], "index_4k_s": rss["4K"][1], "rss_4k_extra_mb": extra,
        "all_frames": every, "sampler": alone, "sampler_720p": alone_rss["720p"], "sampler_4k": alone_rss["4K"],
        "goals": GOALS})
    print(f"\nwritten to {path}")
    met = realtime >= GOALS["realtime"] and speedup >= GOALS["speedup"] and extra < GOALS["rss_4k_extra_mb"]
    return 0 if met else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--peak-rss-to":  # (internal: a measured photosense process)
        run_measured(sys.argv[2], sys.argv[3:])
    sys.exit(main())
