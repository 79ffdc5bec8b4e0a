"""The individual health checks: each turns what the health pass learned into findings.

Thresholds follow common LoRA-training practice: an image whose shorter side is under half the
training resolution is upscaled so much that it teaches blur; aspect ratios beyond 1:3 land in thin
edge buckets (or are cropped hard); a tag in nearly every caption is absorbed into the LoRA and can no
longer be prompted away, which is wanted only for the trigger word.
"""

from __future__ import annotations

import contextlib
import shlex
from collections import defaultdict
from pathlib import Path

from lorakit.data.health import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    HealthReport,
    ImageCheck,
    common_tags,
    tags_of,
    trigger_key,
)
from lorakit.data.plan_advice import approx_clip_tokens

EXTREME_ASPECT = 3.0
TOO_COMMON = 0.9  # share of captions carrying one tag
MIN_CAPTIONS_FOR_BALANCE = 8


def image_findings(results: list[ImageCheck], *, resolution: int, alpha_mask: bool) -> list[Finding]:
    out = []
    unreadable = [r for r in results if r.error]
    if unreadable:
        out.append(
            Finding(
                "unreadable",
                ERROR,
                f"{len(unreadable)} files cannot be read as images (empty, damaged or not images).",
                "Copy those images again from their source, or move them out of the dataset (the fix moves them to"
                " the trash).",
                [str(r.path) for r in unreadable],
                "trash-unreadable",
                {"errors": {str(r.path): r.error for r in unreadable}},
            )
        )
    ok = [r for r in results if r.info]
    small = [r for r in ok if min(r.info.width, r.info.height) < resolution / 2]
    if small:
        out.append(
            Finding(
                "too_small",
                WARNING,
                f"{len(small)} images are small for {resolution}px training (shorter side under {resolution // 2}px).",
                "Use larger versions of these images, upscale them with an AI upscaler, or remove them: stretched"
                " small images teach the LoRA blur.",
                [str(r.path) for r in small],
                data={"sizes": {str(r.path): [r.info.width, r.info.height] for r in small}},
            )
        )
    extreme = [r for r in ok if max(r.info.width, r.info.height) / min(r.info.width, r.info.height) > EXTREME_ASPECT]
    if extreme:
        out.append(
            Finding(
                "extreme_aspect",
                WARNING,
                f"{len(extreme)} images are very wide or very tall (beyond 1:{EXTREME_ASPECT:g}).",
                "Crop them to the part that matters: they land in thin buckets or lose most of the picture.",
                [str(r.path) for r in extreme],
            )
        )
    alpha = [r for r in ok if r.info.has_alpha]
    if alpha:
        how = (
            "their transparency is used as a loss mask (alpha_mask is on)"
            if alpha_mask
            else "transparent areas are filled with white for training and tagging"
        )
        out.append(
            Finding(
                "transparency",
                INFO,
                f"{len(alpha)} images have transparency: {how}.",
                "Nothing to do if white suits them; otherwise flatten them on the background you want, or turn on"
                " alpha_mask to leave transparent areas out of the loss.",
                [str(r.path) for r in alpha],
            )
        )
    for kind, attr, title, fix, fix_id in (
        ("cmyk", "is_cmyk", "images are CMYK (print colours)", "Convert them to RGB (the fix does this).", "to-rgb"),
        (
            "16bit",
            "is_16bit",
            "images are 16-bit",
            "Convert them to 8-bit RGB (the fix does this; training uses 8 bits anyway).",
            "to-rgb",
        ),
        (
            "greyscale",
            "is_greyscale",
            "images are greyscale",
            "Fine for black-and-white subjects; the LoRA will learn grey if most images are grey.",
            None,
        ),
    ):
        hits = [r for r in ok if getattr(r.info, attr)]
        if hits:
            severity = INFO if kind == "greyscale" else WARNING
            out.append(Finding(kind, severity, f"{len(hits)} {title}.", fix, [str(r.path) for r in hits], fix_id))
    return out


