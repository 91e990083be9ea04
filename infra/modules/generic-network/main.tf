# The shared VPC (tooling, CI runners, VPN): each environment's VPC peers with it.

variable "name" {
  description = "Name prefix of the shared network."
  type        = string
}

variable "cidr" {
  description = "CIDR block of the shared VPC; must not overlap any environment's."
  type        = string
}

variable "peerings" {
  description = "Environment name -> {peering_connection_id, cidr}: the requests to accept and the routes back."
  type = map(object({
    peering_connection_id = string
    cidr                  = string
  }))
  default = {}
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

resource "aws_vpc" "shared" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = "${var.name}-shared" })
}

resource "aws_vpc_peering_connection_accepter" "env" {
  for_each                  = var.peerings
  vpc_peering_connection_id = each.value.peering_connection_id
  auto_accept               = true
  tags                      = merge(var.tags, { Name = "${var.name}-shared-to-${each.key}" })
}

resource "aws_route_table" "shared" {
  vpc_id = aws_vpc.shared.id
  dynamic "route" {
    for_each = var.peerings
    content {
      cidr_block                = route.value.cidr
      vpc_peering_connection_id = route.value.peering_connection_id
    }
  }
  tags = var.tags
}

# The shared VPC's main route table: every subnet added to it (tooling, VPN) routes to the
# environments through their peerings.
resource "aws_main_route_table_association" "shared" {
  vpc_id         = aws_vpc.shared.id
  route_table_id = aws_route_table.shared.id
}

resource "aws_default_security_group" "closed" {
  vpc_id = aws_vpc.shared.id
  tags   = var.tags
}

resource "aws_flow_log" "shared" {
  vpc_id               = aws_vpc.shared.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow.arn
  iam_role_arn         = aws_iam_role.flow.arn
}

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/vpc/${var.name}-shared/flow"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.logs.arn
  tags              = var.tags
}

resource "aws_kms_key" "logs" {
  description         = "${var.name} shared VPC flow logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.logs_key.json
  tags                = var.tags
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "logs_key" {
  #checkov:skip=CKV_AWS_109:a key policy's Resource * is the key itself; the account root keeps administering it
  #checkov:skip=CKV_AWS_111:a key policy's Resource * is the key itself; CloudWatch Logs may only encrypt with it
  #checkov:skip=CKV_AWS_356:a key policy's Resource * is the key itself
  statement {
    sid       = "Account"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow" {
  name = "${var.name}-shared-flow-logs"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "vpc-flow-logs.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "flow" {
  role = aws_iam_role.flow.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = "${aws_cloudwatch_log_group.flow.arn}:*"
    }]
  })
}

output "vpc_id" {
  description = "The shared VPC."
  value       = aws_vpc.shared.id
}

output "logs_kms_key_arn" {
  description = "The KMS key flow log groups are encrypted with."
  value       = aws_kms_key.logs.arn
}

output "cidr" {
  description = "The shared VPC's CIDR block (routes from the environments)."
  value       = aws_vpc.shared.cidr_block
}
