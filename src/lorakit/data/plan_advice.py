"""Plain-words advice and warnings for a step plan, and caption length statistics.

The step ranges are widely shared rules of thumb from LoRA training guides (kohya_ss and Civitai
community guides): a character or object LoRA at batch size 1 usually wants about 1500–3000 steps, a
style more. We compare "images seen" (steps × batch × accumulation × processes), so a larger batch is
judged by the pictures it shows, not the steps it counts. They are starting points, not laws: the
messages say so and say what to change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lorakit.config.dataset import ResolvedSubset

if TYPE_CHECKING:
    from pathlib import Path

    from lorakit.data.plan import PlannedImage, PlanNote, TrainPlan
    from lorakit.data.scan import SubsetScan

# goal -> (low, high) images seen at batch 1 that usually give a usable LoRA
STEP_RANGES: dict[str, tuple[int, int]] = {
    "character": (1500, 3000),
    "concept": (1500, 4000),
    "style": (3000, 6000),
}
# goal -> (fewest, comfortable) number of distinct training images
IMAGE_COUNTS: dict[str, tuple[int, int]] = {"character": (10, 15), "concept": (10, 20), "style": (20, 50)}
# Images × repeats shown per epoch: 100–400 keeps epochs a useful unit for saving and sampling.
PER_EPOCH_RANGE = (100, 400)

# CLIP's pre-tokenizer splits text into runs of letters, single digits and runs of other symbols; the
# BPE then splits rare words further. Counting these pieces gives a lower bound on CLIP tokens without
# loading a tokenizer.
_CLIP_PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)


def approx_clip_tokens(text: str) -> int:
    """About how many CLIP tokens a caption takes (a lower bound: rare words split into more)."""
    return len(_CLIP_PIECES.findall(text))


def _tags(caption: str) -> list[str]:
    return [t.strip() for t in caption.split(",") if t.strip()]


def caption_token_stats(
    images: Sequence[PlannedImage], subsets: Sequence[ResolvedSubset], max_token_length: int | None
) -> dict[str, Any]:
    """Caption lengths of the training images (prefix/suffix included, as sd-scripts adds them)."""
    budget = max_token_length or 75
    counts, tag_counts = [], []
    for image in images:
        if image.is_reg:
            continue
        subset = subsets[image.subset_index]
        caption = image.caption.split("\n")[0] if subset.enable_wildcard else image.caption
        if subset.caption_prefix:
            caption = subset.caption_prefix + " " + caption
        if subset.caption_suffix:
            caption = caption + " " + subset.caption_suffix
        counts.append(approx_clip_tokens(caption))
        tag_counts.append(len(_tags(caption)))
    if not counts:
        return {"approximate": True, "max_token_length": budget, "captions": 0}
    return {
        "approximate": True,  # counted without a tokenizer; real counts are the same or higher
        "max_token_length": budget,
        "captions": len(counts),
        "min": min(counts),
        "mean": round(sum(counts) / len(counts), 1),
        "max": max(counts),
        "over_limit": sum(1 for c in counts if c > budget),
        "fewest_tags": min(tag_counts),
    }


def advise(
    plan: TrainPlan,
    scans: Sequence[SubsetScan],
    *,
    goal: str | None,
    too_small: Sequence[Path],
) -> list[PlanNote]:
    """Warnings (likely problems) and advice (hints) for a plan."""
    from lorakit.data.plan import PlanNote

    notes: list[PlanNote] = []

    def warn(message: str, fix: str | None = None) -> None:
        notes.append(PlanNote("warning", message, fix))

    def hint(message: str, fix: str | None = None) -> None:
        notes.append(PlanNote("advice", message, fix))

    if plan.unreadable:
        names = ", ".join(i.path.name for i in plan.unreadable[:5])
        more = f" and {len(plan.unreadable) - 5} more" if len(plan.unreadable) > 5 else ""
        warn(
            f"{len(plan.unreadable)} file(s) could not be read and are left out: {names}{more}.",
            "Open them in an image editor and save again as PNG or JPG, or delete them.",
        )
    if too_small:
        warn(
            f"{len(too_small)} image(s) are smaller than one bucket step and are left out:"
            f" {', '.join(p.name for p in too_small[:5])}.",
            "Use bigger pictures, or turn off bucket_no_upscale so small pictures are enlarged.",
        )
    if plan.upscaled_images:
        small = [i for i in plan.images if i.placement.upscaled]
        warn(
            f"{plan.upscaled_images} image(s) are smaller than their bucket and will be enlarged (they look soft,"
            f" and the LoRA may learn the blur): {_some(small, lambda i: _sized(i))}.",
            "Use pictures at least as big as the training resolution, or turn on bucket_no_upscale.",
        )
    for scan, row in zip(scans, plan.subsets, strict=True):
        missing = [i for i in scan.images if i.caption_source not in ("file", "class_tokens")]
        if missing and not row.is_reg:
            warn(
                f"Subset '{row.label}': {len(missing)} image(s) have no usable caption"
                f" (e.g. {missing[0].path.name}: {missing[0].caption_source.replace('_', ' ')}).",
                "Write a UTF-8 .txt caption next to each image (lorakit dataset tag can do this),"
                " or set class_tokens for the subset.",
            )
        elif row.missing_captions and not row.is_reg:
            hint(
                f"Subset '{row.label}': {row.missing_captions} image(s) have no caption file and use the class"
                f" tokens '{scan.subset.class_tokens}' as their caption.",
                "Tag or caption the images for a more flexible LoRA.",
            )
        if 0 < row.images < 5 and not row.is_reg:
            warn(
                f"Subset '{row.label}' has only {row.images} image(s); the LoRA will copy them closely.",
                "Add more varied pictures (10–30 is a good start for a character).",
            )
    if plan.reg_images_before_matching > plan.train_images_with_repeats:
        hint(
            f"There are more regularization images with repeats ({plan.reg_images_before_matching}) than"
            f" training images ({plan.train_images_with_repeats}); only {plan.reg_images_with_repeats} are used"
            " per epoch.",
            "Fewer reg images, or fewer reg repeats, give the same result faster to scan.",
        )
    if plan.reg_images_with_repeats:
        hint(
            "Regularization images double the images per epoch, so each epoch takes twice the steps.",
        )

    tokens = plan.caption_tokens
    if tokens.get("over_limit"):
        warn(
            f"{tokens['over_limit']} caption(s) are longer than {tokens['max_token_length']} tokens (estimated);"
            " the end of them is cut off.",
            "Shorten those captions, or raise max_token_length to 150 or 225.",
        )
    _keep_tokens_advice(plan, scans, warn)

    _step_advice(plan, goal, hint, warn)
    return notes


def _some(items: Sequence[Any], name, limit: int = 5) -> str:
    """The first few items by name, and how many more."""
    shown = ", ".join(name(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _sized(image: PlannedImage) -> str:
    (w, h), (bw, bh) = image.placement.original, image.placement.bucket
    return f"{image.path.name} ({w}×{h} for {bw}×{bh})"


def _keep_tokens_advice(plan: TrainPlan, scans: Sequence[SubsetScan], warn) -> None:
    """Captions with no more tags than keep_tokens keeps: shuffling (and tag dropout) cannot change them."""
    for index, scan in enumerate(scans):
        subset = scan.subset
        keep = subset.keep_tokens
        if not keep or not subset.shuffle_caption or subset.keep_tokens_separator or subset.is_reg:
            continue
        short = [i for i in plan.images if i.subset_index == index and len(_tags(i.caption)) <= keep]
        if not short:
            continue
        names = _some(short, lambda i: i.path.name)
        if keep > 1:
            fix = "Lower keep_tokens (1 keeps just the trigger word in place), or add tags to those captions."
        else:
            fix = (
                "Add tags after the trigger word in those captions (lorakit dataset tag can), or turn off"
                " shuffle_caption if your captions are sentences."
            )
        warn(
            f"Subset '{scan.label}': keep_tokens = {keep} keeps the whole caption of {len(short)} image(s),"
            f" so shuffling changes nothing there: {names}.",
            fix,
        )


def _step_advice(plan: TrainPlan, goal: str | None, hint, warn) -> None:
    low, high = STEP_RANGES.get(goal or "character", STEP_RANGES["character"])
    goal_name = goal or "character"
    seen = plan.samples_seen
    batch_note = "" if seen == plan.total_steps else f" ({seen} images seen, i.e. batch-1 steps)"
    if seen < low / 2:
        warn(
            f"{plan.total_steps} steps{batch_note} is far below the usual {low}–{high} for a {goal_name} LoRA;"
            " it will probably learn too little.",
            f"Train for about {_epochs_for(plan, low)}–{_epochs_for(plan, high)} epochs, or add repeats.",
        )
    elif seen < low:
        hint(
            f"{plan.total_steps} steps{batch_note} is on the low side for a {goal_name} LoRA (usual: {low}–{high}).",
            f"If samples look weak, train for about {_epochs_for(plan, low)} epochs.",
        )
    elif seen > high * 2:
        warn(
            f"{plan.total_steps} steps{batch_note} is far above the usual {low}–{high} for a {goal_name} LoRA;"
            " it may overfit (copy the pictures, stiff poses, burnt colours).",
            f"Train for about {_epochs_for(plan, high)} epochs, and save every epoch to pick the best.",
        )
    elif seen > high:
        hint(
            f"{plan.total_steps} steps{batch_note} is above the usual {low}–{high} for a {goal_name} LoRA.",
            "Save every epoch and compare samples: an earlier epoch may look better.",
        )
    per_epoch = plan.train_images_with_repeats
    lo, hi = PER_EPOCH_RANGE
    if per_epoch < lo:
        hint(
            f"One epoch shows {per_epoch} training images; {lo}–{hi} per epoch makes epochs a handier unit for"
            " saving and samples.",
            f"Raise num_repeats to about {max(1, round(lo * 2 / max(1, plan.train_images)))} and lower the epochs.",
        )
    elif per_epoch > hi * 3:
        hint(
            f"One epoch shows {per_epoch} training images; with that many, saves and samples are far apart.",
            "Lower num_repeats and raise the epochs instead.",
        )
    fewest, comfortable = IMAGE_COUNTS.get(goal_name, IMAGE_COUNTS["character"])
    if plan.train_images < fewest:
        hint(
            f"{plan.train_images} training images is few for a {goal_name} LoRA ({comfortable}+ is comfortable).",
            "Add varied pictures: other poses, outfits, backgrounds, lighting.",
        )
    if plan.warmup_steps >= plan.total_steps * plan.num_processes and plan.warmup_steps:
        warn(
            f"Warmup ({plan.warmup_steps} steps) is as long as the whole run.",
            "Use a warmup ratio of about 0.05 (5%).",
        )


def _epochs_for(plan: TrainPlan, images_seen: int) -> int:
    per_epoch = plan.steps_per_epoch * plan.batch_size * plan.gradient_accumulation_steps * plan.num_processes
    return max(1, round(images_seen / max(1, per_epoch)))
