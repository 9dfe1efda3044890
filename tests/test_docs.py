"""The README and docs/ say what the code does: their links lead somewhere, their tables of
settings, limits and defaults are the code's own values."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline import DetectionConfig
from pipeline.configs import field_default
from pipeline.io import json_text, video_limits
from pipeline.stages import click_prompts, counting, slicing
from ui.rest import errors as rest_errors
from ui.rest import forms as rest_forms
from ui.settings import OUTPUT_DIR_NAME, PREFIX, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
PAGES = [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


def prose_lines(path: Path) -> list[str]:
    """The lines of a Markdown file outside its code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path):
        match = re.match(r"#{1,6} (.+)", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    return [
        target
        for line in prose_lines(path)
        for target in LINK.findall(line)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    """A moved or renamed doc, or a renamed heading, breaks no link."""
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{page.name}: {broken}"


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    """The checker itself: links in code blocks are not links, broken ones are found."""
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n[ok](#a-title) [gone](missing.md)\n```\n[x](nowhere.md)\n```\n")
    assert relative_links(page) == ["#a-title", "missing.md"]
    assert anchors(page) == {"a-title"}


def test_the_readme_links_every_doc() -> None:
    """The README's contents list names every file in docs/."""
    linked = {Path(t.partition("#")[0]).name for t in relative_links(REPO_ROOT / "README.md")}
    assert {p.name for p in DOCS.glob("*.md")} <= linked


def table(path: Path, header: str) -> list[list[str]]:
    """The rows (cells, stripped) of the Markdown table whose header row starts with ``header``."""
    lines = prose_lines(path)
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell) or [cell]


def shown(value: object) -> str:
    """A default as the docs write it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def setting_defaults() -> dict[str, str]:
    """Each ``VIDEO_APP_*`` variable and its default, from the settings' fields."""
    defaults = {}
    for item in dataclasses.fields(Settings):
        value = f"$TMPDIR/{OUTPUT_DIR_NAME}" if item.name == "output_dir" else shown(item.default)
        defaults[PREFIX + item.name.upper()] = value
    return defaults


def test_the_settings_table_is_the_settings_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting is documented once, under its variable, with its default."""
    from models.runtimes import MEASURE_ENV_VAR, measuring

    documented: dict[str, str] = {}
    for names, default, _meaning in table(DOCS / "settings.md", "| variable |"):
        variables = code_spans(names)
        if not variables[0].startswith(PREFIX):
            continue
        values = code_spans(default)
        assert len(values) == len(variables), f"one default per variable: {names}"
        for variable, value in zip(variables, values, strict=True):
            assert variable not in documented, f"{variable} documented twice"
            documented[variable] = value
    # The one setting read outside ui/settings.py: the runtimes' measurement, on by default.
    monkeypatch.delenv(MEASURE_ENV_VAR, raising=False)
    assert documented.pop(MEASURE_ENV_VAR) == shown(measuring())
    assert documented == setting_defaults()


def test_the_limits_table_is_the_code_limits() -> None:
    """Each limit's documented default is the value the code enforces."""
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    width, height = 4096, 2160
    assert width * height == video_limits.DEFAULT_MAX_PIXELS == fields["max_pixels"]
    expected = {
        "upload size": f"{shown(fields['max_upload_mb'])} MB",
        "pixels per frame": f"{width}x{height} (DCI 4K)",
        "frame rate": f"{shown(video_limits.DEFAULT_MAX_FPS)} fps",
        "frames per video": f"{video_limits.DEFAULT_MAX_VIDEO_FRAMES} (10 min at 60 fps)",
        "duration": f"{shown(video_limits.DEFAULT_MAX_DURATION_S)} s",
        "format checks at once": shown(fields["format_checks"]),
        "counting lines, zones, corners": (
            f"{counting.MAX_SHAPES} lines, {counting.MAX_SHAPES} zones, "
            f"{counting.MAX_ZONE_POINTS} corners a zone, {json_text.MAX_JSON_CHARS} characters"
        ),
        "`queries` and other text fields": (
            f"{fields['max_query_chars']} characters (`privacy_classes` too), a name "
            f"{rest_forms.MAX_NAME_CHARS}, `speed_area` {rest_forms.MAX_POINTS_CHARS}"
        ),
        "tiles a frame (`slicing`)": str(slicing.MAX_TILES),
        "objects picked by hand (`prompts`)": (
            f"{click_prompts.MAX_OBJECTS} objects, {click_prompts.MAX_CLICKS} clicks an object, "
            f"{json_text.MAX_JSON_CHARS} characters"
        ),
        "benchmark rows": shown(fields["max_benchmark_rows"]),
        "a client's places in the queue": shown(fields["max_queued_per_client"]),
        "an error's message": (
            f"{rest_errors.MESSAGE_CHARS} characters, a client's value quoted at most "
            f"{rest_errors.QUOTE_CHARS}"
        ),
    }
    documented = {row[0]: row[1] for row in table(DOCS / "settings.md", "| limit |")}
    assert documented == expected
    assert video_limits.DEFAULT_MAX_VIDEO_FRAMES == 10 * 60 * 60


def test_the_endpoint_table_gives_the_configs_defaults() -> None:
    """The ``/detect`` table's confidence is DetectionConfig's."""
    rows = {row[0]: row for row in table(DOCS / "gradio-client.md", "| input |")}
    assert rows["`confidence`"][2] == f"`{field_default(DetectionConfig, 'confidence')}`"


def test_every_rest_form_field_is_documented() -> None:
    """docs/rest-api.md names each field of the form the POST routes take."""
    from ui.rest.forms import RunForm

    text = (DOCS / "rest-api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))
    missing = [f.name for f in dataclasses.fields(RunForm) if f.name not in documented]
    assert not missing, f"form fields missing from docs/rest-api.md: {missing}"
