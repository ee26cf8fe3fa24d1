"""Ground Truth Lambda handlers and the annotation model they share with the scripts.

Deployed as-is inside the Lambda archive, so everything here uses only the
standard library and boto3 (both present in the Lambda Python runtime).
"""
