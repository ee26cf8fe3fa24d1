"""Ground Truth Lambda handlers and the annotation model they share with the scripts.

Deployed as-is inside the Lambda archive, so everything here uses only the
standard library and boto3 (both present in the Lambda Python runtime), and
boto3 is imported only when S3 must be read or written. Nothing is loaded at
import: the rig is passed to every function that validates against it, and
only the Lambda entry points read the deployed one (``deployed_rig()``).
The formats (manifest line, worker answer, consolidated label) are described
in ``docs/contracts.md``.

Public API (import from the module; nothing is re-exported here, so that
``import handlers.post_annotation`` stays cheap):

``handlers.pre_annotation``
    ``pre_annotate(event, rig)`` -> the response; ``lambda_handler(event, context)``
    runs it with ``deployed_rig()``.
``handlers.post_annotation``
    ``consolidate_batch(event, rig, *, s3=None)`` -> the response (one item per data
    object); ``s3`` is a boto3 S3 client for the payload, stored answers and the
    overflow file. ``lambda_handler(event, context)`` runs it with ``deployed_rig()``.
``handlers.rig``
    ``Rig`` (``.parse``, ``.labels``, ``.index``, ``.positions``, ``.sigma``,
    ``.mirror_pairs``, ``.fingerprint``, ``.identity``), ``RigIdentity`` (``name``,
    ``fingerprint``: what a label records), ``load_rig``, ``deployed_rig`` (cached;
    raises ``RigError`` naming ``POSE_LABELING_RIG_FILE`` when it is missing),
    ``COCO_SIGMAS``, ``DEFAULT_SIGMA``, ``RigError``.
``handlers.limits``
    The bounds of one worker answer: ``MAX_ANSWER_CHARS``, ``MAX_JSON_DEPTH``,
    ``MAX_SKELETONS_PER_IMAGE``; ``loads_bounded``, ``keepable``.
``handlers.skeleton``
    ``Visibility`` (COCO 0/1/2; missing means 2), ``Keypoint``, ``Skeleton``
    (``.parse``, ``.to_jsonable``, ``.points``, ``.bbox``), ``parse_skeletons``
    (liberal: skeletons + ``FieldError`` list; pass-through values standard JSON
    cannot write are left out), ``load_skeletons`` (strict: raises
    ``AnnotationError``), ``skeletons_to_jsonable``, ``same_annotations``
    (normalised comparison behind ``was_modified``), ``FieldError``, ``AnnotationError``.
``handlers.oks``
    ``oks(a, b, rig)``, ``points``/``points_oks`` (the same on prepared points), ``area``,
    ``sigma(label, rig)``, ``sigmas(rig)`` (pycocotools' ``kpt_oks_sigmas``), ``scales``.
``handlers.coco``
    ``coco_category(rig)``, ``coco_annotation(skeleton, rig, annotation_id=, image_id=)``,
    ``coco_keypoints``, ``coco_bbox``, ``skeleton_from_coco``, ``skeleton_from_coco_keypoints``.
``handlers.assignment``
    ``min_cost_assignment(cost)`` (Hungarian algorithm).
``handlers.consolidation``
    ``consolidate(answers, rig)`` -> ``Consolidation`` (skeletons, ``Agreement``,
    members), ``median``.
``handlers.qa``
    ``check_skeletons(skeletons, rig, width, height)`` -> ``QaFlag`` list.
``handlers.submission``
    ``parse_answer(content, rig=, worker_id=, field=)`` -> ``WorkerAnswer``;
    ``s3_uri_from_url``; ``SUBMISSION_FIELDS`` (the one list of the fields a worker submits).
``handlers.label``
    ``ConsolidatedLabel`` (``.parse(obj, rig)``, ``.to_jsonable``, ``.usable``,
    ``.complete``, ``.image_size``, ``.rig``: a ``RigIdentity`` or None on labels made
    before labels carried it), ``WorkerResult`` (``same_as_consolidated``),
    ``build_label(dataset_object_id, answers, rig=, data_object_s3_uri=)``, ``LABEL_FIELDS``.
``handlers.task_input``
    ``build_task_input(manifest_line, rig)``: the pre-annotation step (validates the
    line's pre-annotations strictly; use it to check a manifest before launching a job).
``handlers.output_manifest``
    ``parse_output_manifest_line(line, rig=, label_attribute_name=)`` ->
    ``OutputManifestLine`` (``.label``, ``.metadata``: ``LabelMetadata``, both spellings),
    ``label_attribute_names``, ``DEFAULT_LABEL_ATTRIBUTE`` (``label-results``).
``handlers.groundtruth``
    The wire protocol: ``PreAnnotationRequest``, ``PostAnnotationRequest``,
    ``read_payload`` (``s3Uri`` or inline ``content``), ``parse_payload``,
    ``DatasetObject``/``WorkerSubmission``, ``pre_annotation_response``,
    ``consolidation_response``, ``s3_client``, ``read_s3_text``, ``ProtocolError``.
``handlers.overflow``
    Keeping the response under Lambda's 6 MB: ``fit_response`` (measures each item,
    moves fields to one S3 file), ``json_size``, ``overflow_uri``,
    ``restore_overflow(label, read_text)`` (for readers of the output manifest; the
    export calls it).

The self-hosted runner's task service (``docs/self-hosted.md``):

``handlers.task_service``
    ``TaskService(tasks, objects, rig, template)``: ``register``, ``next``, ``submit``,
    ``release``, ``stop``, ``settle``, ``progress``, ``write_output_manifest``; the
    one implementation behind the deployed runner and the offline preview.
``handlers.task_api``
    ``lambda_handler(event, context)`` (API Gateway HTTP API, JWT authorizer) and
    ``handle``, which the preview's server calls with the same events.
``handlers.task_records``
    ``Job``, ``JobSpec``, ``Task``, ``Slot`` and the two storage interfaces
    (``TaskTable``, ``ObjectStore``); ``handlers.task_store_aws`` implements them on
    DynamoDB and S3, ``scripts/task_local.py`` in memory and files.
``handlers.task_template``
    ``render_task(template, task_input, grant_read_access)``: stage 2 of the worker
    template, the subset our template uses, without python-liquid.
``handlers.task_groundtruth``
    Ground Truth's events and file layout as the runners write them: ``job_arn``,
    ``output_prefix``, ``output_manifest_uri``, ``output_manifest_line``.
"""
