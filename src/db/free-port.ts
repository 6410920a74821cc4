import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** Linux's default range for the local ports of outgoing connections. */
const LINUX_EPHEMERAL_PORTS: PortRange = { first: 32768, last: 60999 };
/** Where random ports are drawn from: above the ports services usually claim. */
const RANDOM_PORTS: PortRange = { first: 20000, last: 65535 };

/**
 * The ports the kernel hands out to outgoing connections (Linux's default range and this machine's
 * own): a server listening there can find its port taken by any client at random.
 */
export function ephemeralPortRanges(): readonly PortRange[] {
  const ranges = [LINUX_EPHEMERAL_PORTS];
  try {
    const [first, last] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(first) && Number.isInteger(last)) ranges.push({ first, last });
  } catch {
    // not Linux: the default range stands for every system's
  }
  return ranges;
}

export function isEphemeralPort(port: number, ranges = ephemeralPortRanges()): boolean {
  return ranges.some((range) => port >= range.first && port <= range.last);
}

/** Endless random ports outside the ephemeral ranges. */
export function* randomPorts(ranges = ephemeralPortRanges()): Generator<number> {
  const allowed: number[] = [];
  for (let port = RANDOM_PORTS.first; port <= RANDOM_PORTS.last; port += 1) {
    if (!isEphemeralPort(port, ranges)) allowed.push(port);
  }
  if (allowed.length === 0) throw new Error(`every port from ${RANDOM_PORTS.first} up is ephemeral on this machine`);
  for (;;) yield allowed[Math.floor(Math.random() * allowed.length)];
}

/** Whether something could listen on `port` of `host` right now. */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The first of `candidates` outside the ephemeral ranges that nothing listens on. Another process
 * may still take it before the caller listens: a caller that can should retry with a new one.
 */
export async function findFreePort(
  candidates: Iterable<number> = randomPorts(),
  { host = '127.0.0.1', attempts = 50 }: { host?: string; attempts?: number } = {},
): Promise<number> {
  const ranges = ephemeralPortRanges();
  let tried = 0;
  for (const port of candidates) {
    if (tried >= attempts) break;
    tried += 1;
    if (!isEphemeralPort(port, ranges) && (await canListen(port, host))) return port;
  }
  throw new Error(`no free port outside the ephemeral ranges after ${tried} tries`);
}
