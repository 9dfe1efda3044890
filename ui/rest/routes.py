"""The original service's REST routes, on the app's job store.

| route | what it answers |
|---|---|
| ``POST /detect`` | runs a job and answers its H.264 MP4 (its client gone: deleted) |
| ``POST /detect/async`` | starts a job; answers after its first frame (or while it waits) |
| ``GET /detect/status/{job_id}`` | status, queue position, progress, ETA, error, summary |
| ``POST /detect/stop/{job_id}`` | stops it, keeping the partial result |
| ``DELETE /detect/job/{job_id}`` | cancels it if it has not ended, then deletes its files |
| ``GET /detect/video/{job_id}`` | the MP4 (HTTP range requests: a ``<video>`` can seek) |
| ``GET /detect/stream/{job_id}`` | MJPEG of the frames as they are processed |
| ``GET /detect/tracks/{job_id}`` | the tracks (detection) or masks (segmentation) file |
| ``GET /detect/tracks/{job_id}/{frame_idx}`` | one frame's objects, even while the job runs |
| ``GET /detect/first-frame/{job_id}`` | the first frame as processed (JPEG) |
| ``GET /detect/first-frame-depth/{job_id}`` | its depth, coloured (depth, detection + depth) |
| ``GET /detect/depth-video/{job_id}`` | the depth video (depth jobs, detection with depth) |
| ``GET /detect/tracks-csv/{job_id}`` | one CSV row per track (detection) |
| ``GET /detect/objects-csv/{job_id}`` | one CSV row per object per frame (detection) |

Job ids are only ever looked up in the store; no value from a client is part
of a file path.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.dependencies.models import Dependant
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

from pipeline.configs import RunConfig
from pipeline.errors import VideoError, named_as_sent, shown_file_name
from pipeline.io.tracks_json import read_frame_record
from pipeline.io.video import read_first_frame
from pipeline.jobs import Job, JobStatus, JobStore
from pipeline.runs import RUNS, check_input, output_for
from pipeline.runtime.template import check_video
from ui.clients import client_key
from ui.rest.disconnect import DISCONNECT_POLL_S, unless_disconnected
from ui.rest.errors import ERROR_RESPONSES, ApiError, api_errors, quoted
from ui.rest.forms import RunForm
from ui.rest.guard import too_large_message
from ui.settings import Settings

#: How long ``POST /detect/async`` waits for the first frame of a job that runs.
FIRST_FRAME_WAIT_S = 120.0
#: How long ``POST /detect/stop`` waits for the job to end before answering.
STOP_WAIT_S = 15.0
#: How long one wait of the stream for a newer frame lasts (then it checks again).
STREAM_POLL_S = 1.0
STREAM_BOUNDARY = "frame"
COPY_CHUNK = 1 << 20
#: How long an upload waits for its turn at the format check before the answer is 503.
FORMAT_CHECK_WAIT_S = 60.0
#: What a frame index is: a whole number of at most 12 digits (ASCII only).
FRAME_INDEX = re.compile(r"-?[0-9]{1,12}")
#: What a request without a video file is told (no form, or ``video`` sent as text).
NO_VIDEO = "Send the video as the multipart form field 'video'."
#: Unknown form fields a refusal names (the rest are counted).
MOST_NAMED_FIELDS = 5


def client_of(request: Request, settings: Settings) -> str:
    """Who sends ``request``, for its share of the queue (:func:`ui.clients.client_key`)."""
    peer = request.client.host if request.client else None
    return client_key(request.headers, peer, settings)


Text = Annotated[str | None, Form()]


def _body_fields(dependant: Dependant) -> set[str]:
    """The body's field names ``dependant`` and its dependencies declare."""
    names = {param.alias for param in dependant.body_params}
    for sub in dependant.dependencies:
        names |= _body_fields(sub)
    return names


async def refuse_unknown_fields(request: Request) -> None:
    """Refuse a form holding a field its route does not declare (a dependency of each form route).

    A misspelt setting (``confidance``) would otherwise be dropped unread, and
    the run made without it, with nothing to tell its sender.

    Raises:
        ApiError: 422 naming them (quoted, the first few) and pointing at ``/docs``.
    """
    route = request.scope["route"]
    form = await request.form()  # read already for the route's own fields; not read again
    unknown = sorted(set(form.keys()) - _body_fields(route.dependant))
    if not unknown:
        return
    named = ", ".join(quoted(name) for name in unknown[:MOST_NAMED_FIELDS])
    more = len(unknown) - MOST_NAMED_FIELDS
    named += f" and {more} more" if more > 0 else ""
    plural = "s" if len(unknown) > 1 else ""
    raise ApiError(
        422, f"{request.url.path} has no form field{plural} {named}; /docs lists those it takes."
    )


