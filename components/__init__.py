"""Reusable Pulumi components of pose-labeling, and the pure helpers they are built from.

Import the components from their modules (``from components.secure_asset_cdn import
SecureAssetCdn``); this package itself imports nothing, so scripts can use the pure
helpers (stack output names, template rendering) without loading Pulumi.
"""
