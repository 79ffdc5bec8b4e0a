"""Tags in captions: parsing, one consistent normal form, edits over many captions at once.

Normal form (used in every list, filter and count): trimmed, inner whitespace collapsed, escaped
brackets read as plain brackets, underscores written as spaces — except kaomoji such as ``^_^`` or
``>_<``, whose underscore is the face. Bracket escaping (``\\(``) is an *output* option only, for
prompts in A1111-style UIs; captions on disk keep plain brackets unless asked.

A :class:`TagEdit` is one operation in the user's words (add, remove, replace, trigger, dedupe, sort,
front, regex). :func:`edit_captions` applies one to all, filtered or selected images as a single
journaled, undoable edit.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.captions import CAPTION_EXTENSION, CaptionEncodingError, caption_path_for, read_caption
from lorakit.data.journal import EditResult, Journal
from lorakit.errors import DatasetError, PathError
from lorakit.fileio import is_disk_full

# The faces WD14's reference app keeps as written, plus any short all-symbol tag below.
KAOMOJI = frozenset(
    {
        *("0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o"),
        *("@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||", "t_t", "-_-", ";_;"),
    }
)
_SPACES = re.compile(r"\s+")


def is_kaomoji(tag: str) -> bool:
    """True for faces like ``^_^``: their underscores must stay."""
    if tag.lower() in KAOMOJI:
        return True
    letters = sum(ch.isalpha() for ch in tag)
    return "_" in tag and len(tag) <= 5 and letters == 0


def normalize_tag(tag: str) -> str:
    """The one form a tag is compared, counted and stored in."""
    tag = tag.strip()
    # Each step only when needed: bulk edits normalise every tag of 10,000 captions.
    if "\\" in tag:
        tag = tag.replace("\\(", "(").replace("\\)", ")")
    if "_" in tag and not is_kaomoji(tag):
        tag = tag.replace("_", " ").strip()
    if "  " in tag or "\t" in tag or "\n" in tag or "\r" in tag:
        tag = _SPACES.sub(" ", tag)
    return tag


def parse_tags(text: str) -> list[str]:
    """Comma-separated caption → normalised tags (empty pieces dropped, order kept)."""
    return [tag for tag in (normalize_tag(piece) for piece in text.split(",")) if tag]


def format_tags(tags: Iterable[str], *, escape_brackets: bool = False, underscores: bool = False) -> str:
    """Tags → caption text ``"a, b, c"``; brackets escaped and spaces as underscores only when asked."""
    out = []
    for tag in tags:
        if underscores and not is_kaomoji(tag):
            tag = tag.replace(" ", "_")
        if escape_brackets:
            tag = tag.replace("(", "\\(").replace(")", "\\)")
        out.append(tag)
    return ", ".join(out)


def _key(tag: str) -> str:
    return normalize_tag(tag).lower()


def _as_tags(values: str | Iterable[str]) -> list[str]:
    return parse_tags(values) if isinstance(values, str) else [t for t in map(normalize_tag, values) if t]


# -- operations on one tag list --------------------------------------------------------------------------
# ``tags`` is a list in the normal form (from parse_tags), so comparing needs only lower(); what the user
# passes in (``new``, ``remove``, ...) is normalised here. Bulk edits run these on 10,000 captions.
def add_tags(tags: list[str], new: str | Iterable[str], *, front: bool = False) -> list[str]:
    """Add tags not already present (at the end, or at the front in the given order)."""
    have = {t.lower() for t in tags}
    extra = [t for t in dict.fromkeys(_as_tags(new)) if t.lower() not in have]
    return extra + tags if front else tags + extra


def remove_tags(tags: list[str], remove: str | Iterable[str]) -> list[str]:
    gone = {t.lower() for t in _as_tags(remove)}
    return [t for t in tags if t.lower() not in gone]


def replace_tags(tags: list[str], mapping: dict[str, str]) -> list[str]:
    """Replace whole tags; a replacement may be several tags (``"a, b"``) or empty (remove)."""
    table = {_key(old): _as_tags(new) for old, new in mapping.items()}
    out: list[str] = []
    for tag in tags:
        out.extend(table.get(tag.lower(), [tag]))
    return deduplicate(out)


def deduplicate(tags: list[str]) -> list[str]:
    """Drop repeats (compared case-insensitively), keeping the first."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        key = tag.lower()
        if key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def sort_tags(tags: list[str], *, keep_first: int = 0, frequency: Counter | None = None) -> list[str]:
    """Sort alphabetically (or most frequent first); the first ``keep_first`` tags stay in place."""
    head, tail = tags[:keep_first], tags[keep_first:]
    if frequency is None:
        return head + sorted(tail, key=str.lower)
    return head + sorted(tail, key=lambda t: (-frequency[t.lower()], t.lower()))


