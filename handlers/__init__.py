"""Ground Truth Lambda handlers and the annotation model they share with the scripts.

Deployed as-is inside the Lambda archive, so everything here uses only the
standard library and boto3 (both present in the Lambda Python runtime), and
boto3 is imported only when S3 must be read or written.

Public API (import from the module; nothing is re-exported here, so that
``import handlers.post_annotation`` stays cheap):

``handlers.rig``
    ``Rig`` (``.parse``, ``.labels``, ``.index``, ``.positions``, ``.sigma``,
    ``.mirror_pairs``), ``load_rig``, ``load_deployed_rig``, ``COCO_SIGMAS``,
    ``DEFAULT_SIGMA``, ``RigError``.
``handlers.skeleton``
    ``Visibility`` (COCO 0/1/2; missing means 2), ``Keypoint``, ``Skeleton``
    (``.parse``, ``.to_jsonable``, ``.json_size_bound``, ``.points``, ``.bbox``),
    ``parse_skeletons`` (liberal: skeletons + ``FieldError`` list; pass-through values
    standard JSON cannot write are left out), ``parse_skeletons_json`` (the same from a
    text, and its ``SkeletonsJson`` when the skeletons render it exactly),
    ``load_skeletons`` (strict: raises ``AnnotationError``), ``skeletons_to_jsonable``,
    ``same_annotations`` (normalised comparison behind ``was_modified``), ``FieldError``,
    ``AnnotationError``.
``handlers.json_size``
    Sizes as the Lambda runtime serialises: ``dumps``, ``json_size`` (exact),
    ``string_size``/``strings_size``/``scalar_size`` (exact, cheap), ``numbers_size_bound``.
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
    ``parse_answer(content, worker_id=, field=, rig=)`` -> ``WorkerAnswer``;
    ``s3_uri_from_url``; ``SUBMISSION_FIELDS``.
``handlers.label``
    ``ConsolidatedLabel`` (``.parse``, ``.to_jsonable``, ``.json_size_bound``,
    ``.usable``, ``.complete``, ``.image_size``), ``WorkerResult``
    (``same_as_consolidated``), ``build_label(dataset_object_id, answers,
    data_object_s3_uri=, rig=)``, ``consolidated_json`` (a single worker's exact text,
    to output as written), ``LABEL_FIELDS``.
``handlers.task_input``
    ``build_task_input(manifest_line, rig)``: the pre-annotation step (validates the
    line's pre-annotations strictly; use it to check a manifest before launching a job).
``handlers.output_manifest``
    ``parse_output_manifest_line(line, label_attribute_name=, rig=)`` ->
    ``OutputManifestLine`` (``.label``, ``.metadata``: ``LabelMetadata``, both spellings),
    ``label_attribute_names``.
``handlers.groundtruth``
    The wire protocol: ``PreAnnotationRequest``, ``PostAnnotationRequest``,
    ``read_payload`` (``s3Uri`` or inline ``content``), ``parse_payload``,
    ``DatasetObject``/``WorkerSubmission``, ``pre_annotation_response``,
    ``consolidation_response``, ``s3_client``, ``read_s3_text``, ``ProtocolError``.
``handlers.overflow``
    Keeping the response under Lambda's 6 MB: ``fit_response`` (exact sizes, or the
    callers' upper bounds and texts), ``overflow_uri``, ``restore_overflow(label,
    read_text)`` (for readers of the output manifest; the export calls it).
``handlers.pre_annotation`` / ``handlers.post_annotation``
    ``lambda_handler(event, context)``; the post handler also takes ``s3=`` (a
    boto3 S3 client) so tests and the offline preview inject their own, and exposes
    ``label_for`` (one data object -> ``ConsolidatedLabel``).
"""
