"""Build the proof-of-learning models from the shapes world (issue 14).

Run: ``PYTHONPATH=src python scripts/build_shapes_world.py base [--out DIR] [--work DIR] [--quick]``
and ``... check [--model DIR] [--n 96] [--grid PNG]``.

``base`` pretrains the tiny SD1-shaped base model (``lorakit.proof.pretrain``) and writes it, by default, to
``src/lorakit/proof/base_model`` (the folder ``lorakit.proof.base_model_path()`` returns). It runs on one CPU
thread from fixed seeds: with the same torch version it gives the same bits. ``--quick`` trains a few steps
only (a smoke test of the script, not a usable model). Partial checkpoints land in ``--work``/partial.

``check`` samples the model (default: the shipped one) for ``--n`` random world captions and prints how often
the rule-based reading (``lorakit.proof.measure``) agrees with the caption: shape, colour, background colour,
pattern, and all four; ``--grid`` saves the samples as one image (a row of 12 per line).

``judge [--seed 0] [--epochs 8] [--images 6000] [--output FILE] [--check]`` trains the image classifier that
scores the proof of learning (``lorakit.proof.judge_training``) and writes ``src/lorakit/proof/judge.safetensors``;
it measures the judge on fresh images it never saw, prints the figures and keeps them in the file's metadata.
``--check`` measures the saved judge and changes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from lorakit.proof import base_model_path
from lorakit.proof.pretrain import Recipe, build_base_model


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["judge"]:
        return judge_main(argv[1:])  # the judge has options of its own
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["base", "check", "judge"])
    parser.add_argument("--out", type=Path, default=base_model_path())
    parser.add_argument("--model", type=Path, default=base_model_path())
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--grid", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lorakit-shapes-world"))
    parser.add_argument("--quick", action="store_true", help="a few steps only: checks the script runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.what == "check":
        return check(args)
    recipe = Recipe()
    if args.quick:
        recipe = dataclasses.replace(recipe, vae_steps=5, unet_steps=5, scenes=512)
    start = time.time()

    def say(message: str) -> None:
        print(f"[{time.time() - start:7.0f} s] {message}", flush=True)

    say(f"recipe: {recipe}")
    folder = build_base_model(args.out, args.work, recipe, say)
    say(f"base model: {folder}")
    return 0


def check(args) -> int:
    from PIL import Image

    from lorakit.proof.measure import match_rate
    from lorakit.proof.world import caption

    rates, rows = match_rate(args.model, n=args.n, seed=args.seed, steps=args.steps, guidance=args.guidance)
    for scene, _, reading in rows[:12]:
        print(f"{caption(scene):55s} -> {reading}")
    print("match rates: " + ", ".join(f"{k} {v:.0%}" for k, v in rates.items()))
    print(
        json.dumps(
            {
                "model": str(args.model),
                "n": args.n,
                "seed": args.seed,
                "steps": args.steps,
                "guidance": args.guidance,
                **{k: round(v, 4) for k, v in rates.items()},
            }
        )
    )
    if args.grid:
        grid = Image.new("RGB", (64 * 12, 64 * ((len(rows) + 11) // 12)))
        for i, (_, image, _) in enumerate(rows):
            grid.paste(image, (64 * (i % 12), 64 * (i // 12)))
        grid.save(args.grid)
        print(f"grid: {args.grid}")
    return 0


def judge_main(argv: list[str]) -> int:
    """``judge``: train (or ``--check``) the shapes judge."""
    parser = argparse.ArgumentParser(prog="build_shapes_world.py judge", description="Train the shapes judge.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--images", type=int, default=6000, help="fresh images per epoch")
    parser.add_argument("--eval-images", type=int, default=2000)
    parser.add_argument("--output", help="where to save (default: the shipped file)")
    parser.add_argument("--check", action="store_true", help="measure the saved judge instead of training one")
    return build_judge(parser.parse_args(argv))


def build_judge(args: argparse.Namespace) -> int:
    from lorakit.events import Emitter
    from lorakit.proof.judge import JUDGE_FILE, load_judge, save_judge
    from lorakit.proof.judge_training import measure, train_judge

    torch.set_num_threads(1)  # bit for bit: the same thread count as the shipped judge was built with
    out = Path(args.output) if args.output else JUDGE_FILE
    if args.check:
        judge = load_judge(out)
        print(f"{out}: built with {json.dumps({k: v for k, v in judge.info.items() if k != 'accuracy'})}")
    else:
        start = time.time()

        def show(event) -> None:
            d = event.data
            print(f"epoch {d['done']}/{d['total']}  loss {d['loss']:.4f}  ({time.time() - start:.0f} s)", flush=True)

        judge = train_judge(
            seed=args.seed, epochs=args.epochs, images_per_epoch=args.images, emitter=Emitter(callbacks=[show])
        )
    accuracy = measure(judge, seed=args.seed, n=args.eval_images)
    print(f"Accuracy on {accuracy['images']} fresh images (clean / blurred, noisy, colour-shifted):")
    for head in ("shape", "colour", "bg_colour", "background"):
        print(f"  {head:<12} {accuracy[f'clean_{head}']:.2%} / {accuracy[f'degraded_{head}']:.2%}")
    print(
        f"  concept      found {accuracy['clean_concept_found']:.1%} / {accuracy['degraded_concept_found']:.1%},"
        f" false alarms {accuracy['clean_concept_false']:.1%} / {accuracy['degraded_concept_false']:.1%}"
    )
    if not args.check:
        judge.info["accuracy"] = accuracy
        save_judge(judge, out)
        print(f"Saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    print(json.dumps(accuracy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
