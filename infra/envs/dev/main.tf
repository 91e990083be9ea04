# The dev environment, in its own AWS account (111111111111), with its own remote state.

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
    bucket       = "gigcover-dev-terraform-state"
    key          = "gigcover/dev.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = ["111111111111"]
  default_tags {
    tags = { project = "gigcover", environment = "dev", managed-by = "terraform" }
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

module "environment" {
  source              = "../../modules/environment"
  environment         = "dev"
  cidr                = "10.20.0.0/16"
  app_host            = "app.dev.gigcover.example"
  raw_retention_days  = 90
  region              = var.region
  public_access_cidrs = var.public_access_cidrs
  shared_vpc_id       = var.shared_vpc_id
  shared_cidr         = var.shared_cidr
  shared_account_id   = var.shared_account_id
  app_certificate_arn = var.app_certificate_arn
  bitbucket_oidc      = var.bitbucket_oidc
  size = {
    node_min                 = 2
    node_max                 = 4
    db_instance_class        = "db.t4g.medium"
    db_storage_gib           = 50
    opensearch_instance_type = "t3.medium.search"
    opensearch_nodes         = 1
  }
  protection = {
    multi_az                     = false
    backup_retention_days        = 7
    deletion_protection          = false
    opensearch_dedicated_masters = 0
  }
}

output "cluster_name" {
  description = "aws eks update-kubeconfig --name"
  value       = module.environment.cluster_name
}

output "service_role_arns" {
  description = "The chart's components.<name>.roleArn."
  value       = module.environment.service_role_arns
}

output "data_prepper_role_arn" {
  description = "The chart's otel.dataPrepper.roleArn."
  value       = module.environment.data_prepper_role_arn
}

output "opensearch_endpoint" {
  description = "gigcover opensearch apply --url"
  value       = module.environment.opensearch_endpoint
}

output "database_endpoint" {
  description = "The database (its credentials are in Secrets Manager)."
  value       = module.environment.database_endpoint
}

output "peering_connection_id" {
  description = "For infra/envs/shared's peerings."
  value       = module.environment.peering_connection_id
}