def duplicate_stem_findings(images: list[Path]) -> list[Finding]:
    by_stem: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in images:
        by_stem[(path.parent, path.stem.lower())].append(path)
    clashes = [paths for paths in by_stem.values() if len(paths) > 1]
    if not clashes:
        return []
    return [
        Finding(
            "duplicate_stems",
            WARNING,
            f"{len(clashes)} names are used by more than one image (like a.png and a.jpg): they share one caption.",
            "Rename one of each pair (the fix renames and gives it a copy of the caption).",
            [str(p) for paths in clashes for p in sorted(paths)[1:]],
            "rename-duplicate-stems",
        )
    ]


def caption_findings(results: list[ImageCheck], *, max_token_length: int, folder=None) -> list[Finding]:
    tag_command = f"lorakit dataset tag {shlex.quote(str(folder))}" if folder is not None else "lorakit dataset tag"
    out = []
    missing = [r for r in results if r.caption is None]
    empty = [r for r in results if r.caption is not None and not r.caption_problem and not r.caption.strip()]
    encoding = [r for r in results if r.caption_problem]
    long = [r for r in results if r.caption and approx_clip_tokens(r.caption) > max_token_length]
    if missing:
        out.append(
            Finding(
                "missing_captions",
                WARNING,
                f"{len(missing)} images have no caption file.",
                f"Tag them ({tag_command}), write captions, or create empty ones (the fix) so the subset's"
                " class tokens are used.",
                [str(r.path) for r in missing],
                "create-empty-captions",
            )
        )
    if empty:
        out.append(
            Finding(
                "empty_captions",
                INFO,
                f"{len(empty)} captions are empty.",
                "Tag or caption these images, unless you mean to train them on the class tokens alone.",
                [str(r.path) for r in empty],
            )
        )
    if encoding:
        out.append(
            Finding(
                "caption_encoding",
                ERROR,
                f"{len(encoding)} captions are not UTF-8 text.",
                "Convert them to UTF-8 (the fix does this, undoable).",
                [str(r.path) for r in encoding],
                "captions-to-utf8",
                {"encodings": {str(r.path): r.caption_problem for r in encoding}},
            )
        )
    if long:
        out.append(
            Finding(
                "long_captions",
                WARNING,
                f"{len(long)} captions are longer than {max_token_length} tokens: the end is cut off in training.",
                "Shorten them, remove unimportant tags, or raise max_token_length to 150 or 225.",
                [str(r.path) for r in long],
                data={"tokens": {str(r.path): approx_clip_tokens(r.caption or "") for r in long}},
            )
        )
    return out


def trigger_findings(results: list[ImageCheck], trigger_word: str) -> list[Finding]:
    key = trigger_key(trigger_word)
    captioned = [r for r in results if r.caption is not None and not r.caption_problem]
    missing = [r for r in captioned if key not in {t.lower() for t in tags_of(r)}]
    not_first = [r for r in captioned if r not in missing and tags_of(r)[0].lower() != key]
    out = []
    if missing:
        out.append(
            Finding(
                "trigger_missing",
                WARNING,
                f"The trigger word '{trigger_word}' is missing from {len(missing)} captions.",
                "Add it as the first tag of every caption (the fix does this, undoable).",
                [str(r.path) for r in missing],
                "add-trigger-word",
                {"trigger_word": trigger_word},
            )
        )
    if not_first:
        out.append(
            Finding(
                "trigger_not_first",
                INFO,
                f"The trigger word '{trigger_word}' is not the first tag in {len(not_first)} captions.",
                "Move it to the front so keep_tokens=1 keeps it in place (the fix does this, undoable).",
                [str(r.path) for r in not_first],
                "add-trigger-word",
                {"trigger_word": trigger_word},
            )
        )
    return out


