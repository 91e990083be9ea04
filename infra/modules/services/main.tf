# What the services use in AWS: buckets for raw platform payloads and claim attachments
# (KMS-encrypted, versioned, lifecycle-managed, never public), the ECR repository (tags
# immutable, scanned on push), the KMS key that wraps workers' data keys, one IAM role per
# Kubernetes service account (IRSA) with only what that service needs, and the roles
# Bitbucket Pipelines assumes through OpenID Connect (CI pushes images; deploy applies).

variable "name" {
  description = "Name prefix, e.g. gigcover-prod."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The EKS cluster's IRSA OIDC provider."
  type        = string
}

variable "oidc_issuer" {
  description = "The EKS cluster's OIDC issuer, without https://."
  type        = string
}

variable "namespace" {
  description = "The Kubernetes namespace the chart is installed in."
  type        = string
  default     = "gigcover"
}

variable "raw_retention_days" {
  description = "Days raw platform payloads are kept."
  type        = number
}

variable "bitbucket_oidc" {
  description = "Bitbucket's OIDC identity provider: url (without https://), audience, and the repository UUID allowed."
  type = object({
    url             = string
    audience        = string
    repository_uuid = string
    thumbprint      = string
  })
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "data" {
  #checkov:skip=CKV2_AWS_64:the default key policy (the account root) applies; each role is granted the key by its IAM policy
  description         = "${var.name} buckets"
  enable_key_rotation = true
  tags                = var.tags
}

resource "aws_kms_key" "worker_keys" {
  #checkov:skip=CKV2_AWS_64:the default key policy (the account root) applies; each role is granted the key by its IAM policy
  description         = "${var.name} wraps workers' data keys (identity.kms)"
  enable_key_rotation = true
  tags                = var.tags
}

resource "aws_kms_alias" "worker_keys" {
  name          = "alias/${var.name}-worker-keys"
  target_key_id = aws_kms_key.worker_keys.key_id
}

locals {
  buckets = {
    raw         = { expire_days = var.raw_retention_days }
    attachments = { expire_days = 3650 }
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:S3 reads and writes are recorded by the organization's CloudTrail data events, not per-bucket access logs
  #checkov:skip=CKV_AWS_144:one region by design; versioning and the lifecycle protect the data, cross-region DR is not in scope yet
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events; the services publish their own events
  #checkov:skip=CKV_AWS_21:versioning is enabled by aws_s3_bucket_versioning.this for every bucket of this for_each
  #checkov:skip=CKV_AWS_145:SSE-KMS is set by aws_s3_bucket_server_side_encryption_configuration.this for every bucket
  #checkov:skip=CKV2_AWS_6:aws_s3_bucket_public_access_block.this blocks public access for every bucket
  #checkov:skip=CKV2_AWS_61:aws_s3_bucket_lifecycle_configuration.this sets the lifecycle of every bucket
  for_each = local.buckets
  bucket   = "${var.name}-${each.key}"
  tags     = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = local.buckets[each.key].expire_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_ecr_repository" "gigcover" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.data.arn
  }
  tags = var.tags
}

# Each service account's role: trusted only by that service account, allowed only what
# its service does.
locals {
  service_permissions = {
    aggregation = [{ actions = ["s3:PutObject", "s3:GetObject"], resources = ["${aws_s3_bucket.this["raw"].arn}/*"] }]
    claims      = [{ actions = ["s3:PutObject", "s3:GetObject"], resources = ["${aws_s3_bucket.this["attachments"].arn}/*"] }]
    identity    = [{ actions = ["kms:Encrypt", "kms:Decrypt"], resources = [aws_kms_key.worker_keys.arn] }]
  }
}

data "aws_iam_policy_document" "trust" {
  for_each = local.service_permissions
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:gigcover-${each.key}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "service" {
  for_each           = local.service_permissions
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
  tags               = var.tags
}

data "aws_iam_policy_document" "service" {
  for_each = local.service_permissions
  dynamic "statement" {
    for_each = each.value
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
  statement {
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = local.service_permissions
  role     = aws_iam_role.service[each.key].id
  policy   = data.aws_iam_policy_document.service[each.key].json
}

# Bitbucket Pipelines through OpenID Connect: no long-lived keys.
resource "aws_iam_openid_connect_provider" "bitbucket" {
  url             = "https://${var.bitbucket_oidc.url}"
  client_id_list  = [var.bitbucket_oidc.audience]
  thumbprint_list = [var.bitbucket_oidc.thumbprint]
  tags            = var.tags
}

data "aws_iam_policy_document" "bitbucket_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.bitbucket.arn]
    }
    condition {
      test     = "StringLike"
      variable = "${var.bitbucket_oidc.url}:sub"
      values   = ["${var.bitbucket_oidc.repository_uuid}:*"]
    }
  }
}

resource "aws_iam_role" "ci" {
  name               = "${var.name}-bitbucket-ci"
  assume_role_policy = data.aws_iam_policy_document.bitbucket_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "ci" {
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    actions = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.gigcover.arn]
  }
}

resource "aws_iam_role_policy" "ci" {
  role   = aws_iam_role.ci.id
  policy = data.aws_iam_policy_document.ci.json
}

resource "aws_iam_role" "deploy" {
  name               = "${var.name}-bitbucket-deploy"
  assume_role_policy = data.aws_iam_policy_document.bitbucket_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "deploy" {
  #checkov:skip=CKV_AWS_274:Terraform manages the whole environment, IAM included; the role is assumable only by this repository's deployment steps through OIDC
  # Terraform manages the whole environment; the role is limited to this account and
  # assumable only from the repository's deployment steps.
  role       = aws_iam_role.deploy.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

output "role_arns" {
  description = "Each service account's IAM role (the chart's components.<name>.roleArn)."
  value       = { for k, r in aws_iam_role.service : k => r.arn }
}

output "ecr_repository_url" {
  description = "Where images are pushed."
  value       = aws_ecr_repository.gigcover.repository_url
}

output "worker_keys_kms_arn" {
  description = "identity.kms.key_id."
  value       = aws_kms_key.worker_keys.arn
}

output "bucket_names" {
  description = "The raw payload and attachment buckets."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "ci_role_arn" {
  description = "Bitbucket's image-pushing role (AWS_CI_ROLE_ARN)."
  value       = aws_iam_role.ci.arn
}

output "deploy_role_arn" {
  description = "Bitbucket's deploying role (AWS_DEPLOY_ROLE_ARN of the environment)."
  value       = aws_iam_role.deploy.arn
}
