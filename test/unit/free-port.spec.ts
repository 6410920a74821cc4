import net from 'node:net';
import { canListen, findFreePort, isEphemeralPort, randomPorts } from '../../src/db/free-port';

const inLinuxEphemeralRange = (port: number) => port >= 32768 && port <= 60999;

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('a port something listens on is passed over for the next candidate', async () => {
  const taken = await findFreePort();
  const server = await listenOn(taken);
  try {
    expect(await canListen(taken)).toBe(false);
    const free = await findFreePort();
    expect(await findFreePort([taken, free])).toBe(free);
    await expect(findFreePort([taken])).rejects.toThrow(/no free port/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('never a port of the ephemeral range, even when offered one', async () => {
  const free = await findFreePort();
  expect(await findFreePort([32768, 45000, 60999, free])).toBe(free);
  for (let round = 0; round < 20; round += 1) {
    const port = await findFreePort();
    expect(inLinuxEphemeralRange(port) || isEphemeralPort(port)).toBe(false);
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(port).toBeLessThanOrEqual(65535);
  }
  const drawn = randomPorts();
  for (let round = 0; round < 10_000; round += 1) {
    expect(inLinuxEphemeralRange(drawn.next().value as number)).toBe(false);
  }
});

test("a machine's own ephemeral range is avoided too", () => {
  const drawn = randomPorts([
    { first: 32768, last: 60999 },
    { first: 20000, last: 29999 },
  ]);
  for (let round = 0; round < 10_000; round += 1) {
    const port = drawn.next().value as number;
    expect((port >= 30000 && port <= 32767) || port >= 61000).toBe(true);
  }
});
