"""Real LoRA files for the Utilities tests (tests/web/test_lora_page_api.py, frontend/e2e/utilities.spec.ts).

A LoRA here is made the way training makes one: lorakit's network is injected into the built-in tiny SD1
model, its adapters get seeded random weights (as if trained: an untrained LoRA's up matrices are zero, and
zero has nothing to resize), and it is saved with sd-scripts' metadata (dataset tags, trigger word).

Run as a script: ``python tests/web/lora_files.py OUT.safetensors [--rank 8] [--seed 0]`` (with the
repository's ``src`` on PYTHONPATH) writes one and prints its path.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

TAGS = {"10_mira": {"mira": 12, "red hair": 9, "smile": 5, "outdoors": 3}}


def write_tiny_lora(path: str | Path, *, rank: int = 8, alpha: float = 4.0, seed: int = 0) -> Path:
    """A kohya LoRA for the tiny SD1 model (UNet and text encoder), ``rank`` everywhere, trigger word ``mira``."""
    import torch

    from lorakit.lora.kohya import save_lora_file, training_metadata
    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.models.loading import load_model
    from lorakit.models.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as folder:
        family = load_model(build_tiny_model("sd1", Path(folder) / "sd1"), family="sd1")
    settings = NetworkSettings(rank=rank, alpha=alpha, train_text_encoder=True)
    network = build_network(family.trainable_parts(), family.lora_targets(True, True), settings)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in network.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    dataset = {
        "tag_frequency": TAGS,
        "dataset_dirs": {"10_mira": {"n_repeats": 10, "img_count": 12}},
        "num_train_images": 12,
        "resolution": 64,
    }
    metadata = training_metadata(
        family=family,
        network=network,
        settings={"learning_rate": 1e-4, "optimizer": "AdamW", "max_train_steps": 120},
        dataset=dataset,
        model_name="tiny-sd1",
        output_name=Path(path).stem,
        epoch=1,
        steps=120,
        trigger_phrase="mira",
    )
    return save_lora_file(path, network.kohya_state_dict(torch.float16), metadata)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_tiny_lora(args.output, rank=args.rank, seed=args.seed))
