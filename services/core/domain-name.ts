// Domain normalization: lower case, one trailing dot stripped, IDN to ASCII (UTS #46, as browsers and MTAs
// with SMTPUTF8 do), then the RFC 1035 limits: 253 octets in all, 63 per label, LDH labels without a leading
// or trailing hyphen, at least two labels.
import { parse as parseHostname } from 'tldts';
import { toASCII, toUnicode } from 'tr46';
import { RelayguardError } from './errors.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const ASCII_ONLY = /^[\x20-\x7e]*$/;

/** Most names relayed are in normal form already: checked in one pass, they are returned as they are. */
export function normalizeDomain(input: string, field = 'domain'): string {
  return isNormalForm(input) ? input : normalizeUncached(input, field);
}

const DOT = 0x2e;
const HYPHEN = 0x2d;

/**
 * Whether `name` is already what normalization returns: lower-case LDH labels of 1-63 characters without a
 * leading or trailing hyphen, at least two, 253 characters at most, a top label that is not all digits, and no
 * A-label (xn--, whose punycode the slow path checks). Most names relayed are; one pass over the characters
 * costs less than a lookup in a memo of names (a fresh string to hash, and a cache miss in a large table).
 */
export function isNormalForm(name: string): boolean {
  const length = name.length;
  if (length === 0 || length > 253) return false;
  let labelStart = 0;
  let labels = 1;
  let digitsOnly = true;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? name.charCodeAt(i) : DOT;
    if (c === DOT) {
      const labelLength = i - labelStart;
      if (labelLength === 0 || labelLength > 63 || name.charCodeAt(i - 1) === HYPHEN) return false;
      if (name.startsWith('xn--', labelStart)) return false;
      if (i === length) break;
      labels++;
      labelStart = i + 1;
      digitsOnly = true;
    } else if (c === HYPHEN) {
      if (i === labelStart) return false;
      digitsOnly = false;
    } else if (c >= 0x61 && c <= 0x7a) {
      digitsOnly = false;
    } else if (c < 0x30 || c > 0x39) {
      return false;
    }
  }
  return labels >= 2 && !digitsOnly;
}

function normalizeUncached(input: string, field: string): string {
  let name = input.trim();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0)
    throw new RelayguardError('INVALID_DOMAIN', `${field}: empty domain name`, { field });
  // Plain ASCII needs no IDN processing, except A-labels (xn--), whose punycode must decode to a valid label.
  const ascii =
    ASCII_ONLY.test(name) && !/(^|\.)xn--/i.test(name)
      ? name.toLowerCase()
      : toASCII(name, { checkBidi: true, checkHyphens: true, checkJoiners: true, useSTD3ASCIIRules: true });
  if (ascii === null) {
    throw new RelayguardError(
      'INVALID_DOMAIN',
      `${field}: "${printable(input)}" is not a valid internationalized domain name`,
      { field },
    );
  }
  if (ascii.length > 253) {
    throw new RelayguardError(
      'INVALID_DOMAIN',
      `${field}: domain is ${ascii.length} characters long, at most 253 are allowed`,
      { field },
    );
  }
  const labels = ascii.split('.');
  if (labels.length < 2) {
    throw new RelayguardError(
      'INVALID_DOMAIN',
      `${field}: "${printable(input)}" needs at least two labels (like example.com)`,
      { field },
    );
  }
  for (const label of labels) {
    if (!LABEL.test(label)) {
      throw new RelayguardError(
        'INVALID_DOMAIN',
        `${field}: label "${printable(label)}" of "${printable(input)}" must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen`,
        { field },
      );
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    throw new RelayguardError(
      'INVALID_DOMAIN',
      `${field}: "${printable(input)}" has an all-numeric top-level label`,
      { field },
    );
  }
  return ascii;
}

/**
 * Whether a normalized domain is a public suffix (co.uk, com.br, github.io): names under it belong to many
 * owners, so nobody may register it. The Public Suffix List's ICANN and private sections, as tldts ships them.
 */
export function isPublicSuffix(ascii: string): boolean {
  return parseHostname(ascii, { allowPrivateDomains: true }).domain === null;
}

/** The Unicode form of a normalized domain, for people (`xn--bcher-kva.example` -> `bücher.example`). */
export function unicodeDomain(ascii: string): string {
  const { domain, error } = toUnicode(ascii, { checkBidi: true, checkHyphens: true, checkJoiners: true });
  return error ? ascii : domain;
}

/** The domain part of a mail address (`local@domain`, with or without angle brackets); null for the null sender. */
export function domainOfAddress(address: string, field = 'address'): string | null {
  const bare = address.trim().replace(/^<(.*)>$/, '$1');
  if (bare === '') return null;
  const at = bare.lastIndexOf('@');
  if (at <= 0 || at === bare.length - 1) {
    throw new RelayguardError(
      'INVALID_DOMAIN',
      `${field}: expected local@domain, got an address without a domain`,
      { field },
    );
  }
  return normalizeDomain(bare.slice(at + 1), field);
}

/**
 * Stand-ins for sender forms that name no domain of their own, under the reserved `.invalid` top-level domain
 * (RFC 6761: never registered, never resolved), so nobody can register or verify them. Each counts as one
 * unregistered sender domain: a flood in any of these forms is scored like a flood from one unregistered domain.
 */
export const SENDERLESS = {
  /** The null sender (`<>`, bounces) without a header From. */
  nullSender: 'null-sender.invalid',
  /** An address literal: `user@[192.0.2.1]`, `user@[IPv6:2001:db8::1]` (RFC 5321 §4.1.3). */
  addressLiteral: 'address-literal.invalid',
  /** Anything else that is not local@domain with a valid domain. */
  unparsable: 'unparsable-sender.invalid',
} as const;

/** Whether a normalized domain is reserved as never registrable (`.invalid`, where SENDERLESS lives). */
export function isReservedDomain(ascii: string): boolean {
  return ascii === 'invalid' || ascii.endsWith('.invalid');
}

/**
 * The domain a sender address is scored and decided by: its normalized domain, null for the null sender, and
 * for an address literal or an unparsable address the SENDERLESS stand-in (never an error, never nothing).
 */
export function senderDomainOf(address: string, field = 'sender'): string | null {
  try {
    return domainOfAddress(address, field);
  } catch {
    return /@\[[^\]]*\]>?\s*$/.test(address) ? SENDERLESS.addressLiteral : SENDERLESS.unparsable;
  }
}

/** Error messages quote input; cap and sanitize it so a hostile value cannot flood or forge log lines. */
export function printable(value: string): string {
  const cleaned = value.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?');
  return cleaned.length > 80 ? `${cleaned.slice(0, 77)}...` : cleaned;
}
