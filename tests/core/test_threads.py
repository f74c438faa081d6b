"""NumPy's BLAS is kept to one thread beside torch's pool; torch's own pool is left alone."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import json, numpy, torch
from threadpoolctl import threadpool_info
from photosense.core import threads
before = torch.get_num_threads()
first, second = threads.numpy_blas_single_threaded(), threads.numpy_blas_single_threaded()
numpy_blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
print(json.dumps({"first": first, "second": second, "numpy_blas": numpy_blas,
                  "torch": [before, torch.get_num_threads()]}))
"""


def test_numpy_blas_is_limited_once_and_torch_keeps_its_threads():
    pytest.importorskip("threadpoolctl")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                         env={"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    found = json.loads(out.stdout.strip().splitlines()[-1])
    if not found["numpy_blas"]:
        pytest.skip("this NumPy links no BLAS that threadpoolctl can limit (e.g. Accelerate)")
    assert found["first"] is True and found["second"] is False
    assert found["numpy_blas"] == [1] * len(found["numpy_blas"])
    assert found["torch"] == [2, 2]


@pytest.mark.model
def test_loading_a_model_limits_numpy_blas(tmp_path):
    pytest.importorskip("threadpoolctl")
    script = f"""
import json
from pathlib import Path
from threadpoolctl import threadpool_info
from photosense.core.embedder import Embedder
from photosense.core.models import parse_spec
e = Embedder(parse_spec("tiny-fashion"), Path({str(tmp_path)!r}), device="cpu")
e.encode_texts(["a photo of a coat."])
print(json.dumps([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts == [1] * len(counts)


@pytest.mark.parametrize("preset,expected", [(None, "10000"), ("123", "123")])
def test_importing_photosense_shortens_the_openmp_spin_unless_the_user_set_it(preset, expected):
    env = {"PATH": "/usr/bin:/bin", **({"GOMP_SPINCOUNT": preset} if preset else {})}
    script = "import os, photosense; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == expected
