"""The one typed configuration: ``TrainConfig`` and its sections, the dataset description, presets,
sd-scripts TOML import/export, validation with fixes, and migrations between config versions.

Every field is declared once (see :func:`lorakit.config.fields.setting`) with its help text, section,
level, unit, range, recommended value and sd-scripts name; the CLI, the web form, the notebook widgets
and the TOML files are all generated from that declaration.
"""
