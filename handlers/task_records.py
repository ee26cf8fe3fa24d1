"""The self-hosted runner's records, and the two storage interfaces the task service uses.

A **job** is what ``launch_job`` registers instead of calling ``CreateLabelingJob``
(its settings are that request's); a **task** is one data object of the job (one
manifest line). A task has one **slot** per worker the job asks for; a slot holds a
worker's lease and, once they submit, where their answer is stored. A task is
``open`` until it is consolidated (``done``) or given up (``failed``).

Storage is two small interfaces, each with an AWS implementation
(:mod:`handlers.task_store_aws`: DynamoDB and S3) and a local one
(:mod:`scripts.task_local`: memory and files, for the offline preview):

* :class:`TaskTable`: jobs and tasks. Every method that changes a task is one
  conditional write (or one transaction), so two workers can never hold the same
  slot and only the lease holder can answer. The methods say exactly which
  condition they check; both implementations check the same ones, and one test
  suite runs against both.
* :class:`ObjectStore`: the bucket. Reads and writes ``s3://`` URIs, makes the
  short-lived image URLs (``grant_read_access``), and hands the post-annotation
  handler an S3 client.

Stdlib only: this module is part of the Lambda archive.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

JobStatus = Literal["Initializing", "InProgress", "Stopping", "Stopped", "Completed"]
TaskState = Literal["open", "done", "failed"]
#: Ground Truth's statuses in which a job may still change.
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("Initializing", "InProgress", "Stopping")


@dataclass(frozen=True)
class JobSpec:
    """A job's settings: the fields of its ``CreateLabelingJob`` request that the runner uses."""

    name: str
    label_attribute: str
    #: ``NumberOfHumanWorkersPerDataObject``: answers each object needs (1-9).
    workers: int
    #: ``TaskTimeLimitInSeconds``: how long a lease lasts.
    time_limit: int
    #: ``TaskAvailabilityLifetimeInSeconds``: how long after creation tasks are handed out.
    lifetime: int
    #: ``ManifestS3Uri``.
    manifest_uri: str
    #: ``S3OutputPath`` (ends in ``/``): the job writes under ``<output_path><name>/``.
    output_path: str
    title: str
    description: str
    keywords: tuple[str, ...] = ()
    #: ``OutputConfig.KmsKeyId``: objects the job writes are encrypted with it.
    kms_key_id: str | None = None
    #: The offline preview's job: a done task can be opened again and relabeled by its
    #: worker, and the output manifest is rewritten after every label.
    preview: bool = False


@dataclass(frozen=True)
class Job:
    spec: JobSpec
    status: JobStatus
    #: Epoch seconds.
    created: float
    updated: float
    total: int
    #: The ``labelingJobArn`` the handlers are given (Ground Truth's form).
    arn: str
    done: int = 0
    failed: int = 0
    #: The output manifest's URI, once it has been written.
    output_manifest: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def ends(self) -> float:
        """When the task lifetime ends: no task is handed out after it."""
        return self.created + self.spec.lifetime


@dataclass(frozen=True)
class Slot:
    """One worker's lease on a task, and their answer once submitted."""

    worker: str
    lease: str
    #: Epoch seconds: the lease is free for another worker after this.
    expires: float
    accepted: float
    #: The answer's worker-response file (an ``s3://`` URI) once submitted.
    answer: str | None = None
    submitted: float | None = None

    def free(self, now: float) -> bool:
        """Another worker may take this slot: it was never answered and its lease ran out."""
        return self.answer is None and self.expires < now

    def live(self, now: float) -> bool:
        """The lease holder may still submit."""
        return self.answer is None and now <= self.expires


@dataclass(frozen=True)
class Claim:
    """Who is consolidating a task (or giving it up), and since when."""

    id: str
    at: float


@dataclass(frozen=True)
class Task:
    job: str
    id: int
    #: The input manifest line.
    line: dict[str, Any]
    state: TaskState = "open"
    #: One entry per worker the job asks for; None while nobody holds it.
    slots: tuple[Slot | None, ...] = ()
    #: Workers who were ever given this task (none of them is given it again).
    seen: frozenset[str] = frozenset()
    claim: Claim | None = None
    #: The output-manifest line (``done``), or where it is stored when it is too large to
    #: keep with the task (``output_uri``).
    output: dict[str, Any] | None = None
    output_uri: str | None = None
    #: Why the task failed (``failed``).
    reason: str | None = None
    #: A preview job's relabeling lease on a done task.
    revision: Slot | None = None

    @property
    def answers(self) -> list[Slot]:
        return [s for s in self.slots if s is not None and s.answer is not None]

    @property
    def complete(self) -> bool:
        """Every slot has an answer."""
        return len(self.answers) == len(self.slots)

    def free_slot(self, worker: str, now: float) -> int | None:
        """The slot ``worker`` may lease now, or None (they were given this task already,
        or every slot is answered or leased)."""
        if self.state != "open" or self.claim is not None or worker in self.seen:
            return None
        for i, slot in enumerate(self.slots):
            if slot is None or slot.free(now):
                return i
        return None

    def slot_of(self, lease: str) -> int | None:
        found = (i for i, s in enumerate(self.slots) if s is not None and s.lease == lease)
        return next(found, None)

    def with_slot(self, index: int, slot: Slot | None) -> Task:
        slots = list(self.slots)
        slots[index] = slot
        return replace(self, slots=tuple(slots))


