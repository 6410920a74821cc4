import { createClient, type ProfileClient, type ProfileClientOptions } from './profile-client.js';

// Everything the default entry exports; its createProfileClient is replaced by the one below.
export * from './index.js';

// Node 20 has no global WebSocket; the package installs `ws` for it, loaded only when needed.
async function loadWs(): Promise<unknown> {
  try {
    return (await import('ws')).WebSocket;
  } catch {
    return undefined;
  }
}

/** A client with the familiar call shapes; events use the global WebSocket, else the `ws` package. */
export function createProfileClient(options: ProfileClientOptions): ProfileClient {
  return createClient(options, loadWs);
}
