"""The proof of learning, as a guard on the training engine.

A LoRA (and a LoCon) trained by the ordinary engine on the concept dataset must make the pretrained shapes
model draw the concept crescent in at least 90 % of samples with the trigger word and in at most 10 %
without it, as the judge counts. Two deliberately broken trainings must fail the same check, so the check is
shown to be able to fail: a learning rate 1000x too high (a fried LoRA, or a training the engine's nan
guard stops: either way no LoRA that passes), and a LoRA whose scale is zeroed
(network alpha 1e-6 on rank 8: the trained weights are multiplied by ~1e-7 and change nothing).
``LORAKIT_PROOF_MODEL=/path/to/model`` proves against another build of the shapes model than the shipped one.

Each training runs once per module (fixtures) and its figures are printed in the test summary.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from lorakit.errors import TrainingError
from lorakit.proof import base_model_path
from lorakit.proof.demo import MAX_WITHOUT_TRIGGER, MIN_WITH_TRIGGER, ProofSettings, run_proof

# Another build of the shapes model to prove against (a diffusers folder), e.g. one not yet shipped.
MODEL = os.environ.get("LORAKIT_PROOF_MODEL") or None
pytestmark = [
    pytest.mark.slow,
    # The model is built by scripts/build_shapes_world.py base and shipped; without it there is nothing to prove.
    pytest.mark.skipif(
        MODEL is None and not (base_model_path() / "model_index.json").is_file(),
        reason="the shapes base model is not built",
    ),
]

# Fewer samples and sampling steps than the demo's, to keep `make test` short; the same training.
TEST = ProofSettings(samples=10, sample_steps=15, model=MODEL)
CASES = {
    "lora": TEST,
    "locon": dataclasses.replace(TEST, network="locon"),
    "lr-1000x": dataclasses.replace(TEST, learning_rate=TEST.learning_rate * 1000),
    "scale-zeroed": dataclasses.replace(TEST, alpha=1e-6),
}


@pytest.fixture(scope="module")
def judge(proof_figures):
    from lorakit.proof.judge import load_judge

    judge = load_judge()
    acc = judge.info["accuracy"]
    proof_figures.append(
        f"judge: shape accuracy {acc['clean_shape']:.1%} clean / {acc['degraded_shape']:.1%} degraded on"
        f" {acc['images']} fresh images; concept found {acc['degraded_concept_found']:.1%},"
        f" false alarms {acc['degraded_concept_false']:.1%} (degraded)"
    )
    proof_figures.append(
        f"thresholds: concept in >= {MIN_WITH_TRIGGER:.0%} of samples with the trigger, <= {MAX_WITHOUT_TRIGGER:.0%}"
        " without"
    )
    return judge


@pytest.fixture(scope="module")
def proofs(tmp_path_factory, judge, proof_figures):
    """``proofs(name)``: the proof of the training ``CASES[name]``, trained once for this module."""
    import torch

    done = {}

    def get(name: str):
        if name not in done:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # the tiny model gains nothing from threads; the test machine is shared
            try:
                proof = run_proof(tmp_path_factory.mktemp(f"proof-{name}"), CASES[name], judge=judge)
            except TrainingError as error:
                if name in ("lora", "locon"):
                    raise
                # The engine itself stopped the broken training (e.g. its loss became nan): no LoRA, no proof.
                proof_figures.append(f"{name:<13} training stopped by the engine: {error.problem} -> NOT learned")
                done[name] = error
                return error
            finally:
                torch.set_num_threads(threads)
            proof_figures.append(
                f"{name:<13} concept with trigger {proof.with_trigger:.0%}, without {proof.without_trigger:.0%}"
                f" (base model with trigger {proof.base_with_trigger:.0%}; {proof.samples} samples each)"
                f" -> {'learned' if proof.passed() else 'NOT learned'}"
            )
            done[name] = proof
        return done[name]

    return get


# Not reached yet on the shipped base model (issue 14 stays open): measured with these settings on the 4250-step
# model, LoRA 20 % with the trigger / 0 % without, LoCon 60 % / 10 % (80 % / 0 % on seed 1, 50 % / 30 % on seed 2;
# docs/proof-of-learning.md, "Status", has every run).
# strict: the day a recipe or a better base model passes, this turns into a failure that says to remove the mark.
NOT_YET = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the shipped shapes model does not yet let a LoRA reach 90 %/10 % (issue 14); remove when it does",
)


@pytest.mark.parametrize("name", [pytest.param("lora", marks=NOT_YET), pytest.param("locon", marks=NOT_YET)])
def test_a_trained_lora_draws_the_concept_with_the_trigger_and_only_then(proofs, name):
    proof = proofs(name)
    print(f"{name}: with trigger {proof.with_trigger:.0%}, without {proof.without_trigger:.0%}")
    assert proof.with_trigger >= MIN_WITH_TRIGGER, f"the {name} did not learn the concept (see {proof.grid})"
    assert proof.without_trigger <= MAX_WITHOUT_TRIGGER, f"the {name} draws the concept without its trigger"
    assert proof.grid.is_file() and proof.grid.parent == proof.lora.parent
    # The base model alone does not know the concept: what the LoRA draws, it learned.
    assert proof.base_with_trigger <= MAX_WITHOUT_TRIGGER


@pytest.mark.parametrize("name", ["lr-1000x", "scale-zeroed"])
def test_a_broken_training_fails_the_check(proofs, name):
    proof = proofs(name)
    if isinstance(proof, TrainingError):
        return  # the engine refused to go on (the nan guard): the training failed, as it should
    print(f"{name}: with trigger {proof.with_trigger:.0%}, without {proof.without_trigger:.0%}")
    assert not proof.passed()
    assert proof.with_trigger < MIN_WITH_TRIGGER  # it fails for not drawing the concept, not by chance elsewhere
