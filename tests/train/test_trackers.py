"""logging.*: curves reach TensorBoard through accelerate; a missing tracker package is refused up front."""

from __future__ import annotations

import importlib.util

import pytest


def test_tensorboard_gets_losses_lrs_and_validation(tiny_config, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lorakit.train.run import train

    cfg = tiny_config(
        logging__log_with="tensorboard",
        logging__logging_dir=str(tmp_path / "tb"),
        logging__log_prefix="try1-",
        logging__log_tracker_name="kitbot",
        samples__validation_split=0.25,
        samples__validate_every_n_steps=1,
        schedule__max_train_epochs=None,
        schedule__max_train_steps=2,
    )
    result = train(cfg)
    folder = tmp_path / "tb" / f"try1-{result['run_dir'].rsplit('/', 1)[-1]}" / "kitbot"
    files = list(folder.glob("events.out.tfevents.*"))
    assert files, f"no TensorBoard log in {folder}"
    events = EventAccumulator(str(folder))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss/current", "loss/average", "loss/validation"} <= tags and any(t.startswith("lr/") for t in tags)
    assert [e.step for e in events.Scalars("loss/current")] == [1, 2]


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_wandb_without_the_package_is_refused_before_loading(tiny_config):
    from lorakit import events as ev
    from lorakit.errors import ConfigError
    from lorakit.train.run import train

    seen: list = []
    with pytest.raises(ConfigError, match="needs the wandb package"):
        train(tiny_config(logging__log_with="wandb"), emitter=ev.Emitter(callbacks=[seen.append]))
    assert not [e for e in seen if e.type == "status" and "Loading" in e.data.get("message", "")]
