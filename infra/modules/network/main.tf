# One environment's network: a VPC over three availability zones with public subnets
# (load balancers, NAT) and private subnets (nodes, database, OpenSearch), NAT per zone,
# gateway and interface endpoints, and peering with the shared VPC.

variable "name" {
  description = "Name prefix, e.g. gigcover-prod."
  type        = string
}

variable "cidr" {
  description = "The environment VPC's CIDR block (a /16 is cut into /20 subnets)."
  type        = string
}

variable "azs" {
  description = "Three availability zones."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 3
    error_message = "Three availability zones."
  }
}

variable "shared_vpc_id" {
  description = "The shared VPC to peer with (generic-network, in the shared account)."
  type        = string
}

variable "shared_account_id" {
  description = "The AWS account of the shared VPC; it accepts the peering (infra/envs/shared)."
  type        = string
}

variable "shared_cidr" {
  description = "The shared VPC's CIDR block."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

resource "aws_default_security_group" "closed" {
  vpc_id = aws_vpc.this.id
  tags   = var.tags
}

resource "aws_subnet" "public" {
  count             = 3
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.cidr, 4, count.index)
  availability_zone = var.azs[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-public-${var.azs[count.index]}", "kubernetes.io/role/elb" = "1" })
}

resource "aws_subnet" "private" {
  count             = 3
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.cidr, 4, count.index + 8)
  availability_zone = var.azs[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-private-${var.azs[count.index]}", "kubernetes.io/role/internal-elb" = "1" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = var.tags
}

resource "aws_eip" "nat" {
  count  = 3
  domain = "vpc"
  tags   = var.tags
}

resource "aws_nat_gateway" "this" {
  count         = 3
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(var.tags, { Name = "${var.name}-nat-${var.azs[count.index]}" })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
  tags = var.tags
}

resource "aws_route_table_association" "public" {
  count          = 3
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  #checkov:skip=CKV2_AWS_44:0.0.0.0/0 goes to the NAT gateway; the peering route carries only the shared VPC's CIDR
  count  = 3
  vpc_id = aws_vpc.this.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this[count.index].id
  }
  route {
    cidr_block                = var.shared_cidr
    vpc_peering_connection_id = aws_vpc_peering_connection.shared.id
  }
  tags = var.tags
}

resource "aws_route_table_association" "private" {
  count          = 3
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Requested here, accepted by the shared account (infra/envs/shared lists the requests).
resource "aws_vpc_peering_connection" "shared" {
  vpc_id        = aws_vpc.this.id
  peer_vpc_id   = var.shared_vpc_id
  peer_owner_id = var.shared_account_id
  tags          = merge(var.tags, { Name = "${var.name}-to-shared" })
}

data "aws_region" "current" {}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
  tags              = var.tags
}

module "flow_logs" {
  source = "../flow-logs"
  name   = var.name
  vpc_id = aws_vpc.this.id
  tags   = var.tags
}

output "vpc_id" {
  description = "The environment's VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone (nodes, database, OpenSearch)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone (load balancers)."
  value       = aws_subnet.public[*].id
}

output "peering_connection_id" {
  description = "The peering request the shared account accepts."
  value       = aws_vpc_peering_connection.shared.id
}

output "cidr" {
  description = "The VPC's CIDR block."
  value       = aws_vpc.this.cidr_block
}
