"""Base models known to train well, per family: what the notebooks (and any front end) offer first.

Each entry is a link :func:`lorakit.models.download.download` understands, or a built-in ``tiny:`` model
that needs no download. Kept short on purpose: a list of good starting points, not a catalogue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SuggestedModel:
    family: str
    title: str
    link: str  # a download link, or "tiny:<family>" for the built-in test model
    note: str
    vae: str | None = None  # a separate VAE link people usually pair with it

    @property
    def builtin(self) -> bool:
        return self.link.startswith("tiny:")

    def to_dict(self) -> dict:
        return asdict(self) | {"builtin": self.builtin}


SUGGESTED = (
    SuggestedModel(
        "sdxl",
        "Stable Diffusion XL base 1.0",
        "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/blob/main/sd_xl_base_1.0.safetensors",
        "The general SDXL base: LoRAs trained on it work on most SDXL fine-tunes. 6.9 GB; 12 GB of GPU memory.",
        "https://huggingface.co/madebyollin/sdxl-vae-fp16-fix/blob/main/sdxl_vae.safetensors",
    ),
    SuggestedModel(
        "sdxl",
        "Illustrious XL 0.1 (anime)",
        "https://huggingface.co/OnomaAIResearch/Illustrious-xl-early-release-v0/blob/main/Illustrious-XL-v0.1.safetensors",
        "An SDXL anime base that knows booru tags: train anime characters on it. 6.9 GB.",
    ),
    SuggestedModel(
        "sd1",
        "Stable Diffusion 1.5",
        "https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5/blob/main/v1-5-pruned-emaonly.safetensors",
        "The SD 1.5 base: fast, trains on 6-8 GB of GPU memory. 4.3 GB.",
        "https://huggingface.co/stabilityai/sd-vae-ft-mse-original/blob/main/vae-ft-mse-840000-ema-pruned.safetensors",
    ),
    SuggestedModel(
        "sd1",
        "Built-in tiny model (for trying lorakit out)",
        "tiny:sd1",
        "A tiny SD1-shaped model built on the spot: trains in seconds on a CPU. Its LoRAs are not useful images.",
    ),
)


def suggested_models(family: str | None = None) -> list[SuggestedModel]:
    """The suggested base models, all or of one family."""
    return [m for m in SUGGESTED if family is None or m.family == family]
