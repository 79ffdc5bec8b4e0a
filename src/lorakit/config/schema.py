"""``TrainConfig``: the one configuration every front end and the trainer read.

Sections (in the order front ends show them): model, output, dataset, captions, schedule, learning,
optimizer, network, noise, memory, samples, logging, multigpu. Each field is declared once in
``lorakit/config/sections/`` with its help, level, unit, range, recommended value and sd-scripts name.
"""

from __future__ import annotations

from pydantic import Field

from lorakit.config.dataset import ResolvedSubset, Section, SubsetConfig, resolve_subset, subsets_from_train_dir
from lorakit.config.fields import LORAKIT_ONLY, setting
from lorakit.config.sections.data import CaptionsSection, DatasetSection
from lorakit.config.sections.model import ModelSection, OutputSection
from lorakit.config.sections.network import NetworkSection
from lorakit.config.sections.noise import NoiseSection
from lorakit.config.sections.runtime import LoggingSection, MemorySection, MultiGPUSection, SamplesSection
from lorakit.config.sections.training import LearningSection, OptimizerSection, ScheduleSection

CONFIG_VERSION = 1

SECTIONS: tuple[str, ...] = (
    "model",
    "output",
    "dataset",
    "captions",
    "schedule",
    "learning",
    "optimizer",
    "network",
    "noise",
    "memory",
    "samples",
    "logging",
    "multigpu",
)


class TrainConfig(Section):
    """Everything a training run needs. Build with :func:`lorakit.config.presets.new_config` or load a file
    with :func:`lorakit.config.io.load_config`; check with :func:`lorakit.config.validate.validate`."""

    config_version: int = setting(
        CONFIG_VERSION,
        help="Version of this file's layout. lorakit upgrades older files when it reads them.",
        kohya=LORAKIT_ONLY,
        effect="config",
        level="expert",
        ge=0,
    )
    model: ModelSection = Field(default_factory=ModelSection, description="The base model to train on.")
    output: OutputSection = Field(default_factory=OutputSection, description="Where and how the LoRA is saved.")
    dataset: DatasetSection = Field(
        default_factory=DatasetSection, description="The images, training size, buckets and augmentations."
    )
    captions: CaptionsSection = Field(default_factory=CaptionsSection, description="How captions are used.")
    schedule: ScheduleSection = Field(default_factory=ScheduleSection, description="How long training runs.")
    learning: LearningSection = Field(default_factory=LearningSection, description="Learning rates and schedule.")
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection, description="The optimizer.")
    network: NetworkSection = Field(default_factory=NetworkSection, description="The adapter's kind and size.")
    noise: NoiseSection = Field(default_factory=NoiseSection, description="Noise and loss.")
    memory: MemorySection = Field(default_factory=MemorySection, description="Memory and speed.")
    samples: SamplesSection = Field(default_factory=SamplesSection, description="Preview images and validation.")
    logging: LoggingSection = Field(default_factory=LoggingSection, description="Logging and Hugging Face.")
    multigpu: MultiGPUSection = Field(default_factory=MultiGPUSection, description="Several GPUs or machines.")

    def subset_list(self) -> list[SubsetConfig]:
        """The explicit subsets, or those made from ``train_data_dir``/``reg_data_dir`` folders.

        Raises :class:`lorakit.errors.DatasetError` when the folders do not follow the '<repeats>_<name>'
        convention.
        """
        if self.dataset.subsets:
            return list(self.dataset.subsets)
        if self.dataset.train_data_dir is None:
            return []
        subsets = subsets_from_train_dir(self.dataset.train_data_dir)
        if self.dataset.reg_data_dir is not None:
            subsets += subsets_from_train_dir(self.dataset.reg_data_dir, is_reg=True)
        return subsets

    def resolved_subsets(self) -> list[ResolvedSubset]:
        """Every subset with its caption and augmentation options filled in from the dataset defaults."""
        return [resolve_subset(s, self.captions, self.dataset) for s in self.subset_list()]

    def with_subsets_from_folders(self) -> TrainConfig:
        """A copy where ``train_data_dir`` folders are written out as explicit subsets (repeats visible)."""
        subsets = self.subset_list()
        dataset = self.dataset.model_copy(update={"subsets": subsets, "train_data_dir": None, "reg_data_dir": None})
        return self.model_copy(update={"dataset": dataset})
