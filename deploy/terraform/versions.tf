terraform {
  required_version = ">= 1.5"
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.49"
    }
  }
}

# The API token comes from the environment (HCLOUD_TOKEN), never from a file in this folder.
provider "hcloud" {}
