output "ipv4" {
  description = "Point the domain's A record here."
  value       = hcloud_server.lectern.ipv4_address
}

output "ipv6" {
  description = "Point the domain's AAAA record here."
  value       = hcloud_server.lectern.ipv6_address
}

output "next" {
  description = "What to do once DNS points at the server."
  value       = "ssh root@${hcloud_server.lectern.ipv4_address} tail -f /var/log/lectern-install.log; then https://${var.domain}"
}
