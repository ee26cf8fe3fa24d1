"""The task service's storage on AWS: one DynamoDB table, and the stack's bucket.

Table items (partition key ``pk``, sort key ``sk``; no secondary index):

=====================  ==================  ============================================
``pk``                 ``sk``              holds
=====================  ==================  ============================================
``JOBS``               ``JOB#<job>``       a job: its settings, status and counters
``JOB#<job>``          ``OPEN#<id>``       an open task: the manifest line, one slot per
                                           worker (``s0``…: lease, expiry, answer), the
                                           workers it was given to (``seen``), a claim
``JOB#<job>``          ``DONE#<id>``       a done or failed task: its output line
                                           (``out``, zlib-compressed JSON), or the reason
=====================  ==================  ============================================

``<id>`` is the object's index in the manifest, zero-padded, so a query returns tasks
in manifest order. An open task becomes a done one in a transaction (delete ``OPEN#``,
put ``DONE#``), so the search for work reads open tasks only. Every write that changes
a task is conditional, with the condition its :class:`handlers.task_records.TaskTable`
method documents; a failed condition returns False, anything else raises.

Stdlib + boto3 only (part of the Lambda archive).
"""

from __future__ import annotations

import heapq
import json
import re
import time
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from handlers.groundtruth import split_s3_uri
from handlers.task_records import Claim, Job, JobSpec, Slot, Task

JOBS = "JOBS"
#: Items read per query page while looking for open tasks.
QUERY_PAGE = 100
_BATCH = 25  # BatchWriteItem's limit
_JOB_FIELDS = {"status", "updated", "done", "failed", "output_manifest"}
_NAME = re.compile(r"#(\w+)")