#: A route's ``dependencies``: it refuses fields it does not declare.
FORM_ROUTE = [Depends(refuse_unknown_fields)]


def job_urls(job_id: str) -> dict[str, str]:
    """The paths of a job's resources (relative to the server's root)."""
    base = "/detect"
    return {
        "status": f"{base}/status/{job_id}",
        "stream": f"{base}/stream/{job_id}",
        "video": f"{base}/video/{job_id}",
        "tracks": f"{base}/tracks/{job_id}",
        "first_frame": f"{base}/first-frame/{job_id}",
        "first_frame_depth": f"{base}/first-frame-depth/{job_id}",
        "depth_video": f"{base}/depth-video/{job_id}",
        "tracks_csv": f"{base}/tracks-csv/{job_id}",
        "objects_csv": f"{base}/objects-csv/{job_id}",
        "heatmap": f"{base}/heatmap/{job_id}",
        "stop": f"{base}/stop/{job_id}",
        "delete": f"{base}/job/{job_id}",
    }


Upload = tuple[UploadFile | None, RunForm]


def read_form(
    video: Annotated[UploadFile | None, File(description="the video file")] = None,
    mode: Text = None,
    queries: Text = None,
    detector: Text = None,
    segmenter: Text = None,
    step: Text = None,
    confidence: Text = None,
    depth: Text = None,
    counting: Text = None,
    tracker: Text = None,
    runtime: Text = None,
    prompts: Text = None,
    paths: Text = None,
    heatmap: Text = None,
    heatmap_overlay: Text = None,
    privacy: Text = None,
    privacy_classes: Text = None,
    slicing: Text = None,
    slice_size: Text = None,
    speed: Text = None,
    speed_area: Text = None,
    speed_area_size: Text = None,
    detect_every: Text = None,
) -> Upload:
    """The form of both ``POST`` routes, declared once (FastAPI documents it at ``/docs``).

    Every field is optional text here, so that each mistake gets this API's own
    message (:class:`~ui.rest.forms.RunForm` checks them) rather than a schema error.
    """
    return video, RunForm(
        mode, queries, detector, segmenter, step, confidence, depth, counting, tracker, runtime,
        prompts, paths=paths, heatmap=heatmap, heatmap_overlay=heatmap_overlay, privacy=privacy,
        privacy_classes=privacy_classes, slicing=slicing, slice_size=slice_size, speed=speed,
        speed_area=speed_area, speed_area_size=speed_area_size, detect_every=detect_every,
    )  # fmt: skip


