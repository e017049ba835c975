// No sender form evades scoring (issue 14, reproduction 5): whatever a relay reports as the envelope sender, the
// message is scored under some domain, and that domain is registered only when it (or a parent that matches
// subdomains) is the tenant's verified accepted domain — in any spelling of case, trailing dot or IDN.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classify, isRegistered, validateMessage } from '../../../services/core/classify.js';
import { TenantDirectory } from '../../../services/core/directory.js';
import { normalizeDomain, SENDERLESS, senderDomainOf } from '../../../services/core/domain-name.js';
import { acceptedDomainAdded, messageSubmitted } from '../../support/builders.js';

function directoryWith(domain: string, matchSubdomains: boolean): TenantDirectory {
  const directory = new TenantDirectory();
  directory.apply(
    acceptedDomainAdded('acme', domain, {
      matchSubdomains,
      verification: { method: 'OPERATOR', verifiedAt: 1, actor: 'ops' },
    }),
  );
  return directory;
}

/** Senders as relays report them: real addresses, odd ones, and junk. */
const senders = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((address) => `<${address.toUpperCase()}.>`),
  fc.ipV4().map((ip) => `user@[${ip}]`),
  fc.ipV6().map((ip) => `user@[IPv6:${ip}]`),
  fc.constantFrom(
    '',
    '<>',
    'no-domain',
    'x@',
    '@',
    'a@b',
    'x@-bad-.example',
    'x@bücher.example',
    'x@xn--zz.example',
  ),
  fc.string({ maxLength: 40 }),
);

/** The domain a null-sender message with this header From domain is scored under. */
const scoredBounce = (headerFromDomain: string | null) =>
  validateMessage(
    messageSubmitted({ tenantId: 'acme', occurredAt: 1_000, envelopeSenderDomain: null, headerFromDomain }),
  ).senderDomain;

describe('sender forms', () => {
  it('scores every sender under a normalized domain: only the null sender has none, and it gets a stand-in', () => {
    fc.assert(
      fc.property(senders, (sender) => {
        const domain = senderDomainOf(sender);
        if (domain === null) {
          assert.match(sender.trim(), /^(<>)?$/, 'only the null sender has no domain');
        } else {
          assert.equal(normalizeDomain(domain), domain, 'a normalized name');
        }
        const event = messageSubmitted({
          tenantId: 'acme',
          occurredAt: 1_000,
          envelopeSenderDomain: domain,
          headerFromDomain: null,
        });
        const scored = validateMessage(event).senderDomain;
        assert.equal(scored, domain ?? SENDERLESS.nullSender);
        // With no accepted domain, every form counts toward U on the on-premises path.
        assert.equal(
          classify(scored, 'ONPREM', isRegistered(new TenantDirectory(), 'acme', scored!)),
          'unregistered',
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('registers every spelling of an accepted domain and its subdomains, and no look-alike', () => {
    const directory = directoryWith('xn--bcher-kva.example', true);
    const registered = (sender: string) => {
      const domain = senderDomainOf(sender);
      return domain !== null && isRegistered(directory, 'acme', domain);
    };
    for (const sender of [
      'a@bücher.example',
      'a@BÜCHER.EXAMPLE.',
      'a@xn--bcher-kva.example',
      '<a@Mail.Bücher.Example>',
      'a@deep.mail.xn--bcher-kva.example',
    ]) {
      assert.equal(registered(sender), true, sender);
    }
    for (const sender of [
      'a@bücher.example.evil.example',
      'a@evilbücher.example',
      'a@xn--bcher-kva.example-evil.example',
      'a@[192.0.2.1]',
      'bücher.example',
      'a@bücher..example',
      '',
    ]) {
      assert.equal(registered(sender), false, sender);
    }
    const exact = directoryWith('acme.example', false);
    assert.equal(isRegistered(exact, 'acme', senderDomainOf('a@mail.acme.example')!), false);
  });

  it('keeps the stand-ins apart: an address literal, junk and the null sender each count as one domain', () => {
    assert.equal(senderDomainOf('user@[192.0.2.1]'), SENDERLESS.addressLiteral);
    assert.equal(senderDomainOf('<user@[IPv6:2001:db8::1]>'), SENDERLESS.addressLiteral);
    assert.equal(senderDomainOf('no-domain'), SENDERLESS.unparsable);
    assert.equal(senderDomainOf('<>'), null);
    assert.equal(scoredBounce(null), SENDERLESS.nullSender);
    assert.equal(
      scoredBounce('Acme.Example.'),
      'acme.example',
      'a bounce is scored by its header From when it has one',
    );
  });
});
