"""The task service's storage on one machine: tasks in memory, objects in a folder.

The offline preview (its local mode) and the runner benchmark use these in place of
DynamoDB and S3 (:mod:`handlers.task_store_aws`). Each :class:`LocalTaskTable` method
checks, under one lock, exactly the condition its DynamoDB twin writes with
(:class:`handlers.task_records.TaskTable`); one test suite runs against both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from handlers.task_records import Claim, Job, Slot, Task


class LocalTaskTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, dict[int, Task]] = {}

    def create_job(self, job: Job) -> bool:
        with self._lock:
            if job.name in self._jobs:
                return False
            self._jobs[job.name] = job
            self._tasks[job.name] = {}
            return True

    def put_tasks(self, tasks: Sequence[Task]) -> None:
        with self._lock:
            for task in tasks:
                self._tasks[task.job][task.id] = task

    def get_job(self, name: str) -> Job | None:
        with self._lock:
            return self._jobs.get(name)

    def list_jobs(self) -> list[Job]:
        with self._lock:
            return [self._jobs[name] for name in sorted(self._jobs)]

    def update_job(self, name: str, *, expect: Collection[str], **changes: Any) -> Job | None:
        with self._lock:
            job = self._jobs.get(name)
            if job is None or job.status not in expect:
                return None
            job = self._jobs[name] = replace(job, **changes)
            return job

    def count(self, name: str, *, done: int = 0, failed: int = 0, now: float) -> Job:
        with self._lock:
            job = self._jobs[name]
            job = self._jobs[name] = replace(
                job, done=job.done + done, failed=job.failed + failed, updated=now
            )
            return job

    def open_tasks(
        self, job: str, *, worker: str, now: float, after: int, limit: int
    ) -> list[Task]:
        with self._lock:
            tasks = self._tasks.get(job, {})
            found = []
            for task_id in sorted(tasks):
                task = tasks[task_id]
                if task_id > after and task.free_slot(worker, now) is not None:
                    found.append(task)
                    if len(found) == limit:
                        break
            return found

    def all_tasks(self, job: str) -> Iterator[Task]:
        with self._lock:
            tasks = self._tasks.get(job, {})
            snapshot = [tasks[i] for i in sorted(tasks)]
        yield from snapshot

    def get_task(self, job: str, task: int) -> Task | None:
        with self._lock:
            return self._tasks.get(job, {}).get(task)

    def lease(
        self, job: str, task: int, index: int, slot: Slot, *, now: float, again: bool = False
    ) -> bool:
        with self._lock:
            current = self._tasks.get(job, {}).get(task)
            if current is None or current.state != "open" or current.claim is not None:
                return False
            if slot.worker in current.seen and not again:
                return False
            held = current.slots[index]
            if held is not None and not held.free(now):
                return False
            leased = current.with_slot(index, slot)
            self._tasks[job][task] = replace(leased, seen=current.seen | {slot.worker})
            return True

    def release(self, job: str, task: int, index: int | None, lease: str) -> bool:
        with self._lock:
            current = self._tasks.get(job, {}).get(task)
            if current is None:
                return False
            held = current.revision if index is None else current.slots[index]
            if held is None or held.lease != lease or held.answer is not None:
                return False
            if index is None:
                self._tasks[job][task] = replace(current, revision=None)
            elif current.state == "open":
                self._tasks[job][task] = current.with_slot(index, None)
            else:
                return False
            return True

    def answer(
        self, job: str, task: int, index: int, lease: str, answer: str, *, now: float
    ) -> bool:
        with self._lock:
            owner = self._jobs.get(job)
            current = self._tasks.get(job, {}).get(task)
            if owner is None or owner.status != "InProgress" or current is None:
                return False
            held = current.slots[index] if current.state == "open" else None
            if current.claim is not None or held is None or held.lease != lease:
                return False
            if not held.live(now):
                return False
            self._tasks[job][task] = current.with_slot(
                index, replace(held, answer=answer, submitted=now)
            )
            return True

    def claim(self, job: str, task: int, claim: Claim, *, stale_before: float) -> Task | None:
        with self._lock:
            current = self._tasks.get(job, {}).get(task)
            if current is None or current.state != "open":
                return None
            if current.claim is not None and current.claim.at >= stale_before:
                return None
            claimed = self._tasks[job][task] = replace(current, claim=claim)
            return claimed

    def close(self, task: Task, claim: str) -> bool:
        with self._lock:
            current = self._tasks.get(task.job, {}).get(task.id)
            if current is None or current.state != "open" or current.claim is None:
                return False
            if current.claim.id != claim:
                return False
            self._tasks[task.job][task.id] = replace(task, claim=None)
            return True

    def lease_revision(self, job: str, task: int, slot: Slot, *, now: float) -> bool:
        with self._lock:
            current = self._tasks.get(job, {}).get(task)
            if current is None or current.state != "done":
                return False
            if current.revision is not None and not current.revision.free(now):
                return False
            self._tasks[job][task] = replace(current, revision=slot)
            return True

    def revise(self, task: Task, lease: str, *, now: float) -> bool:
        with self._lock:
            current = self._tasks.get(task.job, {}).get(task.id)
            if current is None or current.state != "done" or current.revision is None:
                return False
            if current.revision.lease != lease or not current.revision.live(now):
                return False
            self._tasks[task.job][task.id] = replace(task, revision=None, claim=None)
            return True


class LocalObjects:
    """A folder standing for the stack's bucket: ``s3://<bucket>/<key>`` is ``root/<key>``.

    ``image_url`` is ``grant_read_access``: the URL at which the local server serves an
    image (it raises ValueError for an image it does not serve).
    """

    def __init__(self, root: Path, bucket: str, image_url: Callable[[str], str]) -> None:
        self.root = root
        self.bucket = bucket
        self._image_url = image_url
        self._lock = threading.Lock()
        self.client = _S3Shim(self)

    def path(self, uri: str) -> Path:
        prefix = f"s3://{self.bucket}/"
        key = uri[len(prefix) :] if uri.startswith(prefix) else None
        parts = key.split("/") if key else []
        if not parts or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"{uri}: not an object of s3://{self.bucket}/ (the local bucket)")
        return self.root.joinpath(*parts)

    def read(self, uri: str) -> bytes:
        path = self.path(uri)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyError(uri) from None

    def write(self, uri: str, body: bytes, content_type: str) -> None:
        path = self.path(uri)
        with self._lock:  # one writer at a time per file: the rename is the commit
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(body)
            partial.replace(path)

    def read_url(self, uri: str, expires_in: int) -> str:
        return self._image_url(uri)

    def location(self, uri: str) -> str:
        return str(self.path(uri))


class _S3Shim:
    """``get_object``/``put_object`` of a boto3 S3 client over :class:`LocalObjects`, for
    the post-annotation handler (it reads the consolidation request through it)."""

    def __init__(self, objects: LocalObjects) -> None:
        self._objects = objects

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        import io

        try:
            body = self._objects.read(f"s3://{Bucket}/{Key}")
        except KeyError:
            raise _NoSuchKey(Key) from None
        return {"Body": io.BytesIO(body)}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **extra: Any) -> dict[str, Any]:
        self._objects.write(f"s3://{Bucket}/{Key}", Body, str(extra.get("ContentType", "")))
        return {}


class _NoSuchKey(Exception):
    """Shaped like botocore's ClientError for a missing key, as the handler checks it."""

    def __init__(self, key: str) -> None:
        super().__init__(f"NoSuchKey: {key}")
        self.response = {"Error": {"Code": "NoSuchKey", "Message": key}}