def build_router(jobs: JobStore, settings: Settings) -> APIRouter:
    """The REST routes, serving ``jobs`` within ``settings``' limits."""
    router = APIRouter(tags=["jobs"], responses=ERROR_RESPONSES)

    def status_of(job: Job) -> dict[str, Any]:
        return {**jobs.status(job.id), "urls": job_urls(job.id)}

    def receive(request: Request, video: UploadFile | None, form: RunForm) -> Job:
        """Check the request, store the upload inside the job store, submit the job."""
        if not isinstance(video, StarletteUploadFile):  # no form, or one without 'video'
            raise ApiError(400, NO_VIDEO)
        _, config = form.task_and_config(
            limits=settings.run_limits, max_query_chars=settings.max_query_chars
        )
        path = store_upload(jobs, video, settings, config)
        try:
            return jobs.submit(
                path, config, video_name=shown_file_name(video.filename),
                client=client_of(request, settings),
            )  # fmt: skip
        finally:
            path.unlink(missing_ok=True)  # moved into the job's folder, unless refused

    @router.post(
        "/detect", response_class=FileResponse, summary="Run a job; answer its video",
        dependencies=FORM_ROUTE,
    )  # fmt: skip
    async def detect(request: Request, upload: Annotated[Upload, Depends(read_form)]) -> Response:
        """Run the job to its end and answer the annotated H.264 MP4 (``video/mp4``).

        A client that disconnects first cancels it (out of the queue, or within
        about a frame) and deletes it: its id travels in this answer only, so no
        one else could fetch, stop or delete it.
        """
        cancel = threading.Event()

        def run() -> Job:
            # Every step in a worker thread (the upload's check too): none in the event loop.
            job = receive(request, *upload)
            while not cancel.is_set():
                if job.wait_until(lambda j: j.status.finished, timeout=DISCONNECT_POLL_S):
                    _raise_if_failed(jobs, job, delete=True)
                    return job
            jobs.delete(job.id)
            return job  # no one reads it: unless_disconnected has answered ClientGone

        with api_errors():
            job = await unless_disconnected(request, run, cancel)
            return FileResponse(
                job.outputs["video"], media_type="video/mp4", filename=f"{job.id}.mp4",
                headers={"X-Job-Id": job.id},
            )  # fmt: skip

    @router.post(
        "/detect/async", status_code=202, summary="Start a job", dependencies=FORM_ROUTE
    )
    def detect_async(
        request: Request, upload: Annotated[Upload, Depends(read_form)]
    ) -> JSONResponse:
        """Start a job; answer once its first frame is done (at once if it waits for a device).

        The answer holds ``job_id``, ``status`` and the path of every resource.
        """
        with api_errors():
            job = receive(request, *upload)
            # A free device takes the job at once; then its first frame comes quickly.
            job.wait_until(lambda j: j.status is not JobStatus.QUEUED, timeout=0.5)
            if job.status is JobStatus.RUNNING:
                job.wait_until(
                    lambda j: j.first_frame is not None or j.status.finished,
                    timeout=FIRST_FRAME_WAIT_S,
                )
            _raise_if_failed(jobs, job, delete=True)
            return JSONResponse(status_of(job), status_code=202)

    @router.get("/detect/status/{job_id}", summary="A job's status")
    def status(job_id: str) -> JSONResponse:
        """Status, queue position, progress (frames, fps, ETA), error, outputs, summary."""
        with api_errors():
            return JSONResponse(status_of(jobs.get(job_id)))

    @router.post("/detect/stop/{job_id}", summary="Stop a job, keeping its partial result")
    def stop(job_id: str) -> JSONResponse:
        """Stop the job: it ends with what it has done (status ``stopped``, ``partial``)."""
        with api_errors():
            job = jobs.stop(job_id)
            job.wait_until(lambda j: j.status.finished, timeout=STOP_WAIT_S)
            return JSONResponse(status_of(job))

    @router.delete("/detect/job/{job_id}", summary="Delete a job and its files")
    def delete(job_id: str) -> JSONResponse:
        """Cancel the job if it has not ended, then delete it and every file it has."""
        with api_errors():
            jobs.delete(job_id)
            return JSONResponse({"job_id": job_id, "deleted": True})

    @router.get("/detect/video/{job_id}", response_class=FileResponse, summary="The video")
    def video_file(job_id: str) -> FileResponse:
        """The annotated H.264 MP4 (range requests answered, so players can seek)."""
        with api_errors():
            return _file(jobs.get(job_id), "video", "video/mp4")

    @router.get("/detect/depth-video/{job_id}", response_class=FileResponse)
    def depth_video(job_id: str) -> FileResponse:
        """The depth video: a depth job's video, or a detection job's (with depth)."""
        with api_errors():
            job = jobs.get(job_id)
            return _file(job, _depth_video_name(job), "video/mp4")

    @router.get("/detect/tracks/{job_id}", response_class=FileResponse, summary="The tracks")
    def tracks(job_id: str) -> FileResponse:
        """The tracks (detection) or masks (segmentation) file, once the job has ended."""
        with api_errors():
            job = jobs.get(job_id)
            return _file(job, _tracks_name(job), "application/json")

    @router.get("/detect/tracks-csv/{job_id}", response_class=FileResponse)
    def tracks_csv(job_id: str) -> FileResponse:
        """One CSV row per track: frames, times, mean score, crossings, seconds in zones."""
        with api_errors():
            return _file(_job_with(jobs, job_id, "tracks_csv"), "tracks_csv", "text/csv")

    @router.get("/detect/objects-csv/{job_id}", response_class=FileResponse)
    def objects_csv(job_id: str) -> FileResponse:
        """One CSV row per object per frame: time, track id, class, score, box."""
        with api_errors():
            return _file(_job_with(jobs, job_id, "objects_csv"), "objects_csv", "text/csv")

    @router.get("/detect/heatmap/{job_id}", response_class=FileResponse)
    def heatmap(job_id: str) -> FileResponse:
        """The heat map (PNG) of a detection job run with ``heatmap``: all, then per class."""
        with api_errors():
            return _file(_job_with(jobs, job_id, "heatmap"), "heatmap", "image/png")

    @router.get("/detect/tracks/{job_id}/{frame_idx}", summary="One frame's objects")
    def frame_tracks(job_id: str, frame_idx: str) -> JSONResponse:
        """One frame's record (``frame``, ``time``, ``objects``), while the job runs too."""
        with api_errors():
            job = jobs.get(job_id)
            path = job.outputs.get(_tracks_name(job))
            if not FRAME_INDEX.fullmatch(frame_idx):
                raise ApiError(
                    422, f"The frame index must be a whole number, not {quoted(frame_idx)}."
                )
            index = int(frame_idx)
            total = job.frames_done if job.status.finished else job.total_frames
            if index < 0 or (total is not None and index >= total):
                raise ApiError(404, f"Frame {index} is out of range (the job has {total}).")
            record = read_frame_record(path, index) if path is not None and path.exists() else None
            if record is None:
                if job.status.finished:
                    raise ApiError(404, f"Frame {index} was not processed (the job {job.status}).")
                raise ApiError(409, f"Frame {index} is not processed yet; try again shortly.")
            return JSONResponse(record)

    @router.get("/detect/first-frame/{job_id}", summary="The first frame, processed (JPEG)")
    def first_frame(job_id: str) -> Response:
        """The first frame as the job's run shows it."""
        with api_errors():
            return _jpeg(jobs.get(job_id), "first_frame")

    @router.get("/detect/first-frame-depth/{job_id}", summary="The first frame's depth (JPEG)")
    def first_frame_depth(job_id: str) -> Response:
        """The first frame's depth, coloured (depth jobs, and detection jobs with depth)."""
        with api_errors():
            job = jobs.get(job_id)
            _depth_video_name(job)  # a job without a depth video has no first-frame depth
            return _jpeg(job, "first_frame_depth")

    @router.get("/detect/stream/{job_id}", summary="MJPEG of the frames as they are processed")
    def stream(job_id: str) -> StreamingResponse:
        """``multipart/x-mixed-replace`` JPEG frames (at most 640 px wide) until the job ends.

        Every viewer gets the newest frame when it is ready for one: a slow
        viewer skips frames and never slows the job.
        """
        with api_errors():
            job = jobs.get(job_id)
        return StreamingResponse(
            _mjpeg(job),
            media_type=f"multipart/x-mixed-replace; boundary={STREAM_BOUNDARY}",
            headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
        )

    return router


