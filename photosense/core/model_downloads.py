"""Model weights on disk: whether a spec needs a download, and downloading with byte progress and cancel."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from photosense.core import models
from photosense.core.errors import DownloadCancelled, ModelUnavailable
from photosense.core.models import ModelSpec

log = logging.getLogger(__name__)

ByteProgress = Callable[[int, int], None]  # (bytes so far, total bytes or 0 when unknown)


def needs_download(spec: ModelSpec, cache_dir: Path) -> bool:
    """True for a pretrained tag whose weights are not in the cache yet (bundled, file and random specs
    never download)."""
    if spec.kind != "pretrained":
        return False
    cfg = models._open_clip().get_pretrained_cfg(spec.arch, spec.tag)
    return models._cached_checkpoint(cfg, cache_dir) is None


def download(spec: ModelSpec, cache_dir: Path, progress: ByteProgress | None = None,
             cancel: threading.Event | None = None) -> Path:
    """The local checkpoint of a pretrained spec, downloaded if needed with huggingface_hub's own
    download (resumable: a cancelled download goes on from where it stopped next time). Raises
    ``DownloadCancelled`` when *cancel* is set, ``ModelUnavailable`` without network."""
    if spec.kind != "pretrained":
        raise ModelUnavailable(f"'{spec.text}' is not downloaded: it is a bundled model, a local file or random weights.")
    open_clip = models._open_clip()
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.tag)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = models._cached_checkpoint(cfg, cache_dir)
    if cached is not None:
        return cached
    hub = cfg.get("hf_hub", "")
    if not hub:  # a plain URL: open_clip's downloader (no byte progress)
        return models.fetch_pretrained(spec, cfg, cache_dir)
    host = models._download_host(cfg)
    models._require_network(spec, host)
    from huggingface_hub import hf_hub_download

    repo, filename = hub.rstrip("/").rsplit("/", 1) if hub.count("/") > 1 else (hub.rstrip("/"), "")
    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    reporter = _reporter(progress, cancel)
    last: Exception | None = None
    for name in names:
        try:
            return Path(hf_hub_download(repo, name, cache_dir=str(cache_dir), tqdm_class=reporter))
        except DownloadCancelled:
            raise
        except Exception as err:  # noqa: BLE001 - a missing file name: try the next; the network: report
            last = err
            if type(err).__name__ not in ("EntryNotFoundError", "RemoteEntryNotFoundError"):
                break
    raise ModelUnavailable(models._offline_message(spec, f"the download from {host} failed ({last})"))


def _reporter(progress: ByteProgress | None, cancel: threading.Event | None):
    """A tqdm class for huggingface_hub that reports bytes and stops the download when cancelled."""
    from huggingface_hub.utils import tqdm as hub_tqdm

    class Reporter(hub_tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["disable"] = True  # no console bar: the app draws its own
            super().__init__(*args, **kwargs)
            self._seen = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("The model download was cancelled; it resumes where it stopped next time.")
            self._seen += int(n or 0)
            if progress is not None:
                progress(self._seen, int(self.total or 0))
            return super().update(n)

    return Reporter
