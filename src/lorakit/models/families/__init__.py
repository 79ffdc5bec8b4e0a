"""Model families (sd1, sd2, sdxl, flux), each a module that registers itself.

``families.get("sdxl")`` returns the family class; ``families.names()`` lists them. A new family is a
new module here that subclasses :class:`~lorakit.models.families.base.ModelFamily`, decorates itself
with :func:`register`, and is imported at the bottom of this file.
"""

from __future__ import annotations

from lorakit.errors import ConfigError

_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make a family available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type:
    """The family class called ``name`` (``sd1``, ``sd2``, ``sdxl``)."""
    key = {"sd15": "sd1", "sd1.5": "sd1", "sd_v1": "sd1", "sd2-v": "sd2", "sd21": "sd2"}.get(
        name.lower(), name.lower()
    )
    if key not in _REGISTRY:
        raise ConfigError(
            f"Unknown model family {name!r}.", f"Use one of: {', '.join(sorted(_REGISTRY))}.", field="model_family"
        )
    return _REGISTRY[key]


def names() -> list[str]:
    return sorted(_REGISTRY)


def all_families() -> list[type]:
    return list(_REGISTRY.values())


from lorakit.models.families import flux, sd1, sd2, sdxl  # noqa: E402,F401  (registers them)