def new_task(job: str, index: int, line: dict[str, Any], workers: int) -> Task:
    return Task(job, index, line, slots=(None,) * workers)


class TaskTable(Protocol):
    """Jobs and tasks. Reads of a single item are strongly consistent."""

    def create_job(self, job: Job) -> bool:
        """Store a new job; False when a job of that name exists."""
        ...

    def put_tasks(self, tasks: Sequence[Task]) -> None:
        """Store new open tasks (a job being registered; nothing reads them yet)."""
        ...

    def get_job(self, name: str) -> Job | None: ...

    def list_jobs(self) -> list[Job]: ...

    def update_job(self, name: str, *, expect: Collection[str], **changes: Any) -> Job | None:
        """Set ``changes`` (``status``, ``updated``, ``done``, ``failed``,
        ``output_manifest``) if the job's status is one of ``expect``; the new job, or None."""
        ...

    def count(self, name: str, *, done: int = 0, failed: int = 0, now: float) -> Job:
        """Add to the job's counters atomically; the job after the change."""
        ...

    def open_tasks(
        self, job: str, *, worker: str, now: float, after: int, limit: int
    ) -> list[Task]:
        """Open tasks with id > ``after``, in id order, at most ``limit`` of them, that
        :meth:`Task.free_slot` may offer ``worker`` (eventually consistent: check again)."""
        ...

    def all_tasks(self, job: str) -> Iterator[Task]:
        """Every task of the job, open, done and failed, in id order."""
        ...

    def get_task(self, job: str, task: int) -> Task | None: ...

    def lease(
        self, job: str, task: int, index: int, slot: Slot, *, now: float, again: bool = False
    ) -> bool:
        """Put ``slot`` in slot ``index`` and add its worker to ``seen``, if the task is
        open and unclaimed, its worker is not in ``seen`` (unless ``again``: a preview
        job's worker opening a task they gave back), and the slot is empty or
        :meth:`Slot.free` at ``now``."""
        ...

    def release(self, job: str, task: int, index: int | None, lease: str) -> bool:
        """Empty slot ``index`` (None: the revision) if it holds ``lease`` unanswered."""
        ...

    def answer(
        self, job: str, task: int, index: int, lease: str, answer: str, *, now: float
    ) -> bool:
        """Record ``answer`` in slot ``index``, in one transaction with a check that the job
        is ``InProgress``: only if the task is open and unclaimed and the slot holds
        ``lease``, unanswered, with ``now`` <= its expiry."""
        ...

    def claim(self, job: str, task: int, claim: Claim, *, stale_before: float) -> Task | None:
        """Mark an open task as being consolidated by ``claim`` if it is unclaimed (or its
        claim is older than ``stale_before``); the task as claimed, or None."""
        ...

    def close(self, task: Task, claim: str) -> bool:
        """Replace the open task by ``task`` (``done`` or ``failed``) in one transaction,
        if the open task is still claimed by ``claim``."""
        ...

    def lease_revision(self, job: str, task: int, slot: Slot, *, now: float) -> bool:
        """Preview jobs: lease a done task for relabeling, if nobody holds a live revision."""
        ...

    def revise(self, task: Task, lease: str, *, now: float) -> bool:
        """Preview jobs: store the relabeled task's slots and output, ending the revision,
        if it still holds ``lease`` and ``now`` <= its expiry."""
        ...


class ObjectStore(Protocol):
    """The stack's bucket (or, offline, a folder standing for it)."""

    #: A boto3-style S3 client (``get_object``/``put_object``) for the post-annotation
    #: handler, which reads the consolidation request through it.
    client: Any

    def read(self, uri: str) -> bytes:
        """The object's bytes; :class:`KeyError` if it does not exist."""
        ...

    def write(self, uri: str, body: bytes, content_type: str) -> None: ...

    def read_url(self, uri: str, expires_in: int) -> str:
        """``grant_read_access``: a URL the worker's browser can load ``uri`` from."""
        ...

    def location(self, uri: str) -> str:
        """Where a person finds ``uri`` (the URI itself, or the local file)."""
        ...


@dataclass(frozen=True)
class Identity:
    """The signed-in worker: their ID in answers and labels, and where it came from."""

    worker_id: str
    #: ``workerMetadata.identityData`` of their answers.
    identity_data: dict[str, str] = field(default_factory=dict)
