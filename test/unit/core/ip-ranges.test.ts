import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { IpRangeIndex, parseIpAddress, parseIpRange } from '../../../services/core/ip-ranges.js';

describe('IP ranges', () => {
  it('normalizes CIDR ranges to their network address', () => {
    assert.equal(parseIpRange('192.0.2.77/24').cidr, '192.0.2.0/24');
    assert.equal(parseIpRange('2001:DB8::1/32').cidr, '2001:db8::/32');
    assert.equal(parseIpRange('198.51.100.7').cidr, '198.51.100.7/32');
  });

  it('rejects invalid ranges with INVALID_ADDRESS naming the field', () => {
    for (const bad of ['300.1.1.1/24', '10.0.0.0/33', 'example.com', '', '2001:db8::/129']) {
      assert.throws(
        () => parseIpRange(bad, 'senderIpRanges[0]'),
        (error) =>
          isRelayguardError(error) && error.code === 'INVALID_ADDRESS' && error.field === 'senderIpRanges[0]',
      );
    }
  });

  it('finds the most specific range, IPv4, IPv6 and IPv4-mapped IPv6 alike', () => {
    const index = new IpRangeIndex<string>();
    index.set(parseIpRange('10.0.0.0/8'), 'wide');
    index.set(parseIpRange('10.1.2.0/24'), 'narrow');
    index.set(parseIpRange('2001:db8::/32'), 'v6');
    assert.equal(index.lookup(parseIpAddress('10.1.2.3')), 'narrow');
    assert.equal(index.lookup(parseIpAddress('10.9.9.9')), 'wide');
    assert.equal(index.lookup(parseIpAddress('::ffff:10.1.2.3')), 'narrow');
    assert.equal(index.lookup(parseIpAddress('2001:db8:1::5')), 'v6');
    assert.equal(index.lookup(parseIpAddress('192.0.2.1')), undefined);
    index.delete(parseIpRange('10.1.2.0/24'));
    assert.equal(index.lookup(parseIpAddress('10.1.2.3')), 'wide');
  });

  it('reads every IPv4 form as ipaddr.js does (dotted decimal has a fast path), and refuses what it refuses', () => {
    const reference = (text: string) => {
      const address = ipaddr.parse(text.trim());
      return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
        ? (address as ipaddr.IPv6).toIPv4Address().toByteArray()
        : address.toByteArray();
    };
    const dotted = fc
      .array(fc.oneof(fc.nat(300), fc.stringMatching(/^[0-9]{0,4}$/)), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.join('.'));
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV4Extended(), dotted, fc.constantFrom(' 10.0.0.1 ', '01.2.3.4')),
        (text) => {
          let expected: number[] | 'invalid';
          try {
            expected = reference(text);
          } catch {
            expected = 'invalid';
          }
          let actual: number[] | 'invalid';
          try {
            actual = parseIpAddress(text);
          } catch (error) {
            assert.ok(isRelayguardError(error) && error.code === 'INVALID_ADDRESS');
            actual = 'invalid';
          }
          assert.deepEqual(actual, expected, text);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees with a linear scan on random ranges, removals and addresses', () => {
    const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, prefix]) => `${ip}/${prefix}`);
    const removed = fc.array(fc.boolean(), { maxLength: 20 });
    fc.assert(
      fc.property(fc.uniqueArray(v4, { maxLength: 20 }), removed, fc.ipV4(), (cidrs, removals, address) => {
        const index = new IpRangeIndex<string>();
        const all = cidrs.map((cidr) => parseIpRange(cidr));
        for (const range of all) index.set(range, range.cidr);
        // Several CIDRs may name one network (10.1.2.3/8 and 10.0.0.0/8): removing one removes the network.
        const gone = new Set(all.filter((_, i) => removals[i]).map((range) => range.cidr));
        for (const cidr of gone) index.delete(parseIpRange(cidr));
        const ranges = all.filter((range) => !gone.has(range.cidr));
        const bytes = parseIpAddress(address);
        const contains = (cidr: string) => {
          const [net, prefix] = cidr.split('/') as [string, string];
          const toInt = (b: number[]) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
          const mask = Number(prefix) === 0 ? 0 : (0xffffffff << (32 - Number(prefix))) >>> 0;
          return (toInt(bytes) & mask) >>> 0 === (toInt(parseIpAddress(net)) & mask) >>> 0;
        };
        const expected = ranges
          .filter((range) => contains(range.cidr))
          .sort((a, b) => b.prefix - a.prefix)[0]?.cidr;
        assert.equal(index.lookup(bytes), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
