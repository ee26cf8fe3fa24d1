"""Resource type tokens the rules look at (current and ``V2`` spellings of pulumi-aws)."""

from __future__ import annotations

BUCKET = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
PUBLIC_ACCESS_BLOCK = frozenset({"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"})
OWNERSHIP = frozenset({"aws:s3/bucketOwnershipControls:BucketOwnershipControls"})
ENCRYPTION = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
VERSIONING = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
BUCKET_POLICY = frozenset({"aws:s3/bucketPolicy:BucketPolicy"})
BUCKET_ACL = frozenset({"aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"})
BUCKET_LOGGING = frozenset(
    {"aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"}
)
LIFECYCLE = frozenset(
    {
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    }
)
OBJECT = frozenset({"aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"})
WEBSITE = frozenset(
    {
        "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
        "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2",
    }
)
BUCKET_CORS = frozenset(
    {
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
    }
)

DISTRIBUTION = frozenset({"aws:cloudfront/distribution:Distribution"})
ORIGIN_ACCESS_CONTROL = frozenset({"aws:cloudfront/originAccessControl:OriginAccessControl"})
ORIGIN_ACCESS_IDENTITY = frozenset({"aws:cloudfront/originAccessIdentity:OriginAccessIdentity"})
RESPONSE_HEADERS_POLICY = frozenset({"aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"})
WEB_ACL = frozenset({"aws:wafv2/webAcl:WebAcl"})

FUNCTION = frozenset({"aws:lambda/function:Function"})
FUNCTION_URL = frozenset({"aws:lambda/functionUrl:FunctionUrl"})
LAMBDA_PERMISSION = frozenset({"aws:lambda/permission:Permission"})
LOG_GROUP = frozenset({"aws:cloudwatch/logGroup:LogGroup"})
LOG_DELIVERY_SOURCE = frozenset({"aws:cloudwatch/logDeliverySource:LogDeliverySource"})
LOG_DELIVERY = frozenset({"aws:cloudwatch/logDelivery:LogDelivery"})
METRIC_ALARM = frozenset({"aws:cloudwatch/metricAlarm:MetricAlarm"})

ROLE = frozenset({"aws:iam/role:Role"})
#: Resources whose ``policy`` input is an identity-based policy document.
IDENTITY_POLICY = frozenset(
    {
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/policy:Policy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
ROLE_POLICY = frozenset({"aws:iam/rolePolicy:RolePolicy"})
#: Resources that attach a managed policy by ARN.
POLICY_ATTACHMENT = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    }
)

KMS_KEY = frozenset({"aws:kms/key:Key"})
KMS_KEY_POLICY = frozenset({"aws:kms/keyPolicy:KeyPolicy"})

HTTP_API = frozenset({"aws:apigatewayv2/api:Api"})
API_ROUTE = frozenset({"aws:apigatewayv2/route:Route"})
API_AUTHORIZER = frozenset({"aws:apigatewayv2/authorizer:Authorizer"})
API_STAGE = frozenset({"aws:apigatewayv2/stage:Stage"})

TABLE = frozenset({"aws:dynamodb/table:Table"})
