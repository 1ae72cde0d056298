import { describe, expect, test } from '@jest/globals';
import { kafkaClusterId, labKafka, serverProperties } from './kafka.ts';
import { labNetwork, labPorts } from './lab-config.ts';

const props = (text: string): Record<string, string> => Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('Kafka server.properties', () => {
  test('the lab broker: KRaft on loopback, each client listener advertised as itself so pods are sent to the bridge address', () => {
    const p = props(serverProperties(labKafka));
    expect(p['process.roles']).toBe('broker,controller');
    expect(p['listeners']).toBe(`LOOPBACK://127.0.0.1:${labPorts.kafka},BRIDGE://${labNetwork.bridgeAddress}:${labPorts.kafkaPods},CONTROLLER://127.0.0.1:${labPorts.kafkaController}`);
    expect(p['advertised.listeners']).toBe(`LOOPBACK://127.0.0.1:${labPorts.kafka},BRIDGE://${labNetwork.bridgeAddress}:${labPorts.kafkaPods}`);
    expect(p['controller.quorum.voters']).toBe(`1@127.0.0.1:${labPorts.kafkaController}`);
    expect(p['listener.security.protocol.map']).toBe('LOOPBACK:PLAINTEXT,BRIDGE:PLAINTEXT,CONTROLLER:PLAINTEXT');
    expect(p['inter.broker.listener.name']).toBe('LOOPBACK');
    expect(p['offsets.topic.replication.factor']).toBe('1');
  });

  test('refuses no listener, or listener names that repeat or take CONTROLLER', () => {
    expect(() => serverProperties({ ...labKafka, listeners: [] })).toThrow(/at least one client listener/);
    expect(() => serverProperties({ ...labKafka, listeners: [{ name: 'A', host: '127.0.0.1', port: 1 }, { name: 'A', host: '10.0.0.1', port: 1 }] })).toThrow(/distinct and not CONTROLLER/);
    expect(() => serverProperties({ ...labKafka, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 1 }] })).toThrow(/distinct and not CONTROLLER/);
  });
});

describe('Kafka cluster id', () => {
  test('22 URL-safe base64 characters of 16 bytes, never starting with "-" (the storage tool would take it for a flag)', () => {
    const draws = [Buffer.from('f8' + '00'.repeat(15), 'hex'), Buffer.from('01'.repeat(16), 'hex')]; // the first encodes to "-A…"
    expect(draws[0]?.toString('base64url').startsWith('-')).toBe(true);
    expect(kafkaClusterId(() => draws.shift() as Buffer)).toBe(Buffer.from('01'.repeat(16), 'hex').toString('base64url'));
    expect(kafkaClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
