variable "domain" {
  description = "The console's DNS name (LECTERN_DOMAIN). Point its A/AAAA records at the server's addresses (outputs) so Caddy can get a certificate."
  type        = string
}

variable "repository" {
  description = "Where the server clones Lectern from (LECTERN_REPOSITORY): an HTTPS git URL."
  type        = string
}

variable "ref" {
  description = "The branch or tag to deploy (LECTERN_REF)."
  type        = string
  default     = "main"
}

variable "name" {
  description = "Name of the server, its firewall and its volume."
  type        = string
  default     = "lectern"
}

variable "server_type" {
  description = "Hetzner Cloud server type. The full stack is sized for 4 vCPU / 8 GB (README \"Sizing\")."
  type        = string
  default     = "cx32"
}

variable "location" {
  description = "Hetzner Cloud location, e.g. fsn1, nbg1, hel1."
  type        = string
  default     = "fsn1"
}

variable "image" {
  description = "Operating system image: Ubuntu 24.04 or Debian 13 (deploy/cloud-init.yaml needs compose v2 from the distribution)."
  type        = string
  default     = "ubuntu-24.04"
}

variable "ssh_keys" {
  description = "Names or ids of SSH keys already in the Hetzner Cloud project, for root."
  type        = list(string)
}

variable "volume_size" {
  description = "Size in GB of the volume holding the stack's data (DATA_DIR, MongoDB, Meilisearch, certificates)."
  type        = number
  default     = 20
}

variable "ssh_source_ips" {
  description = "Addresses allowed to reach SSH (port 22). Narrow it to your own."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
}