@functools.cache
def format_check_turns(settings: Settings) -> threading.BoundedSemaphore:
    """The turns at the format check: ``settings.format_checks`` uploads at once, per server."""
    return threading.BoundedSemaphore(settings.format_checks)


def store_upload(
    jobs: JobStore, upload: UploadFile, settings: Settings, config: RunConfig | None
) -> Path:
    """Save an uploaded video inside the job store and check it is one that fits ``config``.

    Without a config (a benchmark's video), it is checked to be a video within
    ``settings``' limits. The check reads the container's headers, and decodes
    one frame only once they are within the limits; at most
    ``settings.format_checks`` run at once, the others wait for a turn.

    Returns:
        Its path (random name); the caller moves or deletes it.

    Raises:
        ApiError: 400 empty, 413 too large, 503 no turn at the check in time;
            VideoError: not a video, or over a limit (named as the client
            named the file, not as it is stored); PipelineError: settings that
            do not fit it (a counting line outside its frame).
    """
    path = jobs.new_upload_path(upload.filename)
    name = shown_file_name(upload.filename) or "The upload"
    turn = format_check_turns(settings)
    try:
        save_upload(upload, path, settings)
        if not turn.acquire(timeout=FORMAT_CHECK_WAIT_S):
            raise ApiError(
                503, "The server is busy checking other uploads. Try again shortly.",
                {"Retry-After": "10"},
            )  # fmt: skip
        try:
            if config is None:
                check_video(path, settings.video_limits)
            else:
                check_input(path, config)
            # Headers can be whole where the frames are not (a cut-off upload): one
            # frame decoded here refuses it now, rather than failing its job later.
            read_first_frame(path)
        finally:
            turn.release()
    except VideoError as exc:
        path.unlink(missing_ok=True)
        raise type(exc)(named_as_sent(str(exc), path.name, name)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def save_upload(upload: UploadFile, path: Path, settings: Settings) -> None:
    """Copy the upload to ``path``, refusing it (413) past the size limit."""
    written = 0
    upload.file.seek(0)
    with path.open("wb") as out:
        while chunk := upload.file.read(COPY_CHUNK):
            written += len(chunk)
            if written > settings.max_upload_bytes:
                raise ApiError(413, too_large_message(settings))
            out.write(chunk)
    if written == 0:
        raise ApiError(400, "The uploaded video is empty.")


def _raise_if_failed(jobs: JobStore, job: Job, *, delete: bool) -> None:
    """Answer a job that failed with its error (and, if asked, leave nothing of it)."""
    if job.status is not JobStatus.FAILED:
        return
    status = 500 if job.error_is_internal else 422
    message = job.error or "The run failed."
    if delete:
        jobs.delete(job.id)
    raise ApiError(status, message)


def _output_name(job: Job, result: str, *, with_config: bool) -> str | None:
    """The job's output that holds ``result``, as its kind of run declares it (None: none).

    Args:
        job: The job.
        result: An output's name or alias (:func:`pipeline.runs.output_for`).
        with_config: Only an output the job's config allows (depth on...);
            else any the kind of run has.
    """
    if job.task not in RUNS:
        # A job that runs no task (a benchmark) declares nothing and has no files:
        # it answers as a job that ended (or will end) without this result.
        return result
    return output_for(job.task, result, job.config if with_config else None)


def _job_with(jobs: JobStore, job_id: str, name: str) -> Job:
    """The job, whose kind of run must have the output ``name`` (the CSV tables, the heat map)."""
    job = jobs.get(job_id)
    if job.task not in RUNS or output_for(job.task, name) is None:
        having = ", ".join(task for task in RUNS if output_for(task, name) is not None)
        raise ApiError(404, f"A {job.task} job has no CSV tables; {having} jobs do.")
    return job


def _depth_video_name(job: Job) -> str:
    """The job's output that is its depth video (a depth job's video, or detection's with depth)."""
    name = _output_name(job, "depth_video", with_config=True)
    if name is None:
        raise ApiError(404, "This job measures no depth (start it with depth=true).")
    return name


def _tracks_name(job: Job) -> str:
    """The job's output of objects per frame (detection's tracks, segmentation's masks)."""
    name = _output_name(job, "tracks", with_config=False)
    if name is None:
        depth = _output_name(job, "depth_video", with_config=False) is not None
        result = "; its result is the depth video" if depth else ""
        raise ApiError(404, f"A {job.task} job has no tracks{result}.")
    return name


def _not_ready(job: Job) -> ApiError:
    if job.status.finished:
        detail = f": {job.error}" if job.error else ""
        return ApiError(404, f"The job {job.status} without this result{detail}.")
    return ApiError(409, f"The job is {job.status}; this result is ready when it has ended.")


def _file(job: Job, name: str, media_type: str) -> FileResponse:
    if not job.status.finished:
        raise _not_ready(job)
    path = job.outputs.get(name)
    if path is None or not path.is_file():
        raise _not_ready(job)
    suffix = path.suffix
    return FileResponse(path, media_type=media_type, filename=f"{job.id}-{name}{suffix}")


def _jpeg(job: Job, attribute: str) -> Response:
    image = getattr(job, attribute)
    if image is None:
        raise (
            _not_ready(job)
            if job.status.finished
            else ApiError(409, "The first frame is not processed yet; try again shortly.")
        )
    return Response(image, media_type="image/jpeg")


async def _mjpeg(job: Job) -> AsyncIterator[bytes]:
    """The stream's parts: each newer frame once; ends when the job has ended."""
    version = 0
    while True:
        newest, value = await anyio.to_thread.run_sync(
            job.previews.wait_newer, version, STREAM_POLL_S
        )
        if value is not None and newest != version:
            version = newest
            _, jpeg = value
            yield (
                (
                    f"--{STREAM_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode()
                + jpeg
                + b"\r\n"
            )
        elif job.previews.closed:
            yield f"--{STREAM_BOUNDARY}--\r\n".encode()
            return