def move_to_front(tags: list[str], wanted: str | Iterable[str]) -> list[str]:
    """Move the wanted tags that are present to the front, in the order given."""
    present = {t.lower(): t for t in tags}
    front = [present[w.lower()] for w in _as_tags(wanted) if w.lower() in present]
    keys = {t.lower() for t in front}
    return front + [t for t in tags if t.lower() not in keys]


def add_trigger_word(tags: list[str], trigger: str) -> list[str]:
    """Make ``trigger`` the first tag (moved there if it is elsewhere)."""
    trigger_tags = _as_tags(trigger)
    return trigger_tags + remove_tags(tags, trigger_tags)


@dataclass
class TagFilter:
    """Which captions an edit applies to: all of ``all_of``, at least one of ``any_of``, none of ``none_of``."""

    all_of: Sequence[str] = ()
    any_of: Sequence[str] = ()
    none_of: Sequence[str] = ()

    def __post_init__(self) -> None:
        self._all, self._any, self._none = ({_key(t) for t in g} for g in (self.all_of, self.any_of, self.none_of))

    def matches(self, tags: Iterable[str]) -> bool:
        """``tags`` in the normal form (from :func:`parse_tags`)."""
        have = {t.lower() for t in tags}
        return self._all <= have and (not self._any or bool(self._any & have)) and not self._none & have

    @property
    def empty(self) -> bool:
        return not (self.all_of or self.any_of or self.none_of)


@dataclass
class TagEdit:
    """One edit in the user's words.

    action: ``add`` (tags, front), ``remove`` (tags), ``replace`` (mapping), ``trigger`` (tags[0]),
    ``dedupe``, ``sort`` (keep_first, by_frequency), ``front`` (tags), ``regex`` (pattern, replacement; on the caption
    text), ``set`` (text: the whole caption), ``normalize`` (rewrite in the normal form).
    """

    action: str
    tags: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    front: bool = False
    keep_first: int = 0
    by_frequency: bool = False
    pattern: str = ""
    replacement: str = ""
    text: str = ""

    ACTIONS = ("add", "remove", "replace", "trigger", "dedupe", "sort", "front", "regex", "set", "normalize")

    def __post_init__(self) -> None:
        if self.action not in self.ACTIONS:
            raise DatasetError(f"Unknown tag edit {self.action!r}.", f"Use one of: {', '.join(self.ACTIONS)}.")
        if self.action == "regex":
            try:
                self._regex = re.compile(self.pattern)
            except re.error as error:
                raise DatasetError(
                    f"The search pattern {self.pattern!r} is not a valid regular expression: {error}.",
                    "Fix the pattern, or escape special characters such as ( ) [ ] . * with a backslash.",
                ) from None
        if self.action in ("add", "remove", "front", "trigger") and not self.tags:
            raise DatasetError(f"The '{self.action}' edit needs at least one tag.", "Name the tags to use.")

    def describe(self) -> str:
        detail = {
            "add": ", ".join(self.tags),
            "remove": ", ".join(self.tags),
            "front": ", ".join(self.tags),
            "trigger": ", ".join(self.tags),
            "replace": "; ".join(f"{a} → {b or '(nothing)'}" for a, b in self.mapping.items()),
            "regex": f"{self.pattern} → {self.replacement}",
            "sort": f"keep first {self.keep_first}" if self.keep_first else "",
        }.get(self.action, "")
        return f"{self.action} {detail}".strip()

    def apply(self, text: str, frequency: Counter | None = None) -> str | None:
        """The caption's new text, or None when this edit leaves it as it is."""
        if self.action == "regex":
            new_text = self._regex.sub(self.replacement, text)
            return None if new_text == text else new_text
        if self.action == "set":
            return None if text == self.text else self.text
        tags = parse_tags(text)
        new = {
            "add": lambda: add_tags(tags, self.tags, front=self.front),
            "remove": lambda: remove_tags(tags, self.tags),
            "replace": lambda: replace_tags(tags, self.mapping),
            "trigger": lambda: add_trigger_word(tags, self.tags[0]),
            "dedupe": lambda: deduplicate(tags),
            "sort": lambda: sort_tags(tags, keep_first=self.keep_first, frequency=frequency),
            "front": lambda: move_to_front(tags, self.tags),
            "normalize": lambda: tags,
        }[self.action]()
        formatted = format_tags(new)
        if new == tags and (self.action != "normalize" or formatted == text):
            return None
        return formatted


