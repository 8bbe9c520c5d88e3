import net from 'node:net';

/**
 * Whether binding HOST keeps the server to this machine: 127.0.0.0/8, ::1 or `localhost`.
 * Anything else (0.0.0.0, ::, a LAN or public address, another name) may be reached by others.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(bare) || bare.startsWith('::ffff:127.');
  return false;
}