def tag_balance_findings(results: list[ImageCheck], trigger_word: str | None) -> list[Finding]:
    captioned = [r for r in results if r.caption]
    if len(captioned) < MIN_CAPTIONS_FOR_BALANCE:
        return []
    counts = common_tags(captioned)
    skip = {trigger_key(trigger_word)} if trigger_word else set()
    frequent = sorted(t for t, n in counts.items() if n / len(captioned) >= TOO_COMMON and t not in skip)
    if not frequent:
        return []
    return [
        Finding(
            "tag_imbalance",
            INFO,
            f"{len(frequent)} tags are in at least {TOO_COMMON:.0%} of captions: {', '.join(frequent[:8])}.",
            "Tags in nearly every caption become part of the LoRA and cannot be prompted away. Remove those that"
            " describe what the LoRA should always do; keep those you want to switch.",
            [],
            data={"tags": {t: counts[t] for t in frequent}, "captions": len(captioned)},
        )
    ]


def add_plan(
    report: HealthReport,
    root: Path,
    results: list[ImageCheck],
    *,
    resolution: int,
    batch_size: int,
    epochs: int,
) -> None:
    """Bucket distribution and the exact step count, from the same plan training uses.

    The sizes we just decoded are handed to the plan's size cache, so it reads no image headers again.
    """
    from lorakit.config.dataset import (
        AugmentOptions,
        CaptionOptions,
        SubsetConfig,
        parse_repeat_folder,
        resolve_subset,
        subsets_from_train_dir,
    )
    from lorakit.data.buckets import BucketSettings
    from lorakit.data.plan import Schedule, make_plan
    from lorakit.data.scan import SizeCache
    from lorakit.errors import LorakitError

    has_subsets = any(p.is_dir() and parse_repeat_folder(p.name) for p in root.iterdir())
    subsets = subsets_from_train_dir(root) if has_subsets else [SubsetConfig(image_dir=root)]
    resolved = [resolve_subset(s, CaptionOptions(), AugmentOptions()) for s in subsets]
    if has_subsets:
        from lorakit.data.images import list_images

        loose = list_images(root, recursive=False)
        if loose:
            report.findings.append(
                Finding(
                    "outside_subsets",
                    WARNING,
                    f"{len(loose)} images lie outside the '<repeats>_<name>' folders and will not be trained.",
                    "Move them into a subset folder (e.g. '1_extra'), or delete them if they are not wanted.",
                    [str(p) for p in loose],
                )
            )
    sizes = SizeCache()
    for r in results:
        if r.info:
            with contextlib.suppress(OSError):
                sizes.put(r.path, r.path.stat(), (r.info.width, r.info.height))
    try:
        plan = make_plan(
            resolved,
            BucketSettings.square(
                resolution, min_bucket_reso=min(256, resolution), max_bucket_reso=max(1024, resolution)
            ),
            Schedule(batch_size=batch_size, epochs=epochs),
            recursive=not has_subsets,
            cache=sizes,
        )
    except LorakitError as error:
        report.findings.append(Finding("no_plan", ERROR, error.problem, error.fix or "", []))
        return
    report.buckets = [vars(b) for b in plan.buckets]
    report.steps = {
        "total_steps": plan.total_steps,
        "steps_per_epoch": plan.steps_per_epoch,
        "epochs": plan.epochs,
        "batch_size": plan.batch_size,
        "images_with_repeats": plan.train_images_with_repeats,
    }
    lonely = [b for b in plan.buckets if b.images == 1]
    if len(plan.buckets) > 1 and batch_size > 1 and lonely:
        report.findings.append(
            Finding(
                "bucket_spread",
                INFO,
                f"{len(lonely)} buckets hold a single image: with batch size {batch_size} they make short batches.",
                "Crop a few images to common shapes (square, 2:3, 3:2), or use batch size 1.",
                [],
                data={"buckets": report.buckets},
            )
        )
