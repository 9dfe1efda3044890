"""The app as an MCP server: the whole server launched on 127.0.0.1, as ``python app.py`` does.

The schema (``/gradio_api/mcp/schema``) must list the tabs' endpoints with
described parameters and none of the page's internal events; a real MCP client
(the ``mcp`` package, streamable HTTP) lists the tools and calls one with a
file, passed as a ``data:`` URL (gradio refuses to download loopback URLs),
with the bundled YOLOX-Nano (an MCP server checks arguments against the
dropdown's choices, so the hidden test detector cannot be named).
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from serving import served_server

from pipeline.configs import DetectionConfig, field_default
from ui.server import MCP_PATH
from ui.settings import Settings

pytest.importorskip("mcp", reason="the mcp package comes with gradio[mcp] (requirements.txt)")
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
PERSON = REPO_ROOT / "assets" / "one_by_one_person.mp4"  # a person in every frame
WIDTH, HEIGHT = 768, 432
PREVIEW_WIDTH = field_default(DetectionConfig, "preview_max_width")
#: The tabs' tools and their parameters, in the API's order.
TAB_TOOLS = {
    "detect": [
        "video", "detector", "size", "queries", "confidence", "object_depth", "counting", "tracker",
        "runtime",
        "paths", "heatmap", "heatmap_overlay", "privacy", "privacy_style", "privacy_classes",
        "slicing", "slice_size", "speed", "speed_area", "speed_area_width_m",
        "speed_area_length_m", "detect_every",
    ],  # fmt: skip
    "depth": ["video", "size", "colormap", "view"],
    "segment": [
        "video", "segmenter", "queries", "step", "prompts", "privacy", "privacy_style",
        "privacy_classes",
    ],  # fmt: skip
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(output_dir=tmp_path_factory.mktemp("mcp-jobs"))
    assert settings.mcp_server, "MCP must be on by default"
    with served_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def schema(server: str) -> dict[str, dict]:
    response = httpx.get(f"{server}gradio_api/mcp/schema", timeout=30)
    response.raise_for_status()
    return {tool["name"]: tool for tool in response.json()}


def test_the_schema_lists_the_tabs_tools_with_described_parameters(schema: dict) -> None:
    assert set(TAB_TOOLS) <= set(schema)
    for name, parameters in TAB_TOOLS.items():
        tool = schema[name]
        assert tool["meta"]["endpoint_name"] == name
        assert tool["description"].strip() and "Returns:" in tool["description"], name
        properties = tool["inputSchema"]["properties"]
        assert list(properties) == parameters, name
        for parameter, spec in properties.items():
            assert spec.get("description", "").strip(), (name, parameter)
        # An MCP client passes the video as a URL.
        assert properties["video"]["type"] == "string"
        assert "url" in properties["video"]["format"]


def test_descriptions_keep_every_line_of_the_docstring(schema: dict) -> None:
    # Gradio alone keeps the first line of each argument; as_tool joins the rest.
    counting = schema["detect"]["inputSchema"]["properties"]["counting"]["description"]
    assert '"zones"' in counting and "tables" in counting
    size = schema["depth"]["inputSchema"]["properties"]["size"]["description"]
    assert "CC-BY-NC-4.0, non-commercial" in size
    # A generator's Yields become the tool's Returns; its Raises, the errors.
    assert "The last of the streamed updates" in schema["segment"]["description"]
    assert "Errors: gr.Error: Bad video" in schema["segment"]["description"]


def test_each_first_frame_tool_is_named_after_its_endpoint(schema: dict) -> None:
    for name in ("first_frame", "first_frame_depth", "first_frame_segment"):
        assert schema[name]["meta"]["endpoint_name"] == name
    assert not [name for name in schema if name.startswith("first_frame_")
                and name not in ("first_frame_depth", "first_frame_segment")]  # fmt: skip


def test_only_public_named_endpoints_are_tools(server: str, schema: dict) -> None:
    config = httpx.get(f"{server}config", timeout=30).json()
    public = {
        dep["api_name"]
        for dep in config["dependencies"]
        if dep.get("api_visibility") == "public" and dep.get("api_name")
    }
    private = [dep for dep in config["dependencies"] if dep.get("api_visibility") == "private"]
    # The page's helpers: model notes, counting editor clicks, timers, Stop, the Live tab.
    assert len(private) > 10
    assert {tool["meta"]["endpoint_name"] for tool in schema.values()} == public
    assert not {dep["api_name"] for dep in private} & set(schema)
    assert "first_frame_depth_on_load" not in schema and "stop" not in schema


def call_mcp(server: str, tool: str | None = None, arguments: dict | None = None):
    """``list_tools()`` and, when ``tool`` is given, ``call_tool(tool, arguments)``."""

    async def session():
        async with (
            streamable_http_client(f"{server.rstrip('/')}{MCP_PATH}") as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = await client.list_tools()
            result = await client.call_tool(tool, arguments) if tool else None
            return tools, result

    return asyncio.run(session())


def data_url(path: Path) -> str:
    return "data:video/mp4;base64," + base64.b64encode(path.read_bytes()).decode()


def first_frame_arguments(**changes) -> dict:
    return {
        "video": data_url(PERSON), "detector": "yolox_nano", "size": "", "queries": "person",
        "confidence": 0.3, "object_depth": False, "counting": "", **changes,
    }  # fmt: skip


def only_image(result) -> Image.Image:
    assert not result.isError, result.content
    images = [item for item in result.content if item.type == "image"]
    assert len(images) == 1
    return Image.open(io.BytesIO(base64.b64decode(images[0].data))).convert("RGB")


def test_a_client_lists_the_tools_and_runs_first_frame_on_a_video(server: str) -> None:
    tools, found = call_mcp(server, "first_frame", first_frame_arguments())
    listed = {tool.name: tool for tool in tools.tools}
    assert set(TAB_TOOLS) <= set(listed)
    assert listed["detect"].inputSchema["properties"]["confidence"]["description"]

    annotated = only_image(found)
    assert annotated.size == (PREVIEW_WIDTH, round(HEIGHT * PREVIEW_WIDTH / WIDTH))
    urls = [item.text for item in found.content if item.type == "text"]
    assert urls and "/gradio_api/file=" in urls[0]
    # No detection clears a score of 1: the same frame without the person's box and label.
    _, none = call_mcp(server, "first_frame", first_frame_arguments(confidence=1.0))
    plain = np.asarray(only_image(none), dtype=np.int16)
    assert np.abs(np.asarray(annotated, dtype=np.int16) - plain).mean() > 1.0


def test_bad_requests_are_one_clear_error(server: str) -> None:
    _, unknown = call_mcp(server, "first_frame", first_frame_arguments(detector="no_such"))
    _, bad_query = call_mcp(server, "first_frame", first_frame_arguments(queries="unicorn"))
    for result, words in ((unknown, ("no_such", "yolox_nano")), (bad_query, ("unicorn",))):
        assert result.isError
        text = " ".join(item.text for item in result.content if item.type == "text")
        assert all(word in text for word in words) and "Traceback" not in text, text


def test_the_mcp_server_can_be_turned_off(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"VIDEO_APP_OUTPUT_DIR": str(tmp_path), "VIDEO_APP_MCP_SERVER": "false"}
    )
    with served_server(settings) as url:
        assert httpx.get(f"{url}gradio_api/mcp/schema", timeout=30).status_code == 404
        # The page and its API are still there.
        assert httpx.get(f"{url}config", timeout=30).status_code == 200


def test_as_tool_keeps_a_generator_streaming_its_signature_and_every_docstring_line() -> None:
    import inspect

    import gradio as gr

    from ui.mcp_tools import STREAMED, as_tool

    def run(video: str, step: int = 2, request: gr.Request | None = None):
        """Count to ``step``.

        Args:
            video: The video, as a URL
                or a path.
            step: How far.
            request: Injected.

        Yields:
            Each count.

        Raises:
            ValueError: Never.
        """
        yield from range(1, step + 1)

    tool = as_tool(run, "count_up")
    assert tool.__name__ == "count_up" and inspect.isgeneratorfunction(tool)
    assert list(tool("v", 3)) == [1, 2, 3]
    assert list(inspect.signature(tool).parameters) == ["video", "step", "request"]
    doc = tool.__doc__
    # Sphinx markup is dropped: the API page and MCP clients show the text as it is.
    assert "Count to step. Errors: ValueError: Never." in doc
    assert "    video: The video, as a URL or a path.\n" in doc
    assert doc.endswith(f"Returns:\n    {STREAMED} Each count.")
    with pytest.raises(TypeError):

        async def coroutine() -> None:
            """Not wrapped."""

        as_tool(coroutine, "nope")
