"""The job kinds lorakit ships: the test kinds and the long work of each area of the core."""

from __future__ import annotations

from lorakit.jobs import params as P
from lorakit.jobs.registry import register

_B = "lorakit.jobs.builtin"
register("sleep", f"{_B}:sleep", help="Wait, emitting progress (a test job).", testing=True, params=P.SleepParams)
register(
    "gpu_sleep",
    f"{_B}:sleep",
    help="Like sleep, but holds the GPU lock.",
    gpu=True,
    testing=True,
    params=P.SleepParams,
)
register("echo", f"{_B}:echo", help="Return its params (a test job).", testing=True, params=P.EchoParams)
register("fail", f"{_B}:fail", help="Fail on purpose (a test job).", testing=True, params=P.FailParams)

_A = "lorakit.jobs.adapters"
register(
    "import",
    f"{_A}:import_images",
    help="Import folders, ZIP files or images into a dataset.",
    requires=("lorakit.data.importer",),
    params=P.ImportParams,
)
register(
    "train",
    f"{_A}:train",
    help="Train a LoRA.",
    gpu=True,
    resumable=True,
    requires=("lorakit.train.run", "torch"),
    saved_state=f"{_A}:train_saved_state",
    params=P.TrainParams,
)
register(
    "tag",
    f"{_A}:tag",
    help="Tag images with a WD14 model.",
    gpu=True,
    requires=("lorakit.tagging.wd14",),
    params=P.TagParams,
)
register(
    "caption",
    f"{_A}:caption",
    help="Caption images with an image-to-text model.",
    gpu=True,
    requires=("lorakit.tagging.captioner", "transformers"),
    params=P.CaptionParams,
)
register(
    "dedup", f"{_A}:dedup", help="Find near-duplicate images.", requires=("lorakit.data.dedup",), params=P.DedupParams
)
register(
    "download",
    f"{_A}:download",
    help="Download a model from a link.",
    requires=("lorakit.models.download",),
    params=P.DownloadParams,
)
register(
    "resize",
    f"{_A}:resize",
    help="Resize a LoRA to a lower rank.",
    gpu=True,
    requires=("lorakit.lora.resize",),
    params=P.ResizeParams,
)
register(
    "merge",
    f"{_A}:merge",
    help="Merge LoRAs into one.",
    gpu=True,
    requires=("lorakit.lora.merge",),
    params=P.MergeParams,
)
register(
    "extract",
    f"{_A}:extract",
    help="Extract a LoRA from a fine-tuned model.",
    gpu=True,
    requires=("lorakit.lora.extract",),
    params=P.ExtractParams,
)
register(
    "bake",
    f"{_A}:bake",
    help="Bake LoRAs into a checkpoint.",
    requires=("lorakit.lora.bake",),
    params=P.BakeParams,
)
register(
    "upload",
    f"{_A}:upload",
    help="Upload a LoRA to Hugging Face.",
    requires=("lorakit.hub.upload",),
    params=P.UploadParams,
)
register(
    "health",
    f"{_A}:health",
    help="Check a dataset's health.",
    requires=("lorakit.data.health",),
    params=P.HealthParams,
)
register(
    "convert",
    f"{_A}:convert",
    help="Convert a LoRA to another layout.",
    requires=("lorakit.lora.convert",),
    params=P.ConvertParams,
)
