"""The meaning side of course-material retrieval: a static embedding shipped inside this package.

The model is all-MiniLM-L6-v2 (Apache-2.0) distilled into a static embedding with Model2Vec
(`tools/distill_embedding.py` rebuilds it): one vector per WordPiece token; a text's vector is the
mean of its tokens' vectors, normalised. It lives in `tutor_cli/data/embedding/` (tokenizer.json,
vectors.npz: int8 rows with a float scale per row), so nothing is downloaded at run time and it
loads in a few tens of milliseconds. numpy and tokenizers are imported only when it is first used.

Why this model (measured by bench/course.py, figures in pyproject.toml): a transformer in torch
is too heavy for a student's laptop and too slow to embed 1,000 pages in 30 s; fastembed and
model2vec's own `from_pretrained` fetch from a hub; the wheels that do carry static models are
one platform only (tokenlearn-static-model) or word vectors needing pyarrow (GloVe).
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Texts are cut at this many tokens before pooling, as Model2Vec does.
MAX_TOKENS = 512
_lock = threading.Lock()
_loaded: dict[str, StaticEmbedder] = {}
_blas_limited = False


def model_dir() -> Path:
    """The folder of the shipped model."""
    return Path(str(resources.files("tutor_cli") / "data" / "embedding"))


class StaticEmbedder:
    """Mean-pooled static token vectors: `embed(texts)` gives one unit vector per text."""

    def __init__(self, directory: Path | None = None) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        folder = directory or model_dir()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        with np.load(folder / "vectors.npz", allow_pickle=False) as data:
            rows = data["vectors"].astype(np.float32)
            rows *= data["scales"].astype(np.float32)[:, None]
            self._unknown = int(data["unknown_id"]) if "unknown_id" in data else -1
        self._vectors = rows
        self.dimensions = int(rows.shape[1])

    def embed(self, texts: list[str]) -> np.ndarray:
        """A (len(texts), dimensions) float32 array of unit vectors (zeros for a text with no known token)."""
        import numpy as np

        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        if len(texts) == 1:  # a question: encode_batch's thread pool costs more than it saves
            encodings = [self._tokenizer.encode(texts[0], add_special_tokens=False)]
        else:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            ids = [token for token in encoding.ids[:MAX_TOKENS] if token != self._unknown]
            if ids:
                out[row] = self._vectors[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def embedder() -> StaticEmbedder:
    """The shipped model, loaded once per process (thread-safe, so it can be warmed in the background)."""
    with _lock:
        model = _loaded.get("default")
        if model is None:
            model = _loaded["default"] = StaticEmbedder()
        return model


def warm_up() -> None:
    """Load the model in a background thread, so the first question does not wait for it."""
    threading.Thread(target=_quiet_load, daemon=True, name="tutor-embedding-load").start()


def _quiet_load() -> Any:
    try:
        return embedder()
    except Exception:  # noqa: BLE001 - a failure shows (and is reported) when the model is really needed
        return None


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in this process (done once; the search calls it).

    A question is scored by one matrix-vector product over every passage vector (50,000 x 256:
    ~2 ms on one core). OpenBLAS splits it across all cores and then spins waiting for them: on a
    laptop busy with anything else that made it 12 ms and more (bench/course.py). Nothing else
    here uses BLAS threads. threadpoolctl does this for OpenBLAS, MKL and BLIS alike.
    """
    global _blas_limited
    if _blas_limited:
        return
    with _lock:
        if not _blas_limited:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _blas_limited = True


def quantize(vectors: np.ndarray) -> bytes:
    """Unit vectors as int8 bytes (x127), the compact form kept in the store."""
    import numpy as np

    return np.clip(np.rint(vectors * 127.0), -127, 127).astype(np.int8).tobytes()


def dequantize(data: bytes, dimensions: int) -> np.ndarray:
    """The int8 bytes of `quantize` back as a (n, dimensions) float32 array (scaled by 127)."""
    import numpy as np

    return np.frombuffer(data, dtype=np.int8).reshape(-1, dimensions).astype(np.float32)
