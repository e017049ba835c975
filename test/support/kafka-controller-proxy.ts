// A Kafka-protocol proxy in front of brokers 1..N (the real broker, or librdkafka's mock cluster, whose Metadata
// responses name controller 0 so that kafkajs cannot find the broker to send InitProducerId to). Each broker
// gets a proxy port; Metadata and FindCoordinator responses are rewritten to name the proxies (so every
// connection stays proxied) and a real broker as the controller. Everything else passes through byte for byte.
// It can also lose the acknowledgement of the next Produce request: the broker has written the records, the
// client sees its connection drop.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

const API_PRODUCE = 0;
const API_METADATA = 3;
const API_FIND_COORDINATOR = 10;

export interface ControllerProxy {
  /** host:port of the proxy of each broker, brokers 1..N in order. */
  readonly bootstrapServers: string[];
  /** The next Produce response is dropped and its connection closed (a lost acknowledgement). */
  loseNextProduceAck(): void;
  /** Produce acknowledgements lost so far. */
  readonly lostAcks: number;
  /** Requests seen, by API key (e.g. 22: InitProducerId). */
  readonly requests: ReadonlyMap<number, number>;
  stop(): Promise<void>;
}

/** `brokers`: host:port of the mock's brokers 1..N, in order (KafkaMock.bootstrapServers). */
export async function startControllerProxy(brokers: readonly string[]): Promise<ControllerProxy> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const proxyPorts = new Map<number, number>();
  let loseAck = false;
  let lostAcks = 0;
  const requests = new Map<number, number>();

  for (const [index, upstream] of brokers.entries()) {
    const [host = '', port = ''] = upstream.split(':');
    const server = createServer((client) => {
      const broker = connect({ host, port: Number(port) });
      for (const socket of [client, broker]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          broker.destroy();
        });
      }
      client.on('close', () => broker.destroy());
      broker.on('close', () => client.destroy());
      const inFlight = new Map<number, { apiKey: number; version: number }>();
      frames(client, (frame) => {
        const apiKey = frame.readInt16BE(4);
        requests.set(apiKey, (requests.get(apiKey) ?? 0) + 1);
        inFlight.set(frame.readInt32BE(8), { apiKey, version: frame.readInt16BE(6) });
        broker.write(frame);
      });
      frames(broker, (frame) => {
        const request = inFlight.get(frame.readInt32BE(4));
        inFlight.delete(frame.readInt32BE(4));
        if (request?.apiKey === API_PRODUCE && loseAck) {
          loseAck = false;
          lostAcks++;
          client.destroy();
          broker.destroy();
          return;
        }
        if (request?.apiKey === API_METADATA)
          client.write(rewriteMetadata(frame, request.version, proxyPorts));
        else if (request?.apiKey === API_FIND_COORDINATOR)
          client.write(rewriteCoordinator(frame, request.version, proxyPorts));
        else client.write(frame);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('controller proxy: no port');
    proxyPorts.set(index + 1, address.port);
    servers.push(server);
  }

  return {
    bootstrapServers: [...proxyPorts.values()].map((port) => `127.0.0.1:${port}`),
    loseNextProduceAck() {
      loseAck = true;
    },
    get lostAcks() {
      return lostAcks;
    },
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}

/** Calls `onFrame` with each whole size-prefixed Kafka frame read from `socket`. */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = 4 + pending.readInt32BE(0);
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

/** A reader over a response body (after the size prefix). */
class Reader {
  offset = 4;
  constructor(readonly buffer: Buffer) {}
  int16() {
    this.offset += 2;
    return this.buffer.readInt16BE(this.offset - 2);
  }
  int32() {
    this.offset += 4;
    return this.buffer.readInt32BE(this.offset - 4);
  }
  /** A (nullable) string, skipped. */
  string() {
    const length = this.int16();
    if (length > 0) this.offset += length;
  }
}

const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const string = (value: string) => {
  const buffer = Buffer.alloc(2 + Buffer.byteLength(value));
  buffer.writeInt16BE(Buffer.byteLength(value));
  buffer.write(value, 2);
  return buffer;
};
const sized = (parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
};

/** Metadata v0-v6 (what kafkajs speaks): brokers point at the proxies, the controller is the first broker. */
function rewriteMetadata(frame: Buffer, version: number, proxyPorts: Map<number, number>): Buffer {
  const reader = new Reader(frame);
  const head = [int32(reader.int32())]; // correlation id
  if (version >= 3) head.push(int32(reader.int32())); // throttle time
  const brokers: Buffer[] = [];
  const count = reader.int32();
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const nodeId = reader.int32();
    reader.string(); // host
    reader.int32(); // port
    const rackStart = reader.offset;
    if (version >= 1) reader.string(); // rack
    ids.push(nodeId);
    brokers.push(
      int32(nodeId),
      string('127.0.0.1'),
      int32(proxyPorts.get(nodeId) ?? 0),
      frame.subarray(rackStart, reader.offset),
    );
  }
  const middleStart = reader.offset;
  if (version >= 2) reader.string(); // cluster id
  const middle = frame.subarray(middleStart, reader.offset);
  const tail: Buffer[] = [];
  if (version >= 1) {
    reader.int32(); // the controller id the mock names (0: no such broker)
    tail.push(int32(Math.min(...ids)));
  }
  return sized([...head, int32(count), ...brokers, middle, ...tail, frame.subarray(reader.offset)]);
}

/** FindCoordinator v0-v2: the coordinator is reached through its proxy. */
function rewriteCoordinator(frame: Buffer, version: number, proxyPorts: Map<number, number>): Buffer {
  const reader = new Reader(frame);
  reader.int32(); // correlation id
  if (version >= 1) reader.int32(); // throttle time
  reader.int16(); // error code
  if (version >= 1) reader.string(); // error message
  const before = frame.subarray(4, reader.offset);
  const nodeId = reader.int32();
  reader.string(); // host
  reader.int32(); // port
  const port = proxyPorts.get(nodeId);
  if (port === undefined) return frame;
  return sized([before, int32(nodeId), string('127.0.0.1'), int32(port), frame.subarray(reader.offset)]);
}
