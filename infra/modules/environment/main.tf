# One gigcover environment: its network (peered with the shared VPC), cluster, database,
# the services' AWS resources, OpenSearch and the app's front end. infra/envs/dev and prod
# compose it with their own sizes and protection.

variable "environment" {
  description = "dev or prod: names and tags every resource."
  type        = string
}

variable "cidr" {
  description = "The environment VPC's CIDR block."
  type        = string
}

variable "app_host" {
  description = "The worker app's host name."
  type        = string
}

variable "raw_retention_days" {
  description = "Days raw platform payloads are kept."
  type        = number
}

variable "size" {
  description = "How big the environment is."
  type = object({
    node_min                 = number
    node_max                 = number
    db_instance_class        = string
    db_storage_gib           = number
    opensearch_instance_type = string
    opensearch_nodes         = number
  })
}

variable "protection" {
  description = "How the environment is protected against loss."
  type = object({
    multi_az                     = bool
    backup_retention_days        = number
    deletion_protection          = bool
    opensearch_dedicated_masters = number
  })
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the cluster's public API endpoint."
  type        = list(string)
}

variable "shared_vpc_id" {
  description = "The shared VPC (infra/envs/shared's output vpc_id)."
  type        = string
}

variable "shared_cidr" {
  description = "The shared VPC's CIDR block."
  type        = string
  default     = "10.10.0.0/16"
}

variable "shared_account_id" {
  description = "The shared account, which accepts this environment's peering."
  type        = string
}

variable "app_certificate_arn" {
  description = "ACM certificate (us-east-1) for the app's host name."
  type        = string
}

variable "bitbucket_oidc" {
  description = "Bitbucket Pipelines' OIDC provider for this workspace and repository."
  type = object({
    url             = string
    audience        = string
    repository_uuid = string
    thumbprint      = string
  })
}

locals {
  name = "gigcover-${var.environment}"
  tags = { project = "gigcover", environment = var.environment, managed-by = "terraform" }
  azs  = ["${var.region}a", "${var.region}b", "${var.region}c"]
}

module "network" {
  source           = "../../modules/network"
  name             = local.name
  cidr             = var.cidr
  azs              = local.azs
  shared_vpc_id    = module.generic_network.vpc_id
  shared_cidr      = module.generic_network.cidr
  logs_kms_key_arn = module.generic_network.logs_kms_key_arn
  tags             = local.tags
}

module "eks" {
  source              = "../../modules/eks"
  name                = local.name
  subnet_ids          = module.network.private_subnet_ids
  public_access_cidrs = var.public_access_cidrs
  node_min            = var.size.node_min
  node_max            = var.size.node_max
  tags                = local.tags
}

module "database" {
  source                   = "../../modules/database"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  instance_class           = var.size.db_instance_class
  allocated_storage        = var.size.db_storage_gib
  multi_az                 = var.protection.multi_az
  backup_retention_days    = var.protection.backup_retention_days
  deletion_protection      = var.protection.deletion_protection
  tags                     = local.tags
}

module "services" {
  source             = "../../modules/services"
  name               = local.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_issuer        = module.eks.oidc_issuer
  raw_retention_days = var.raw_retention_days
  bitbucket_oidc     = var.bitbucket_oidc
  tags               = local.tags
}

module "opensearch" {
  source                   = "../../modules/opensearch"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = slice(module.network.private_subnet_ids, 0, var.size.opensearch_nodes)
  client_security_group_id = module.eks.cluster_security_group_id
  instance_type            = var.size.opensearch_instance_type
  instance_count           = var.size.opensearch_nodes
  dedicated_master_count   = var.protection.opensearch_dedicated_masters
  master_role_arn          = module.services.deploy_role_arn
  oidc_provider_arn        = module.eks.oidc_provider_arn
  oidc_issuer              = module.eks.oidc_issuer
  tags                     = local.tags
}

module "frontend" {
  source          = "../../modules/frontend"
  name            = "${local.name}-app"
  aliases         = [var.app_host]
  certificate_arn = var.app_certificate_arn
  tags            = local.tags
}

output "peering_connection_id" {
  description = "For infra/envs/shared's peerings."
  value       = module.network.peering_connection_id
}

output "cluster_name" {
  description = "aws eks update-kubeconfig --name"
  value       = module.eks.cluster_name
}

output "service_role_arns" {
  description = "The chart's components.<name>.roleArn."
  # The ops service's role comes with the domain it may search.
  value = merge(module.services.role_arns, { ops = module.opensearch.ops_role_arn })
}

output "data_prepper_role_arn" {
  description = "The chart's otel.dataPrepper.roleArn."
  value       = module.opensearch.data_prepper_role_arn
}

output "opensearch_endpoint" {
  description = "gigcover opensearch apply --url"
  value       = module.opensearch.endpoint
}

output "database_endpoint" {
  description = "The database (its credentials are in Secrets Manager)."
  value       = module.database.endpoint
}
