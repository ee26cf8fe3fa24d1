"""The self-hosted runner's task service: Ground Truth's part of a labeling job, as our code.

One implementation for the deployed runner (the task-service Lambda behind the HTTP
API, :mod:`handlers.task_api`) and the offline preview (``scripts/preview.py``);
they differ only in the storage they pass in (:mod:`handlers.task_records`).

* :meth:`TaskService.register`: a job and one task per manifest line (``launch_job``).
* :meth:`TaskService.next`: lease one task to a worker, with a conditional write, so
  two workers never hold the same slot. A lease that runs out is offered again, to
  another worker: nobody is given the same data object twice. The task is rendered as
  Ground Truth renders it: the pre-annotation handler's ``taskInput`` in the stack's
  worker template (:mod:`handlers.task_template`), ``grant_read_access`` a
  short-lived URL.
* :meth:`TaskService.submit`: only the lease holder's answer is taken; it is stored as
  Ground Truth stores worker responses, and when the object has all its answers the
  post-annotation handler consolidates it (the same code, a Ground Truth-shaped event
  and payload) and its output-manifest line is kept with the task.
* The output manifest is written, at Ground Truth's path and in its format, when the
  last object is consolidated, when the job is stopped (:meth:`TaskService.stop`) and
  when its task lifetime ends (:meth:`TaskService.settle`); a preview job rewrites it
  after every label. Objects with some answers are consolidated when the job stops or
  its lifetime ends, as Ground Truth does; objects nobody answered are left unlabeled
  (stopped) or failed (lifetime over).

Stdlib only (part of the Lambda archive); boto3 is used only through the storage.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from handlers.post_annotation import consolidate_batch
from handlers.pre_annotation import pre_annotate
from handlers.rig import Rig
from handlers.task_groundtruth import (
    consolidation_request_uri,
    output_manifest_line,
    output_manifest_uri,
    output_prefix,
    payload_entry,
    post_annotation_event,
    pre_annotation_event,
    unlabeled_line,
    utc,
    worker_response,
    worker_response_uri,
)
from handlers.task_input import PRE_ANNOTATION_KEYS
from handlers.task_records import (
    Claim,
    Identity,
    Job,
    JobSpec,
    JobStatus,
    ObjectStore,
    Slot,
    Task,
    TaskTable,
    new_task,
)
from handlers.task_template import TemplateError, render_task

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

#: Open tasks read per query while looking for one to lease.
PAGE = 50
#: A claim older than this was abandoned (longer than a Lambda can run).
CLAIM_TIMEOUT = 900
#: Objects consolidated per post-annotation call when a job stops.
FINISH_BATCH = 100
#: The shortest life of an image URL, even for a lease about to run out.
MIN_URL_SECONDS = 60
#: How long stop and settle wait for consolidations other requests have claimed.
CLAIM_WAIT = 10.0
#: Output lines larger than this (UTF-8 JSON bytes) are stored in the bucket instead of
#: with their task (a DynamoDB item holds at most 400 KB, the input line included).
OUTPUT_INLINE_MAX = 250_000
STOPPED_REASON = "the job was stopped before any worker answered"
EXPIRED_REASON = "no worker answered before the task lifetime ended"


class ServiceError(Exception):
    """A request the service refuses; the message is shown to the worker or the user."""

    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


@dataclass(frozen=True)
class Assignment:
    """A leased task, rendered: what ``next`` gives a worker."""

    job: str
    task: int
    lease: str
    #: Epoch seconds: submit before this.
    expires: float
    image_name: str
    title: str
    #: The worker template filled for this task, as Ground Truth would show it.
    html: str
    #: A preview job's done task, opened again: the answer replaces the label.
    revision: bool = False

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "task": str(self.task),
            "lease": self.lease,
            "expires": self.expires,
            "image_name": self.image_name,
            "title": self.title,
            "html": self.html,
            "revision": self.revision,
        }


@dataclass(frozen=True)
class Receipt:
    """What ``submit`` tells the worker."""

    job: str
    task: int
    image_name: str
    #: The object had all its answers, and was consolidated.
    consolidated: bool
    #: Where the output manifest is, once written (a URI, or a local path offline).
    output_manifest: str | None

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "task": str(self.task),
            "saved": self.image_name,
            "consolidated": self.consolidated,
            "output_manifest": self.output_manifest,
        }


@dataclass(frozen=True)
class Progress:
    """A job and where its open tasks are."""

    job: Job
    #: Open tasks a worker is labeling now.
    leased: int
    #: Answers given to open tasks that wait for more workers.
    answers_waiting: int


@dataclass
class TaskService:
    tasks: TaskTable
    objects: ObjectStore
    #: The rig the handlers validate against (the deployed one).
    rig: Rig
    #: The stage-1 worker template (read when a task is rendered).
    template: Callable[[], str]
    clock: Callable[[], float] = time.time

    # ------------------------------------------------------------------ jobs
    def register(self, spec: JobSpec, lines: Sequence[Mapping[str, Any]], *, arn: str) -> Job:
        """Store the job and one open task per manifest line, then start handing them out.

        An interrupted registration of the same job is completed by calling this again.
        """
        now = self.clock()
        job = Job(spec, "Initializing", now, now, total=len(lines), arn=arn)
        if not self.tasks.create_job(job):
            existing = self.tasks.get_job(spec.name)
            if existing is None or not (
                existing.status == "Initializing"
                and existing.spec == spec
                and existing.total == len(lines)
            ):
                status = existing.status if existing else "gone"
                raise Conflict(
                    f"a job named {spec.name} exists already ({status}); job names cannot be reused"
                )
        self.tasks.put_tasks(
            [new_task(spec.name, i, dict(line), spec.workers) for i, line in enumerate(lines)]
        )
        started = self.tasks.update_job(
            spec.name, expect=("Initializing",), status="InProgress", updated=self.clock()
        )
        if started is None:
            raise Conflict(f"{spec.name} changed while it was being registered; run launch again")
        LOG.info("registered %s: %s objects, %s workers each", spec.name, len(lines), spec.workers)
        return started

    def job(self, name: str) -> Job:
        job = self.tasks.get_job(name)
        if job is None:
            raise NotFound(f"no job named {name}")
        return job

    def jobs(self) -> list[Job]:
        """The jobs handing out tasks now."""
        now = self.clock()
        return [j for j in self.tasks.list_jobs() if j.status == "InProgress" and now < j.ends]

    # ----------------------------------------------------------------- lease
    def next(self, job_name: str, who: Identity, task: int | None = None) -> Assignment | str:
        """Lease a task to ``who``, or say why there is none (a string).

        With ``task``: the worker's own live lease on it again (a reloaded page), or, in a
        preview job, that task (a labeled one is opened for relabeling).
        """
        job = self.job(job_name)
        now = self.clock()
        if job.status == "InProgress" and now >= job.ends:
            job = self._end_lifetime(job)
        if job.status != "InProgress":
            return f"{job.name} is {job.status}: it hands out no more tasks"
        if task is not None:
            return self._open(job, who, task, now)
        after = -1
        while True:
            candidates = self.tasks.open_tasks(
                job.name, worker=who.worker_id, now=now, after=after, limit=PAGE
            )
            for candidate in _spread(candidates, in_order=job.spec.preview):
                offer = self._lease(job, candidate, who, now)
                if offer is not None:
                    return offer
            if len(candidates) < PAGE:
                return (
                    f"no task for you in {job.name} now: every image left is with other workers"
                    " or has been yours already"
                )
            after = candidates[-1].id

    def _lease(self, job: Job, task: Task, who: Identity, now: float) -> Assignment | None:
        index = task.free_slot(who.worker_id, now)
        if index is None:
            return None
        slot = self._new_slot(job, who, now)
        if not self.tasks.lease(job.name, task.id, index, slot, now=now):
            return None  # another worker was quicker
        return self._render_or_fail(job, task, slot, now)

    def _open(self, job: Job, who: Identity, task_id: int, now: float) -> Assignment:
        task = self._task(job, task_id)
        mine = next(
            (s for s in task.slots if s and s.worker == who.worker_id and s.live(now)), None
        )
        if task.state == "open" and mine is not None:
            return self._render(job, task, mine, now)
        if not job.spec.preview:
            raise Conflict(
                f"you hold no lease on task {task_id} of {job.name}; ask for the next task"
            )
        if task.state == "failed":
            raise Conflict(f"task {task_id} cannot be labeled: {task.reason}")
        if task.state == "done" and task.revision is not None and task.revision.live(now):
            if task.revision.worker != who.worker_id:
                raise Conflict(f"task {task_id} is being relabeled by another worker")
            return self._render(job, task, task.revision, now)
        slot = self._new_slot(job, who, now)
        if task.state == "done":
            if len(task.slots) > 1 and all(s.worker != who.worker_id for s in task.answers):
                # The new answer replaces the worker's own; they have none here.
                raise Conflict(f"task {task_id} was labeled by other workers; only they relabel it")
            if not self.tasks.lease_revision(job.name, task_id, slot, now=now):
                raise Conflict(f"task {task_id} is being relabeled in another window")
            return self._render(job, replace(task, revision=slot), slot, now)
        if any(s.worker == who.worker_id for s in task.answers):
            raise Conflict(f"you have labeled task {task_id} already; it waits for other workers")
        index = next((i for i, s in enumerate(task.slots) if s is None or s.free(now)), None)
        if index is None or not self.tasks.lease(
            job.name, task_id, index, slot, now=now, again=True
        ):
            raise Conflict(f"task {task_id} is with other workers now")
        offer = self._render_or_fail(job, task, slot, now)
        if offer is None:
            raise Conflict(f"task {task_id} cannot be labeled: the pre-annotation handler refused")
        return offer

    def _new_slot(self, job: Job, who: Identity, now: float) -> Slot:
        return Slot(who.worker_id, secrets.token_urlsafe(16), now + job.spec.time_limit, now)

    def _render_or_fail(self, job: Job, task: Task, slot: Slot, now: float) -> Assignment | None:
        """The rendered task; when the pre-annotation handler rejects its line, the object
        fails (as it does in Ground Truth) and None is returned."""
        try:
            return self._render(job, task, slot, now)
        except TemplateError:
            raise
        except ValueError as exc:
            LOG.error("%s task %s: pre-annotation handler: %s", job.name, task.id, exc)
            self._give_up(job, [task], f"pre-annotation handler: {exc}")
            return None

    def _render(self, job: Job, task: Task, slot: Slot, now: float) -> Assignment:
        line = task.line if task.revision is None else _reopened(task, self.output_line(task))
        response = pre_annotate(pre_annotation_event(line, job.arn), self.rig)
        task_input = response["taskInput"]
        seconds = max(MIN_URL_SECONDS, int(slot.expires - now))
        try:
            html = render_task(
                self.template(), task_input, lambda uri: self.objects.read_url(uri, seconds)
            )
        except TemplateError as exc:
            raise TemplateError(f"the worker template cannot be rendered: {exc}") from exc
        return Assignment(
            job=job.name,
            task=task.id,
            lease=slot.lease,
            expires=slot.expires,
            image_name=str(task_input.get("image_name", "")),
            title=job.spec.title,
            html=html,
            revision=task.revision is not None,
        )

    def release(self, job_name: str, task_id: int, who: Identity, lease: str) -> None:
        """Give a lease back: the task goes to another worker (never to this one again)."""
        task = self._task(self.job(job_name), task_id)
        _, index = self._held(task, lease, who)
        if not self.tasks.release(job_name, task_id, index, lease):
            raise Conflict(f"your lease on task {task_id} has ended already")
        LOG.info("%s task %s: lease given back", job_name, task_id)

    # ---------------------------------------------------------------- submit
    def submit(
        self, job_name: str, task_id: int, who: Identity, lease: str, answer: Mapping[str, Any]
    ) -> Receipt:
        """Store the lease holder's answer; consolidate the object once all answers are in."""
        job = self.job(job_name)
        task = self._task(job, task_id)
        now = self.clock()
        if job.status != "InProgress":
            raise Conflict(f"{job.name} is {job.status}: it takes no more answers")
        slot, index = self._held(task, lease, who)
        if slot.answer is not None:
            raise Conflict(f"you have submitted task {task_id} already")
        if now > slot.expires:
            raise Conflict(
                f"your time for task {task_id} ran out ({job.spec.time_limit} s);"
                " ask for the next task"
            )
        prefix = output_prefix(job.spec.output_path, job.name)
        uri = worker_response_uri(prefix, task_id, _slot_index(task, index, who), now)
        self._write_json(
            job,
            uri,
            worker_response(
                worker_id=who.worker_id,
                answer=answer,
                accepted=slot.accepted,
                submitted=now,
                identity_data=who.identity_data,
            ),
        )
        if index is None:  # a preview job's relabeled task
            return self._revise(job, task, slot, uri, now)
        if not self.tasks.answer(job.name, task_id, index, lease, uri, now=now):
            raise Conflict(self._refusal(job.name, task_id, lease))
        LOG.info("%s task %s: answer %s stored", job.name, task_id, index)
        # This answer completed the task if it filled the last empty slot; otherwise other
        # workers may have answered meanwhile, so read the task again to know.
        answered = task.with_slot(index, replace(slot, answer=uri, submitted=now))
        if not answered.complete:
            answered = self.tasks.get_task(job.name, task_id) or answered
        consolidated = False
        if answered.state == "open" and answered.complete:
            closed, job = self._consolidate(job, [answered], now)
            consolidated = task_id in closed
        return Receipt(
            job.name, task_id, _image_name(task), consolidated, self._manifest_location(job)
        )

    def _held(self, task: Task, lease: str, who: Identity) -> tuple[Slot, int | None]:
        """The slot (and its index; None for a revision) that ``who`` holds with ``lease``."""
        slot: Slot | None
        if task.revision is not None and task.revision.lease == lease:
            slot, index = task.revision, None
        else:
            found = task.slot_of(lease) if task.state == "open" else None
            if found is None:
                raise Conflict(
                    f"you hold no lease on task {task.id}: it ran out and went to another worker,"
                    " was given back, or the task is finished; ask for the next task"
                )
            slot, index = task.slots[found], found
        assert slot is not None
        if slot.worker != who.worker_id:
            raise Conflict(f"task {task.id} is leased to another worker")
        return slot, index

    def _refusal(self, job_name: str, task_id: int, lease: str) -> str:
        """Why a conditional answer write failed, read again."""
        job = self.tasks.get_job(job_name)
        if job is not None and job.status != "InProgress":
            return f"{job_name} is {job.status}: it takes no more answers"
        return f"your lease on task {task_id} ended before the answer was stored; ask for the next"

    def _revise(self, job: Job, task: Task, revision: Slot, uri: str, now: float) -> Receipt:
        slots = list(task.slots)
        slots[_slot_index(task, None, revision)] = replace(revision, answer=uri, submitted=now)
        relabeled = replace(task, slots=tuple(slots), revision=None, state="open")
        labels = self._labels(job, [relabeled], now)
        if task.id not in labels:
            raise Conflict(f"task {task.id} could not be consolidated again; the old label stays")
        done = self._labeled(job, relabeled, labels[task.id])
        if not self.tasks.revise(done, revision.lease, now=now):
            raise Conflict(f"your lease on task {task.id} ended before the answer was stored")
        self.write_output_manifest(job)
        return Receipt(job.name, task.id, _image_name(task), True, self._manifest_location(job))

    # ---------------------------------------------------------- consolidation
    def _consolidate(self, job: Job, tasks: Sequence[Task], now: float) -> tuple[set[int], Job]:
        """Claim and consolidate ``tasks`` (each has an answer); the IDs that were closed,
        and the job after counting them."""
        claim = Claim(secrets.token_urlsafe(12), now)
        claimed = [
            t
            for task in tasks
            if (t := self.tasks.claim(job.name, task.id, claim, stale_before=now - CLAIM_TIMEOUT))
        ]
        if not claimed:
            return set(), job
        labels = self._labels(job, claimed, now)
        closed = set()
        failed = 0
        for task in claimed:
            if task.id in labels:
                final = self._labeled(job, replace(task, claim=None), labels[task.id])
            else:
                failed += 1
                reason = "the post-annotation handler returned no label for it"
                final = replace(task, state="failed", reason=reason, claim=None)
            if self.tasks.close(final, claim.id):
                closed.add(task.id)
        LOG.info("%s: %s objects consolidated", job.name, len(closed) - failed)
        return closed, self._counted(job.name, done=len(closed) - failed, failed=failed)

    def _labels(self, job: Job, tasks: Sequence[Task], now: float) -> dict[int, dict[str, Any]]:
        """Run the post-annotation handler on ``tasks`` as Ground Truth would: the payload
        written to the consolidation-request path, the event naming it. Their output lines,
        by task ID."""
        spec = job.spec
        prefix = output_prefix(spec.output_path, job.name)
        payload = [
            payload_entry(
                task.id,
                task.line.get("source-ref"),
                [(slot.worker, self._answer_content(slot.answer)) for slot in task.answers],
            )
            for task in tasks
        ]
        uri = consolidation_request_uri(prefix, tasks[0].id, now)
        self._write_json(job, uri, payload)
        event = post_annotation_event(
            arn=job.arn,
            label_attribute=spec.label_attribute,
            output_prefix=prefix,
            max_workers=spec.workers,
            payload_uri=uri,
            kms_key_id=spec.kms_key_id,
        )
        response = consolidate_batch(event, self.rig, s3=self.objects.client)
        by_id = {task.id: task for task in tasks}
        created = utc(now)
        labels = {}
        for item in response:
            task_id = int(item["datasetObjectId"])
            label = item["consolidatedAnnotation"]["content"][spec.label_attribute]
            labels[task_id] = output_manifest_line(
                by_id[task_id].line,
                label_attribute=spec.label_attribute,
                consolidated=label,
                job_name=job.name,
                created=created,
            )
        return labels

    def _labeled(self, job: Job, task: Task, output: dict[str, Any]) -> Task:
        """``task`` done with its output line; a line too large to keep with the task
        goes to the bucket (under the job's consolidated-annotation folder)."""
        body = json.dumps(output, ensure_ascii=False).encode("utf-8")
        if len(body) <= OUTPUT_INLINE_MAX:
            return replace(task, state="done", output=output, output_uri=None)
        prefix = output_prefix(job.spec.output_path, job.name)
        uri = f"{prefix}annotations/consolidated-annotation/pose-labeling-lines/{task.id}.json"
        self.objects.write(uri, body, "application/json")
        return replace(task, state="done", output=None, output_uri=uri)

    def output_line(self, task: Task) -> dict[str, Any] | None:
        """A done task's output-manifest line, wherever it is kept."""
        if task.output is not None:
            return task.output
        if task.output_uri is not None:
            value = json.loads(self.objects.read(task.output_uri))
            return value if isinstance(value, dict) else None
        return None

    def _answer_content(self, uri: str | None) -> Any:
        """The answer in a worker-response file as ``annotationData.content`` (a JSON
        string); None when the file cannot be read (the handler keeps it as an error)."""
        try:
            stored = json.loads(self.objects.read(str(uri)))
            return json.dumps(stored["answers"][0]["answerContent"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            LOG.error("answer %s cannot be read (%s); consolidated as missing", uri, exc)
            return None

    def _give_up(self, job: Job, tasks: Iterable[Task], reason: str) -> None:
        now = self.clock()
        claim = Claim(secrets.token_urlsafe(12), now)
        failed = 0
        for task in tasks:
            claimed = self.tasks.claim(job.name, task.id, claim, stale_before=now - CLAIM_TIMEOUT)
            if claimed is None:
                continue
            final = replace(claimed, state="failed", reason=reason, claim=None)
            failed += self.tasks.close(final, claim.id)
        if failed:
            self._counted(job.name, failed=failed)

    def _counted(self, job_name: str, *, done: int = 0, failed: int = 0) -> Job:
        """Count closed objects; write the output manifest when that finished the job (or,
        for a preview job, always; or when the job ended while they were consolidated).
        The job, counted."""
        job = self.tasks.count(job_name, done=done, failed=failed, now=self.clock())
        if job.spec.preview:
            self.write_output_manifest(job)
        elif job.status in ("Stopped", "Completed"):
            self.write_output_manifest(job)  # stop or settle wrote it before this label
        elif job.status == "InProgress" and job.done + job.failed >= job.total:
            uri = self.write_output_manifest(job)
            completed = self.tasks.update_job(
                job_name,
                expect=("InProgress",),
                status="Completed",
                output_manifest=uri,
                updated=self.clock(),
            )
            LOG.info("%s completed: %s labeled, %s failed", job_name, job.done, job.failed)
            return completed or job
        return job

    # ------------------------------------------------------------- job's end
    def stop(self, job_name: str) -> Job:
        """Stop handing out tasks and taking answers; consolidate every object with an
        answer, leave the others unlabeled, and write the output manifest."""
        job = self.job(job_name)
        if job.status not in ("Initializing", "InProgress", "Stopping"):
            raise Conflict(f"{job_name} is {job.status} already; nothing to stop")
        stopping = self.tasks.update_job(
            job_name,
            expect=("Initializing", "InProgress", "Stopping"),
            status="Stopping",
            updated=self.clock(),
        )
        if stopping is None:
            raise Conflict(f"{job_name} changed while it was being stopped; try again")
        return self._finish(stopping, "Stopped", give_up=None)

    def settle(self, job_name: str) -> Progress:
        """A job's progress, after finishing what is due: the end of its task lifetime,
        and objects whose consolidation was interrupted."""
        job = self.job(job_name)
        now = self.clock()
        if job.status == "InProgress" and now >= job.ends:
            job = self._end_lifetime(job)
        elif job.status == "Stopping":
            job = self._finish(job, "Stopped", give_up=None)
        elif job.status == "InProgress":
            stuck = [
                t
                for t in self.tasks.all_tasks(job.name)
                if t.state == "open"
                and t.complete
                and (t.claim is None or t.claim.at < now - CLAIM_TIMEOUT)
            ]
            for batch in _batches(stuck, FINISH_BATCH):
                _, job = self._consolidate(job, batch, now)
        return self.progress(job)

    def progress(self, job: Job) -> Progress:
        now = self.clock()
        leased = waiting = 0
        for task in self.tasks.all_tasks(job.name):
            if task.state == "open":
                leased += any(s is not None and s.live(now) for s in task.slots)
                waiting += len(task.answers)
        return Progress(job, leased, waiting)

    def _end_lifetime(self, job: Job) -> Job:
        ending = self.tasks.update_job(
            job.name, expect=("InProgress",), status="Stopping", updated=self.clock()
        )
        if ending is None:
            return self.job(job.name)
        LOG.info("%s: its task lifetime ended", job.name)
        return self._finish(ending, "Completed", give_up=EXPIRED_REASON)

    def _finish(self, job: Job, status: JobStatus, *, give_up: str | None) -> Job:
        """Consolidate every open object with an answer; give up the others if ``give_up``;
        write the output manifest and set the final ``status``."""
        now = self.clock()
        deadline = now + CLAIM_WAIT
        while True:
            open_tasks = [t for t in self.tasks.all_tasks(job.name) if t.state == "open"]
            busy = [
                t for t in open_tasks if t.claim is not None and t.claim.at >= now - CLAIM_TIMEOUT
            ]
            idle = [t for t in open_tasks if t.answers and t not in busy]
            for batch in _batches(idle, FINISH_BATCH):
                self._consolidate(job, batch, now)
            if give_up:
                self._give_up(job, [t for t in open_tasks if not t.answers], give_up)
            if not busy or self.clock() > deadline:
                break
            time.sleep(0.2)  # another request is consolidating some: let it finish
        counts = {"done": 0, "failed": 0}
        for task in self.tasks.all_tasks(job.name):
            if task.state in counts:
                counts[task.state] += 1
        uri = self.write_output_manifest(job)
        final = self.tasks.update_job(
            job.name,
            expect=("Stopping",),
            status=status,
            output_manifest=uri,
            updated=self.clock(),
            **counts,
        )
        LOG.info("%s %s: %s labeled, %s failed", job.name, status.lower(), *counts.values())
        return final or self.job(job.name)

    def write_output_manifest(self, job: Job) -> str:
        """Write the job's output manifest: one line per object in manifest order (while a
        preview job runs, only the objects labeled so far). Its URI."""
        active = job.status in ("Initializing", "InProgress")
        lines = [
            json.dumps(line, ensure_ascii=False) + "\n"
            for line in self._output_lines(job, include_open=not active)
        ]
        uri = output_manifest_uri(output_prefix(job.spec.output_path, job.name))
        self.objects.write(uri, "".join(lines).encode("utf-8"), "application/jsonlines")
        return uri

    def _output_lines(self, job: Job, *, include_open: bool) -> Iterator[dict[str, Any]]:
        spec = job.spec
        for task in self.tasks.all_tasks(job.name):
            output = self.output_line(task) if task.state == "done" else None
            if output is not None:
                yield output
            elif task.state == "failed" or include_open:
                yield unlabeled_line(
                    task.line,
                    label_attribute=spec.label_attribute,
                    job_name=job.name,
                    reason=task.reason or STOPPED_REASON,
                )

    def _manifest_location(self, job: Job) -> str | None:
        if job.output_manifest is None and not job.spec.preview:
            return None
        uri = output_manifest_uri(output_prefix(job.spec.output_path, job.name))
        return self.objects.location(uri)

    # --------------------------------------------------------------- helpers
    def _task(self, job: Job, task_id: int) -> Task:
        task = self.tasks.get_task(job.name, task_id)
        if task is None:
            raise NotFound(f"{job.name} has no task {task_id}")
        return task

    def _write_json(self, job: Job, uri: str, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self.objects.write(uri, body, "application/json")


def _reopened(task: Task, output: dict[str, Any] | None) -> dict[str, Any]:
    """A labeled object opened again starts from its label, as an adjustment task does."""
    line = {k: v for k, v in task.line.items() if k not in PRE_ANNOTATION_KEYS}
    output = output or {}
    label = next(
        (
            v
            for k, v in output.items()
            if isinstance(v, dict) and isinstance(output.get(f"{k}-metadata"), dict)
        ),
        None,
    )
    if label is not None and isinstance(label.get("updated_annotations"), list):
        line["annotations"] = label["updated_annotations"]
    return line


def _slot_index(task: Task, index: int | None, who: Identity | Slot) -> int:
    """The slot an answer belongs to: ``index``, or for a revision the worker's own slot."""
    if index is not None:
        return index
    worker = who.worker_id if isinstance(who, Identity) else who.worker
    return next((i for i, s in enumerate(task.slots) if s and s.worker == worker), 0)


def _image_name(task: Task) -> str:
    return str(task.line.get("source-ref", "")).rsplit("/", 1)[-1]


def _spread(candidates: list[Task], *, in_order: bool) -> list[Task]:
    """The candidates from a random one on, so that workers asking at the same moment try
    different tasks instead of racing for the first; in manifest order for the preview."""
    if in_order or not candidates:
        return candidates
    start = secrets.randbelow(len(candidates))
    return candidates[start:] + candidates[:start]


def _batches(items: Sequence[Task], size: int) -> Iterator[Sequence[Task]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
