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

module "flow_logs" {
  source = "../flow-logs"
  name   = "${var.name}-shared"
  vpc_id = aws_vpc.shared.id
  tags   = var.tags
}

output "vpc_id" {
  description = "The shared VPC."
  value       = aws_vpc.shared.id
}

output "cidr" {
  description = "The shared VPC's CIDR block (routes from the environments)."
  value       = aws_vpc.shared.cidr_block
}
