# The OpenSearch domain the telemetry pipeline writes to: in the VPC's private subnets,
# encrypted at rest (KMS) and in transit (TLS 1.2+, node to node), fine-grained access
# control with IAM as the master, slow and error logs published to CloudWatch.

variable "name" {
  description = "Domain name, e.g. gigcover-prod."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (as many as zones)."
  type        = list(string)
}

variable "vpc_id" {
  description = "The environment's VPC."
  type        = string
}

variable "client_security_group_id" {
  description = "Who may reach the domain (the EKS cluster)."
  type        = string
}

variable "instance_type" {
  description = "Data node instance type."
  type        = string
}

variable "instance_count" {
  description = "Data nodes (a multiple of the zones)."
  type        = number
}

variable "dedicated_master_count" {
  description = "Dedicated master nodes: 3 in production, 0 for a one-node domain."
  type        = number
  validation {
    condition     = contains([0, 3, 5], var.dedicated_master_count)
    error_message = "0, 3 or 5."
  }
}

variable "master_role_arn" {
  description = "The IAM role that administers the domain (the deploy role)."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The EKS cluster's IRSA OIDC provider (Data Prepper's role trusts it)."
  type        = string
}

variable "oidc_issuer" {
  description = "The EKS cluster's OIDC issuer, without https://."
  type        = string
}

variable "namespace" {
  description = "The namespace the chart (and its Data Prepper) is installed in."
  type        = string
  default     = "gigcover"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

resource "aws_kms_key" "domain" {
  #checkov:skip=CKV2_AWS_64:the default key policy (the account root) applies; each role is granted the key by its IAM policy
  description         = "${var.name} OpenSearch"
  enable_key_rotation = true
  tags                = var.tags
}

resource "aws_security_group" "domain" {
  name        = "${var.name}-opensearch"
  description = "HTTPS from the cluster only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "HTTPS from the EKS cluster"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = [var.client_security_group_id]
  }
  tags = var.tags
}

resource "aws_cloudwatch_log_group" "domain" {
  for_each          = toset(["index-slow", "search-slow", "errors", "audit"])
  name              = "/opensearch/${var.name}/${each.key}"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.domain.arn
  tags              = var.tags
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV_AWS_318:dedicated masters are a variable: three in prod, none in the one-node dev domain
  #checkov:skip=CKV2_AWS_59:dedicated masters are a variable: three in prod, none in the one-node dev domain
  #checkov:skip=CKV_AWS_317:audit logs are published (AUDIT_LOGS below) once fine-grained access control is on
  domain_name    = var.name
  engine_version = "OpenSearch_2.15"
  cluster_config {
    instance_type            = var.instance_type
    instance_count           = var.instance_count
    zone_awareness_enabled   = length(var.subnet_ids) > 1
    dedicated_master_enabled = var.dedicated_master_count > 0
    dedicated_master_count   = var.dedicated_master_count > 0 ? var.dedicated_master_count : null
    dedicated_master_type    = var.dedicated_master_count > 0 ? var.instance_type : null
    dynamic "zone_awareness_config" {
      for_each = length(var.subnet_ids) > 1 ? [1] : []
      content {
        availability_zone_count = length(var.subnet_ids)
      }
    }
  }
  vpc_options {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.domain.id]
  }
  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = 100
  }
  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.domain.arn
  }
  node_to_node_encryption {
    enabled = true
  }
  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }
  advanced_security_options {
    enabled                        = true
    internal_user_database_enabled = false
    master_user_options {
      master_user_arn = var.master_role_arn
    }
  }
  dynamic "log_publishing_options" {
    for_each = { INDEX_SLOW_LOGS = "index-slow", SEARCH_SLOW_LOGS = "search-slow", ES_APPLICATION_LOGS = "errors", AUDIT_LOGS = "audit" }
    content {
      log_type                 = log_publishing_options.key
      cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain[log_publishing_options.value].arn
    }
  }
  tags = var.tags
}

# The service accounts that use the domain, each with its own role (IRSA):
# - Data Prepper writes the otel-* indices (the domain's security plugin maps its role to
#   one that may, done once with the security API);
# - the ops service evaluates the SLOs from the indexed spans and metric points
#   (ops.opensearch): it may only search those indices.
locals {
  domain_roles = {
    data_prepper = {
      name            = "data-prepper"
      service_account = "gigcover-data-prepper"
      actions         = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
      resources       = ["${aws_opensearch_domain.this.arn}/*"]
    }
    ops_reader = {
      name            = "ops-slo-reader"
      service_account = "gigcover-ops"
      actions         = ["es:ESHttpGet", "es:ESHttpPost"]
      resources = [
        "${aws_opensearch_domain.this.arn}/otel-v1-apm-span-*/_search",
        "${aws_opensearch_domain.this.arn}/metrics-otel-v1-*/_search",
      ]
    }
  }
}

resource "aws_iam_role" "domain" {
  for_each = local.domain_roles
  name     = "${var.name}-${each.value.name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.oidc_issuer}:sub" = "system:serviceaccount:${var.namespace}:${each.value.service_account}"
          "${var.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "domain" {
  for_each = local.domain_roles
  role     = aws_iam_role.domain[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = each.value.actions
      Resource = each.value.resources
    }]
  })
}

# Data Prepper's role and policy existed before the ops role; keep them in the state.
moved {
  from = aws_iam_role.data_prepper
  to   = aws_iam_role.domain["data_prepper"]
}

moved {
  from = aws_iam_role_policy.data_prepper
  to   = aws_iam_role_policy.domain["data_prepper"]
}

output "ops_role_arn" {
  description = "The chart's components.ops.roleArn (the SLO source reads the domain)."
  value       = aws_iam_role.domain["ops_reader"].arn
}

output "data_prepper_role_arn" {
  description = "The chart's otel.dataPrepper.roleArn."
  value       = aws_iam_role.domain["data_prepper"].arn
}

output "endpoint" {
  description = "https endpoint (gigcover opensearch apply --url, Data Prepper's sink)."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "dashboards_endpoint" {
  description = "OpenSearch Dashboards (gigcover opensearch apply --dashboards-url)."
  value       = "https://${aws_opensearch_domain.this.dashboard_endpoint}"
}
