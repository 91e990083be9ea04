# The shared network, in the shared (tooling) account with its own state: the VPC every
# environment peers with. Each environment requests its peering; list it here to accept it.

terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
  backend "s3" {
    bucket       = "gigcover-shared-terraform-state"
    key          = "gigcover/shared.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = ["333333333333"]
  default_tags {
    tags = { project = "gigcover", environment = "shared", managed-by = "terraform" }
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-central-1"
}

variable "peerings" {
  description = "Environment -> {peering_connection_id (its output), cidr}."
  type = map(object({
    peering_connection_id = string
    cidr                  = string
  }))
  default = {}
}

module "generic_network" {
  source   = "../../modules/generic-network"
  name     = "gigcover"
  cidr     = "10.10.0.0/16"
  peerings = var.peerings
}

output "vpc_id" {
  description = "The environments' shared_vpc_id."
  value       = module.generic_network.vpc_id
}
