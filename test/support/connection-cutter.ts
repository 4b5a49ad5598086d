// A TCP proxy between the service and its database that breaks a connection at the moment a client
// cannot read: after a statement reached the server, before its answer gets back (or before the
// statement gets there). It counts chunks, not protocol messages, so it works alike over TLS and in
// front of PgBouncer; a statement is one chunk from a connection that was idle when the cut was
// asked for (pg writes a query in one write), so connections opened later (their start-up) pass.
import net from 'node:net';

export interface ConnectionCutter {
  /** The database URL to give the service: the one proxied, with the proxy's host and port. */
  url: string;
  /**
   * Breaks the connection that sends the next statement: `after-commit` forwards it and drops the
   * server's answer (the statement ran, the service hears only the connection end); `before` drops
   * the statement itself. `how`: a FIN (the service's `pg` says "Connection terminated
   * unexpectedly") or a reset (ECONNRESET).
   */
  cutNext(when: 'after-commit' | 'before', how?: 'end' | 'reset'): void;
  /** The cuts made so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startConnectionCutter(databaseUrl: string): Promise<ConnectionCutter> {
  const target = new URL(databaseUrl);
  const open = new Set<net.Socket>();
  let armed: { when: 'after-commit' | 'before'; how: 'end' | 'reset'; idle: Set<net.Socket> } | undefined;
  let cuts = 0;

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    const pair = [client, upstream];
    let cutOnAnswer: 'end' | 'reset' | undefined;
    const cut = (how: 'end' | 'reset') => {
      cuts += 1;
      upstream.destroy();
      if (how === 'reset') client.resetAndDestroy();
      else client.destroy();
    };
    open.add(client);
    for (const socket of pair) {
      socket.on('error', () => {});
      socket.on('close', () => {
        open.delete(client);
        for (const other of pair) other.destroy();
      });
    }
    client.on('data', (chunk) => {
      if (armed?.idle.has(client)) {
        const { when, how } = armed;
        armed = undefined;
        if (when === 'before') return cut(how);
        cutOnAnswer = how;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (cutOnAnswer) return cut(cutOnAnswer);
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);

  return {
    url: url.toString(),
    cutNext(when, how = 'end') {
      armed = { when, how, idle: new Set(open) };
    },
    get cuts() {
      return cuts;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
