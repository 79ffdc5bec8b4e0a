"""lorakit: train LoRA adapters for Stable Diffusion-family image models, from dataset to published LoRA.

The core (everything outside ``cli/``, ``web/`` and ``notebook/``) never imports a front end and never
prints; it raises :class:`lorakit.errors.LorakitError` for problems a user can fix and emits events
(:mod:`lorakit.events`) for progress.
"""

__version__ = "0.1.0"
