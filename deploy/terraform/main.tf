# Lectern on Hetzner Cloud: one server booted with deploy/cloud-init.yaml, a firewall letting in
# only SSH, HTTP and HTTPS, and a volume for the stack's data that outlives the server (README
# "Hetzner in minutes").
#
#   export HCLOUD_TOKEN=...            # a read-write API token of the project
#   terraform init && terraform apply -var domain=lectern.example.org \
#     -var repository=https://github.com/<owner>/lectern.git -var 'ssh_keys=["me"]'

locals {
  # The same cloud-init file as by hand, with the settings at its top filled in. Replaced rather
  # than templated: the install script's own ${...} must reach the server as they are.
  user_data = replace(
    replace(
      replace(
        replace(
          file("${path.module}/../cloud-init.yaml"),
          "LECTERN_DOMAIN=lectern.example.org", "LECTERN_DOMAIN=${var.domain}",
        ),
        "LECTERN_REPOSITORY=https://github.com/<owner>/lectern.git", "LECTERN_REPOSITORY=${var.repository}",
      ),
      "LECTERN_REF=main", "LECTERN_REF=${var.ref}",
    ),
    "LECTERN_VOLUME=\n", "LECTERN_VOLUME=${hcloud_volume.data.linux_device}\n",
  )
}

resource "hcloud_firewall" "lectern" {
  name = var.name

  rule {
    description = "SSH"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.ssh_source_ips
  }

  rule {
    description = "HTTP (ACME challenges, redirect to HTTPS)"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTPS"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTP/3"
    direction   = "in"
    protocol    = "udp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }
}

# Docker's named volumes live on it (cloud-init mounts it at /var/lib/docker/volumes), so the data
# survives replacing the server; delete_protection keeps a `terraform destroy` from taking it.
resource "hcloud_volume" "data" {
  name              = "${var.name}-data"
  size              = var.volume_size
  location          = var.location
  format            = "ext4"
  delete_protection = true
}

resource "hcloud_server" "lectern" {
  name         = var.name
  server_type  = var.server_type
  image        = var.image
  location     = var.location
  ssh_keys     = var.ssh_keys
  firewall_ids = [hcloud_firewall.lectern.id]
  user_data    = local.user_data

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  # The user data names the volume's device; changing it later must not rebuild the server.
  lifecycle {
    ignore_changes = [user_data]
  }
}

# Attached after boot; the install script waits for the device before it starts Docker.
resource "hcloud_volume_attachment" "data" {
  volume_id = hcloud_volume.data.id
  server_id = hcloud_server.lectern.id
  automount = false
}