class DynamoTaskTable:
    """:class:`handlers.task_records.TaskTable` on a DynamoDB table (a boto3 client)."""

    def __init__(self, client: Any, table: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._client = client
        self._table = table
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    # ------------------------------------------------------------------ jobs
    def create_job(self, job: Job) -> bool:
        return self._write(
            "put_item",
            Item=self._job_item(job),
            **self._expressions(condition="attribute_not_exists(#pk)"),
        )

    def put_tasks(self, tasks: Sequence[Task]) -> None:
        for start in range(0, len(tasks), _BATCH):
            requests = [
                {"PutRequest": {"Item": self._task_item(task)}}
                for task in tasks[start : start + _BATCH]
            ]
            for attempt in range(8):
                unprocessed = self._client.batch_write_item(
                    RequestItems={self._table: requests}
                ).get("UnprocessedItems", {})
                requests = unprocessed.get(self._table, [])
                if not requests:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))  # throttled: back off, retry the rest
            else:
                raise RuntimeError(
                    f"{self._table}: {len(requests)} tasks could not be written (throttled)"
                )

    def get_job(self, name: str) -> Job | None:
        item = self._get({"pk": JOBS, "sk": f"JOB#{name}"})
        return None if item is None else self._job(item)

    def list_jobs(self) -> list[Job]:
        return [self._job(item) for item in self._query(JOBS, "JOB#")]

    def update_job(self, name: str, *, expect: Collection[str], **changes: Any) -> Job | None:
        unknown = set(changes) - _JOB_FIELDS
        if unknown:
            raise TypeError(f"update_job: unknown fields {sorted(unknown)}")
        names = {f"#{k}": _job_attribute(k) for k in changes}
        values = {f":{k}": v for k, v in changes.items()}
        allowed = [f":expect{i}" for i in range(len(expect))]
        values |= dict(zip(allowed, expect, strict=True))
        item = self._update(
            {"pk": JOBS, "sk": f"JOB#{name}"},
            "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            f"#status IN ({', '.join(allowed)})",
            values,
            names,
        )
        return None if item is None else self._job(item)

    def count(self, name: str, *, done: int = 0, failed: int = 0, now: float) -> Job:
        item = self._update(
            {"pk": JOBS, "sk": f"JOB#{name}"},
            "ADD #done :done, #failed :failed SET #updated = :now",
            "attribute_exists(#pk)",
            {":done": done, ":failed": failed, ":now": now},
        )
        if item is None:
            raise KeyError(f"no job named {name}")
        return self._job(item)

    # ----------------------------------------------------------------- tasks
    def open_tasks(
        self, job: str, *, worker: str, now: float, after: int, limit: int
    ) -> list[Task]:
        found: list[Task] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                # Unclaimed tasks not given to this worker yet; which slot is free is
                # checked below (the filter does not know how many slots a task has).
                FilterExpression="attribute_not_exists(#claim) AND NOT contains(#seen, :worker)",
                ExpressionAttributeNames={"#claim": "claim", "#seen": "seen"},
                ExpressionAttributeValues=self._values(
                    {
                        ":pk": f"JOB#{job}",
                        ":low": _task_key("OPEN", after + 1),
                        ":high": "OPEN#~",
                        ":worker": worker,
                    }
                ),
                Limit=QUERY_PAGE,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in page.get("Items", []):
                task = self._task(item)
                if task.free_slot(worker, now) is not None:
                    found.append(task)
                    if len(found) == limit:
                        return found
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def all_tasks(self, job: str) -> Iterator[Task]:
        done = (self._task(item) for item in self._query(f"JOB#{job}", "DONE#"))
        open_ = (self._task(item) for item in self._query(f"JOB#{job}", "OPEN#"))
        return heapq.merge(done, open_, key=lambda task: task.id)

    def get_task(self, job: str, task: int) -> Task | None:
        for kind in ("OPEN", "DONE"):
            item = self._get({"pk": f"JOB#{job}", "sk": _task_key(kind, task)})
            if item is not None:
                return self._task(item)
        return None

    def lease(
        self, job: str, task: int, index: int, slot: Slot, *, now: float, again: bool = False
    ) -> bool:
        condition = (
            "attribute_exists(#pk) AND attribute_not_exists(#claim)"
            + ("" if again else " AND NOT contains(#seen, :worker)")
            + " AND (attribute_not_exists(#slot)"
            " OR (attribute_not_exists(#slot.#ans) AND #slot.#exp < :now))"
        )
        values: dict[str, Any] = {
            ":slot": _slot_map(slot),
            ":workers": {slot.worker},
            ":now": now,
        }
        if not again:
            values[":worker"] = slot.worker
        return self._changed(
            {"pk": f"JOB#{job}", "sk": _task_key("OPEN", task)},
            "SET #slot = :slot ADD #seen :workers",
            condition,
            values,
            {"#slot": f"s{index}"},
        )

    def release(self, job: str, task: int, index: int | None, lease: str) -> bool:
        kind, attribute = ("DONE", "rev") if index is None else ("OPEN", f"s{index}")
        return self._changed(
            {"pk": f"JOB#{job}", "sk": _task_key(kind, task)},
            "REMOVE #slot",
            "#slot.#lease = :lease AND attribute_not_exists(#slot.#ans)",
            {":lease": lease},
            {"#slot": attribute},
        )

    def answer(
        self, job: str, task: int, index: int, lease: str, answer: str, *, now: float
    ) -> bool:
        return self._transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": self._key({"pk": JOBS, "sk": f"JOB#{job}"}),
                        **self._expressions(
                            condition="#status = :running", values={":running": "InProgress"}
                        ),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": self._key({"pk": f"JOB#{job}", "sk": _task_key("OPEN", task)}),
                        **self._expressions(
                            update="SET #slot.#ans = :answer, #slot.#sub = :now",
                            condition="attribute_not_exists(#claim)"
                            " AND #slot.#lease = :lease AND attribute_not_exists(#slot.#ans)"
                            " AND #slot.#exp >= :now",
                            values={":answer": answer, ":now": now, ":lease": lease},
                            slot=f"s{index}",
                        ),
                    }
                },
            ]
        )

    def claim(self, job: str, task: int, claim: Claim, *, stale_before: float) -> Task | None:
        item = self._update(
            {"pk": f"JOB#{job}", "sk": _task_key("OPEN", task)},
            "SET #claim = :claim",
            "attribute_exists(#pk) AND (attribute_not_exists(#claim) OR #claim.#at < :stale)",
            {":claim": {"id": claim.id, "at": claim.at}, ":stale": stale_before},
        )
        return None if item is None else self._task(item)

    def close(self, task: Task, claim: str) -> bool:
        return self._transact(
            [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(
                            {"pk": f"JOB#{task.job}", "sk": _task_key("OPEN", task.id)}
                        ),
                        **self._expressions(
                            condition="#claim.#id = :claim", values={":claim": claim}
                        ),
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._task_item(task),
                        **self._expressions(condition="attribute_not_exists(#pk)"),
                    }
                },
            ]
        )

    def lease_revision(self, job: str, task: int, slot: Slot, *, now: float) -> bool:
        return self._changed(
            {"pk": f"JOB#{job}", "sk": _task_key("DONE", task)},
            "SET #rev = :slot",
            "attribute_exists(#pk) AND #state = :done AND (attribute_not_exists(#rev)"
            " OR (attribute_not_exists(#rev.#ans) AND #rev.#exp < :now))",
            {":slot": _slot_map(slot), ":done": "done", ":now": now},
        )

    def revise(self, task: Task, lease: str, *, now: float) -> bool:
        return self._write(
            "put_item",
            Item=self._task_item(task),
            **self._expressions(
                condition="#rev.#lease = :lease AND #rev.#exp >= :now",
                values={":lease": lease, ":now": now},
            ),
        )

    # ----------------------------------------------------------- the items
    def _job_item(self, job: Job) -> dict[str, Any]:
        spec = {k: v for k, v in asdict(job.spec).items() if v is not None}
        spec["keywords"] = list(job.spec.keywords)
        return self._serialize(
            {
                "pk": JOBS,
                "sk": f"JOB#{job.name}",
                "status": job.status,
                "created": job.created,
                "updated": job.updated,
                "total": job.total,
                "done": job.done,
                "failed": job.failed,
                "arn": job.arn,
                "output": job.output_manifest,
                "spec": spec,
            }
        )

    def _task_item(self, task: Task) -> dict[str, Any]:
        kind = "OPEN" if task.state == "open" else "DONE"
        item: dict[str, Any] = {
            "pk": f"JOB#{task.job}",
            "sk": _task_key(kind, task.id),
            "id": task.id,
            "n": len(task.slots),
            "state": task.state,
            "line": json.dumps(task.line, ensure_ascii=False),
            "seen": set(task.seen) or None,
            "claim": {"id": task.claim.id, "at": task.claim.at} if task.claim else None,
            "reason": task.reason,
            "outref": task.output_uri,
            "rev": _slot_map(task.revision) if task.revision else None,
        }
        for i, slot in enumerate(task.slots):
            item[f"s{i}"] = _slot_map(slot) if slot else None
        if task.output is not None:
            text = json.dumps(task.output, ensure_ascii=False).encode("utf-8")
            item["out"] = zlib.compress(text)
        return self._serialize(item)

    def _job(self, item: dict[str, Any]) -> Job:
        return _job(self._deserialize(item))

    def _task(self, item: dict[str, Any]) -> Task:
        values = self._deserialize(item)
        out = values.get("out")
        claim = values.get("claim")
        return Task(
            job=values["pk"].removeprefix("JOB#"),
            id=int(values["id"]),
            line=json.loads(values["line"]),
            state=values["state"],
            slots=tuple(_slot(values.get(f"s{i}")) for i in range(int(values["n"]))),
            seen=frozenset(values.get("seen", ())),
            claim=Claim(claim["id"], claim["at"]) if claim else None,
            output=json.loads(zlib.decompress(bytes(out))) if out is not None else None,
            reason=values.get("reason"),
            output_uri=values.get("outref"),
            revision=_slot(values.get("rev")),
        )

    # -------------------------------------------------------------- requests
    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=self._key(key), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else dict(item)

    def _query(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            page = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=self._values({":pk": pk, ":prefix": prefix}),
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def _update(
        self,
        key: dict[str, str],
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The item after a conditional update, or None when the condition failed."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(key),
                ReturnValues="ALL_NEW",
                **self._expressions(update=update, condition=condition, values=values, names=names),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return dict(response["Attributes"])

    def _changed(
        self,
        key: dict[str, str],
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> bool:
        return self._write(
            "update_item",
            Key=self._key(key),
            **self._expressions(update=update, condition=condition, values=values, names=names),
        )

    def _expressions(
        self,
        *,
        condition: str,
        update: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        slot: str | None = None,
    ) -> dict[str, Any]:
        """The expression parameters of a request. Every attribute is written ``#name``
        (DynamoDB reserves hundreds of words); ``#x`` stands for ``x`` unless ``names``
        says otherwise (``slot`` is ``#slot``'s attribute)."""
        text = f"{update or ''} {condition}"
        mapping = {f"#{n}": n for n in _NAME.findall(text)}
        mapping |= names or {}
        if slot is not None:
            mapping["#slot"] = slot
        request: dict[str, Any] = {
            "ConditionExpression": condition,
            "ExpressionAttributeNames": mapping,
        }
        if update is not None:
            request["UpdateExpression"] = update
        if values:
            request["ExpressionAttributeValues"] = self._values(values)
        return request

    def _write(self, operation: str, **request: Any) -> bool:
        try:
            getattr(self._client, operation)(TableName=self._table, **request)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            codes = {r.get("Code") for r in reasons} - {"None", None}
            if codes <= {"ConditionalCheckFailed"}:
                return False
            raise  # a conflict with another transaction, throttling: let the caller retry
        return True

    def _key(self, key: dict[str, str]) -> dict[str, Any]:
        return self._serialize(key)

    def _values(self, values: dict[str, Any]) -> dict[str, Any]:
        return self._serialize(values)

    def _serialize(self, values: dict[str, Any]) -> dict[str, Any]:
        serialize = self._serializer.serialize
        return {k: serialize(_dynamo(v)) for k, v in values.items() if v is not None}

    def _deserialize(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: _plain(self._deserializer.deserialize(v)) for k, v in item.items()}


class S3Objects:
    """:class:`handlers.task_records.ObjectStore` on S3 (a boto3 client); objects written
    are encrypted with ``kms_key_id`` when one is given (SSE-KMS)."""

    def __init__(self, client: Any, *, kms_key_id: str | None = None) -> None:
        self.client = client
        self._kms_key_id = kms_key_id

    def read(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        try:
            return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            raise KeyError(uri) from None

    def write(self, uri: str, body: bytes, content_type: str) -> None:
        bucket, key = split_s3_uri(uri)
        extra = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
            if self._kms_key_id
            else {}
        )
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)

    def read_url(self, uri: str, expires_in: int) -> str:
        bucket, key = split_s3_uri(uri)
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def location(self, uri: str) -> str:
        return uri


def _task_key(kind: str, task: int) -> str:
    return f"{kind}#{task:08d}"


def _job_attribute(field: str) -> str:
    return "output" if field == "output_manifest" else field


def _job(values: dict[str, Any]) -> Job:
    spec = dict(values["spec"])
    spec["keywords"] = tuple(spec.get("keywords", ()))
    return Job(
        spec=JobSpec(**spec),
        status=values["status"],
        created=values["created"],
        updated=values["updated"],
        total=int(values["total"]),
        arn=values["arn"],
        done=int(values.get("done", 0)),
        failed=int(values.get("failed", 0)),
        output_manifest=values.get("output"),
    )


def _slot_map(slot: Slot) -> dict[str, Any]:
    return {
        "w": slot.worker,
        "lease": slot.lease,
        "exp": slot.expires,
        "acc": slot.accepted,
        "ans": slot.answer,
        "sub": slot.submitted,
    }


def _slot(value: Any) -> Slot | None:
    if not isinstance(value, dict):
        return None
    return Slot(
        worker=value["w"],
        lease=value["lease"],
        expires=value["exp"],
        accepted=value["acc"],
        answer=value.get("ans"),
        submitted=value.get("sub"),
    )


def _dynamo(value: Any) -> Any:
    """Python values as boto3's serializer takes them: floats as Decimal, no None in maps."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_dynamo(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Deserialized values back: Decimal as int or float, bytes-like as bytes, sets as sets."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return value.value
    return value
