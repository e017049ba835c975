// How hard a configured API token is to guess, estimated the way password checkers do (after zxcvbn, much
// simplified): a token's length says little when it is `passwordpassword` or `aaaaaaaaaaaaaaaa`. Repeats of what
// came before, runs like `abcdef` or `0123`, and words every guesser tries first count as one symbol each; the
// rest counts as symbols drawn from the character classes the token uses.

/** Tokens below this many estimated bits are refused: `openssl rand -hex 8` gives 64, the advice is `-hex 24`. */
export const MIN_TOKEN_BITS = 56;

/** Words a guesser tries first, lower-case; a token made of them is no secret. */
const COMMON_WORDS = [
  'password',
  'passwd',
  'secret',
  'token',
  'admin',
  'changeme',
  'letmein',
  'qwerty',
  'welcome',
  'default',
  'relayguard',
];

/** A run of at least this many characters each one up or down from the one before (`abcd`, `4321`). */
const MIN_RUN = 3;
/** A substring at least this long seen earlier in the token is a repeat. */
const MIN_REPEAT = 3;

/** The estimated bits of entropy of a token. */
export function tokenBits(token: string): number {
  let symbols = 0;
  let at = 0;
  const lower = token.toLowerCase();
  while (at < token.length) {
    const skip = commonWordAt(lower, at) || runAt(token, at) || repeatAt(token, at);
    symbols++;
    at += Math.max(skip, 1);
  }
  return symbols * Math.log2(alphabetSize(token));
}

export function isGuessableToken(token: string): boolean {
  return tokenBits(token) < MIN_TOKEN_BITS;
}

function commonWordAt(lower: string, at: number): number {
  return COMMON_WORDS.find((word) => lower.startsWith(word, at))?.length ?? 0;
}

function runAt(token: string, at: number): number {
  const step = token.charCodeAt(at + 1) - token.charCodeAt(at);
  if (step !== 1 && step !== -1) return 0;
  let end = at + 1;
  while (end + 1 < token.length && token.charCodeAt(end + 1) - token.charCodeAt(end) === step) end++;
  return end - at + 1 >= MIN_RUN ? end - at + 1 : 0;
}

/** The longest substring starting here that already occurred earlier (overlapping, so `aaaa` repeats). */
function repeatAt(token: string, at: number): number {
  let longest = 0;
  for (let from = 0; from < at; from++) {
    let length = 0;
    while (at + length < token.length && token[from + length] === token[at + length]) length++;
    longest = Math.max(longest, length);
  }
  return longest >= MIN_REPEAT ? longest : 0;
}

function alphabetSize(token: string): number {
  let size = 0;
  if (/[a-z]/.test(token)) size += 26;
  if (/[A-Z]/.test(token)) size += 26;
  if (/[0-9]/.test(token)) size += 10;
  if (/[^a-zA-Z0-9]/.test(token)) size += 33;
  return Math.max(size, 2);
}
