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
