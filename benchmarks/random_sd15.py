"""A full-size SD1.5 diffusers folder with random weights, built from lorakit's shipped layout (no download).

    .venv/bin/python benchmarks/random_sd15.py /tmp/sd15-random      # about 3.4 GB UNet + 0.5 GB TE + 0.3 GB VAE

The architecture is ``src/lorakit/models/arch_configs/sd1`` (SD1.5's published configs); the tokenizer is the
CLIP vocabulary lorakit ships. Weights are drawn with a fixed seed, so two builds are identical. A folder that
was built completely before is reused (``.complete`` marks it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

STAMP = ".complete"


def build(folder: Path, seed: int = 0) -> Path:
    """The model folder (built on first use)."""
    if (folder / STAMP).is_file():
        return folder
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from lorakit.models.clip_vocab import tokenizer_folder
    from lorakit.models.single_file import builtin_layout

    layout = builtin_layout("sd1")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(layout / "model_index.json", folder / "model_index.json")
    shutil.copytree(layout / "scheduler", folder / "scheduler", dirs_exist_ok=True)
    shutil.copytree(tokenizer_folder("clip-l"), folder / "tokenizer", dirs_exist_ok=True)

    def config(part: str) -> dict:
        return json.loads((layout / part / "config.json").read_text(encoding="utf-8"))

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for part, make in (
            ("unet", lambda: UNet2DConditionModel.from_config(config("unet"))),
            ("vae", lambda: AutoencoderKL.from_config(config("vae"))),
            ("text_encoder", lambda: CLIPTextModel(CLIPTextConfig(**config("text_encoder")))),
        ):
            model = make()
            model.save_pretrained(folder / part, safe_serialization=True)
            del model
    (folder / STAMP).write_text("ok\n", encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build(args.folder, args.seed))


if __name__ == "__main__":
    main()
