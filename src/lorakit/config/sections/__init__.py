"""The sections of :class:`lorakit.config.schema.TrainConfig`, one module per group of related sections.

Each field is declared once with :func:`lorakit.config.fields.setting`; section order here is the order
front ends show them in.
"""
