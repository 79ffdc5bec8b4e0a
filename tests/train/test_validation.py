"""Validation loss on the held-out split: measured every N steps / epochs, emitted, never trained on."""

from __future__ import annotations

import math

from lorakit import events as ev


def _run(tiny_config, **overrides):
    from lorakit.train.run import train

    seen: list = []
    result = train(tiny_config(**overrides), emitter=ev.Emitter(callbacks=[seen.append]))
    return result, seen


def test_validation_every_n_steps_is_emitted_and_logged(tiny_config):
    result, seen = _run(
        tiny_config,
        samples__validation_split=0.25,
        samples__validate_every_n_steps=1,
        schedule__max_train_epochs=None,
        schedule__max_train_steps=3,
        learning__learning_rate=1e-2,
    )
    checks = [e.data for e in seen if e.type == ev.VALIDATION]
    assert [c["step"] for c in checks] == [1, 2, 3]
    assert all(math.isfinite(c["loss"]) and c["images"] == 1 for c in checks)
    # Same images, same noise each time: the losses differ only because the weights moved.
    assert len({c["loss"] for c in checks}) == 3
    logged = ev.read_events(f"{result['run_dir']}/events.jsonl")
    assert [e.data["step"] for e in logged if e.type == ev.VALIDATION] == [1, 2, 3]


def test_held_out_images_never_train_and_default_to_every_epoch(tiny_config, monkeypatch):
    from lorakit.train import feed as feed_module

    trained: set[str] = set()
    original = feed_module.Feed.batch

    def batch(self, indices, epoch, position, step):
        if self.examples is not validated:  # the training feed
            trained.update(self.examples[i].path.name for i in indices)
        return original(self, indices, epoch, position, step)

    validated = None
    from lorakit.train import validation as validation_module

    build = validation_module.Validator.__init__

    def init(self, run, examples):
        nonlocal validated
        validated = examples
        build(self, run, examples)

    monkeypatch.setattr(feed_module.Feed, "batch", batch)
    monkeypatch.setattr(validation_module.Validator, "__init__", init)
    _, seen = _run(tiny_config, samples__validation_split=0.25, schedule__max_train_epochs=2)
    held = {e.path.name for e in validated}
    assert len(held) == 1 and not held & trained and len(trained) == 3
    assert [e.data["epoch"] for e in seen if e.type == ev.VALIDATION] == [1, 2]


def test_no_split_no_validation(tiny_config):
    _, seen = _run(tiny_config, samples__validate_every_n_steps=1)
    assert not [e for e in seen if e.type == ev.VALIDATION]