@dataclass
class CaptionEditReport:
    """The outcome of a bulk edit: what changed, what was skipped and why, and the journal id to undo."""

    result: EditResult
    matched: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # caption path → reason

    def to_dict(self) -> dict:
        return {**self.result.to_dict(), "matched": self.matched, "skipped": self.skipped}


def read_all_tags(images: Iterable[Path], extension: str = CAPTION_EXTENSION) -> dict[Path, list[str]]:
    """Normalised tags of each image's caption.

    Images without a caption file, or with an unreadable one, are left out: an uncaptioned image is not
    a caption (an empty caption file is one, with no tags).
    """
    out = {}
    for image in images:
        try:
            caption = read_caption(caption_path_for(image, extension))
        except (CaptionEncodingError, OSError):
            continue
        if caption.exists:
            out[image] = parse_tags(caption.text)
    return out


def tag_frequency(tag_lists: Iterable[list[str]]) -> Counter:
    """How many captions carry each tag (normalised, lower-case keys)."""
    counts: Counter = Counter()
    for tags in tag_lists:
        counts.update({t.lower() for t in tags})
    return counts


def edit_captions(
    root: str | os.PathLike,
    images: Iterable[str | os.PathLike],
    edit: TagEdit,
    *,
    where: TagFilter | None = None,
    extension: str = CAPTION_EXTENSION,
    create_missing: bool = True,
) -> CaptionEditReport:
    """Apply one edit to the captions of ``images`` (all, selected, or those ``where`` matches), journaled.

    Undo with ``Journal(root).undo()``. Captions that are not UTF-8 are skipped and named in the report.
    """
    from lorakit.data.folders import require_dataset_folder

    journal = Journal(require_dataset_folder(root))
    texts: dict[Path, str] = {}
    versions: dict[Path, str] = {}
    skipped: dict[str, str] = {}
    for image in images:
        path = caption_path_for(image, extension)
        try:
            caption = read_caption(path, journal.root)  # a caption linked out of the dataset is not read
        except (CaptionEncodingError, PathError) as error:
            skipped[str(path)] = error.problem
            continue
        if not caption.exists and not create_missing:
            continue
        texts[path] = caption.text
        versions[path] = caption.version
    if where and not where.empty:
        texts = {p: t for p, t in texts.items() if where.matches(parse_tags(t))}
    frequency = tag_frequency(parse_tags(t) for t in texts.values()) if edit.by_frequency else None
    new_texts = {}
    for path, text in texts.items():
        new = edit.apply(text, frequency)
        if new is not None:
            new_texts[path] = new
    result = _write_or_roll_back(journal, f"tags {edit.describe()}", new_texts, versions)
    for path in result.conflicts:
        skipped[str(path)] = "changed by another program while editing; left as it is"
    return CaptionEditReport(result, matched=len(texts), skipped=skipped)


def _write_or_roll_back(journal: Journal, description: str, new_texts: dict, versions: dict) -> EditResult:
    """``journal.write``; when the disk is full (or the folder read-only) mid-edit, put every caption back.

    The journal holds every old byte before the first caption changes, so the captions already rewritten
    can be restored in place (the old text fits where the new one was written). If even that fails, the
    entry stays and ``lorakit dataset undo`` finishes the job once there is room.
    """
    before = {e.id for e in journal.entries()}
    try:
        return journal.write(description, new_texts, versions)
    except OSError as error:
        reason = "is full" if is_disk_full(error) else f"cannot be written ({error.strerror or error})"
        ours = [e for e in journal.entries() if e.id not in before and e.state == "writing"]
        try:
            if ours:
                journal.undo(1)
        except OSError:
            from shlex import quote

            raise DatasetError(
                f"The disk holding {journal.root} {reason}: the edit stopped half-way and the captions could"
                " not be put back yet. Their old text is kept in the dataset's undo journal.",
                f"Free some space, then run: lorakit dataset undo {quote(str(journal.root))}",
            ) from error
        raise DatasetError(
            f"The disk holding {journal.root} {reason}: the edit was not made. Every caption is as it was.",
            "Free some space on that disk (or make the folder writable), then run the same command again.",
        ) from error
