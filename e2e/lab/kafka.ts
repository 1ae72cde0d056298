// Apache Kafka in KRaft mode (one node, broker and controller in one JVM), from the jars and JRE
// e2e/lab/kafka-build/build.sh installs. The lab runs one (`lab up`, stopped by `lab down` by pid);
// tests of the prediction store start their own on loopback with the same functions.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { labNetwork, labPaths, labPorts, repoRoot } from './lab-config.ts';
import { accepting } from './processes.ts';

export interface KafkaListener {
  /** Listener name (upper case), e.g. LOOPBACK or BRIDGE. */
  name: string;
  host: string;
  port: number;
}

export interface KafkaLayout {
  /** The log directory (formatted on first start). */
  dataDir: string;
  /** Client listeners, each advertised as itself; the first is also the brokers' own. */
  listeners: readonly KafkaListener[];
  /** The KRaft controller's port, on 127.0.0.1. */
  controllerPort: number;
}

/** server.properties for a single-node KRaft cluster: every listener plaintext, replication 1. */
export function serverProperties(l: KafkaLayout): string {
  if (l.listeners.length === 0) throw new Error('kafka: at least one client listener is needed');
  const names = l.listeners.map((x) => x.name);
  if (new Set([...names, 'CONTROLLER']).size !== names.length + 1) throw new Error(`kafka: listener names must be distinct and not CONTROLLER, got ${names.join(', ')}`);
  const first = l.listeners[0] as KafkaListener;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${l.controllerPort}`,
    `listeners=${[...l.listeners.map((x) => `${x.name}://${x.host}:${x.port}`), `CONTROLLER://127.0.0.1:${l.controllerPort}`].join(',')}`,
    `advertised.listeners=${l.listeners.map((x) => `${x.name}://${x.host}:${x.port}`).join(',')}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${first.name}`,
    `listener.security.protocol.map=${[...names, 'CONTROLLER'].map((n) => `${n}:PLAINTEXT`).join(',')}`,
    `log.dirs=${l.dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

/**
 * The lab's broker: one port on loopback (host-side clients, tests) and another on the bridge's
 * host address (Kafka refuses two IPv4 listeners on one port), each advertised as itself, so that
 * pods (runc containers in their own network namespaces on the lab bridge) reach it and are sent
 * back to an address they can reach.
 */
export const labKafka: KafkaLayout = {
  dataDir: labPaths.kafkaData,
  listeners: [
    { name: 'LOOPBACK', host: '127.0.0.1', port: labPorts.kafka },
    { name: 'BRIDGE', host: labNetwork.bridgeAddress, port: labPorts.kafkaPods },
  ],
  controllerPort: labPorts.kafkaController,
};
/** Bootstrap addresses of the lab's broker: from the host, and from pods. */
export const labKafkaBootstrap = { host: `127.0.0.1:${labPorts.kafka}`, pods: `${labNetwork.bridgeAddress}:${labPorts.kafkaPods}` } as const;

/** The cached Kafka installation (jars under libs/); installs it the first time. */
export function kafkaHome(): string {
  const out = execFileSync('bash', [path.join(repoRoot, 'e2e/lab/kafka-build/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop() ?? '';
}

/**
 * A cluster id: 16 random bytes in URL-safe base64 (what `kafka-storage random-uuid` prints); like
 * Kafka's own, never one starting with "-", which the storage tool would read as a flag.
 */
export function kafkaClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A small heap and the serial collector: one broker on a 2-core machine shared with the lab. */
const JVM_FLAGS = ['-Xms64m', '-Xmx384m', '-XX:+UseSerialGC', '-Djava.awt.headless=true'];

/** Writes server.properties and formats the storage (once); returns the java command that runs the broker. */
export function prepareKafka(home: string, l: KafkaLayout): { command: string; args: string[]; propertiesFile: string } {
  fs.mkdirSync(l.dataDir, { recursive: true });
  const propertiesFile = path.join(path.dirname(l.dataDir), `${path.basename(l.dataDir)}.properties`);
  fs.writeFileSync(propertiesFile, serverProperties(l));
  const classpath = `${home}/libs/*`;
  if (!fs.existsSync(path.join(l.dataDir, 'meta.properties'))) {
    execFileSync('java', [...JVM_FLAGS, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', kafkaClusterId(), '-c', propertiesFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return { command: 'java', args: [...JVM_FLAGS, '-cp', classpath, 'kafka.Kafka', propertiesFile], propertiesFile };
}

/** Waits until every client listener accepts connections (the broker opens them once it is ready). */
export async function waitForKafka(l: KafkaLayout, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await Promise.all(l.listeners.map((x) => accepting(x.host, x.port, 1000)));
    if (ready.every(Boolean)) return;
    if (!alive()) throw new Error('kafka: the broker exited while starting');
    if (Date.now() > deadline) throw new Error(`kafka: not accepting on ${l.listeners.map((x) => `${x.host}:${x.port}`).join(', ')} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

export interface OwnKafka {
  /** host:port of the loopback listener. */
  bootstrap: string;
  pid: number;
  child: ChildProcess;
  /** SIGKILL by pid, and its directory (data and log) removed. */
  stop(): Promise<void>;
}

/**
 * A broker of a test's own on 127.0.0.1 (free ports), with its data and log under `dir` (a fresh
 * directory the broker owns: stop() removes it); ready when this resolves.
 */
export async function startOwnKafka(dir: string): Promise<OwnKafka> {
  const [port = 0, controllerPort = 0] = await freePorts(2);
  const layout: KafkaLayout = { dataDir: path.join(dir, 'kafka-data'), listeners: [{ name: 'LOOPBACK', host: '127.0.0.1', port }], controllerPort };
  const { command, args } = prepareKafka(kafkaHome(), layout);
  const out = fs.openSync(path.join(dir, 'kafka.log'), 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      child.kill('SIGKILL'); // also ends a broker a test stopped (SIGSTOP)
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForKafka(layout, 120_000, () => !exited);
  } catch (err) {
    const log = fs.readFileSync(path.join(dir, 'kafka.log'), 'utf8').slice(-2000);
    await stop();
    throw new Error(`${(err as Error).message}; its log: ${log}`, { cause: err });
  }
  return { bootstrap: `127.0.0.1:${port}`, pid: child.pid as number, child, stop };
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface TopicMessage {
  key: string;
  value: string;
}

/**
 * Reads `topic` from its start (a fresh consumer group) until `enough` holds for what was read, or
 * fails after `timeoutMs` saying how much it had.
 */
export async function readTopic(bootstrap: string, topic: string, enough: (msgs: TopicMessage[]) => boolean, timeoutMs = 60_000): Promise<TopicMessage[]> {
  const consumer = new Consumer({
    groupId: `read-${topic}-${randomBytes(6).toString('hex')}`,
    clientId: 'onnxop-topic-reader',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  });
  const msgs: TopicMessage[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    stream.on('data', (m: { key: string; value: string }) => msgs.push({ key: m.key, value: m.value }));
    try {
      const deadline = Date.now() + timeoutMs;
      while (!enough(msgs)) {
        if (Date.now() > deadline) throw new Error(`kafka: ${topic} did not have the records expected after ${timeoutMs} ms (read ${msgs.length})`);
        await sleep(100);
      }
    } finally {
      await stream.close();
    }
    return msgs;
  } finally {
    await consumer.close(true);
  }
}
