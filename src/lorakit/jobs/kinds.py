"""The job kinds lorakit ships: the test kinds and the long work of each area of the core."""

from __future__ import annotations

from lorakit.jobs.registry import register

register("sleep", "lorakit.jobs.builtin:sleep", help="Wait, emitting progress (a test job).", testing=True)
register("gpu_sleep", "lorakit.jobs.builtin:sleep", help="Like sleep, but holds the GPU lock.", gpu=True, testing=True)
register("echo", "lorakit.jobs.builtin:echo", help="Return its params (a test job).", testing=True)
register("fail", "lorakit.jobs.builtin:fail", help="Fail on purpose (a test job).", testing=True)

register(
    "import",
    "lorakit.jobs.adapters:import_images",
    help="Import folders, ZIP files or images into a dataset.",
    requires=("lorakit.data.importer",),
)

_A = "lorakit.jobs.adapters"
register(
    "train",
    f"{_A}:train",
    help="Train a LoRA.",
    gpu=True,
    resumable=True,
    requires=("lorakit.train.run", "torch"),
)
register("tag", f"{_A}:tag", help="Tag images with a WD14 model.", gpu=True, requires=("lorakit.tagging.wd14",))
register(
    "caption",
    f"{_A}:caption",
    help="Caption images with an image-to-text model.",
    gpu=True,
    requires=("lorakit.tagging.captioner", "transformers"),
)
register("dedup", f"{_A}:dedup", help="Find near-duplicate images.", requires=("lorakit.data.dedup",))
register("download", f"{_A}:download", help="Download a model from a link.", requires=("lorakit.models.download",))
register("resize", f"{_A}:resize", help="Resize a LoRA to a lower rank.", gpu=True, requires=("lorakit.lora.resize",))
register("merge", f"{_A}:merge", help="Merge LoRAs into one.", gpu=True, requires=("lorakit.lora.merge",))
register(
    "extract",
    f"{_A}:extract",
    help="Extract a LoRA from a fine-tuned model.",
    gpu=True,
    requires=("lorakit.lora.extract",),
)
register("upload", f"{_A}:upload", help="Upload a LoRA to Hugging Face.", requires=("lorakit.hub.upload",))
register("health", f"{_A}:health", help="Check a dataset's health.", requires=("lorakit.data.health",))
register("convert", f"{_A}:convert", help="Convert a LoRA to another layout.", requires=("lorakit.lora.convert",))
