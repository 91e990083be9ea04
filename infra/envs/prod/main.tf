# The prod environment, in its own AWS account (222222222222), with its own remote state.

terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }
  backend "s3" {
    bucket       = "gigcover-prod-terraform-state"
    key          = "gigcover/prod.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = ["222222222222"]
  default_tags {
    tags = local.tags
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-central-1"
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
  name = "gigcover-prod"
  tags = { project = "gigcover", environment = "prod", managed-by = "terraform" }
  azs  = ["${var.region}a", "${var.region}b", "${var.region}c"]
}

module "network" {
  source           = "../../modules/network"
  name             = local.name
  cidr             = "10.30.0.0/16"
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
  node_min            = 3
  node_max            = 12
  tags                = local.tags
}

module "database" {
  source                   = "../../modules/database"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  instance_class           = "db.r7g.large"
  allocated_storage        = 200
  multi_az                 = true
  backup_retention_days    = 35
  deletion_protection      = true
  tags                     = local.tags
}

module "services" {
  source             = "../../modules/services"
  name               = local.name
  oidc_provider_arn  = module.eks.oidc_provider_arn
  oidc_issuer        = module.eks.oidc_issuer
  raw_retention_days = 400
  bitbucket_oidc     = var.bitbucket_oidc
  tags               = local.tags
}

module "opensearch" {
  source                   = "../../modules/opensearch"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = slice(module.network.private_subnet_ids, 0, 3)
  client_security_group_id = module.eks.cluster_security_group_id
  instance_type            = "r6g.large.search"
  instance_count           = 3
  dedicated_master_count   = 3
  master_role_arn          = module.services.deploy_role_arn
  oidc_provider_arn        = module.eks.oidc_provider_arn
  oidc_issuer              = module.eks.oidc_issuer
  tags                     = local.tags
}

module "frontend" {
  source          = "../../modules/frontend"
  name            = "${local.name}-app"
  aliases         = ["app.gigcover.example"]
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
  value       = module.services.role_arns
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
