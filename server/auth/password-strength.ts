import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

// zxcvbn-ts estimates how many guesses a cracker needs, knowing common passwords, names, words,
// keyboard walks, dates, repeats and l33t: a length rule alone accepts `password1234` and twelve
// spaces. Score 3 is "safely unguessable: moderate protection from offline slow-hash attacks"
// (≥ 10^8 guesses), enough behind Argon2id and the login throttle.
const MIN_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;

function zxcvbn(): ZxcvbnFactory {
  // Built on first use: the dictionaries take a few hundred milliseconds to index.
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  });
  return estimator;
}

/** Who the password belongs to: their own email, name and organisation are easy guesses too. */
export interface PasswordOwner {
  email: string;
  name?: string | undefined;
  organisation?: string | undefined;
}

/** Why a password is too easy to guess, in words for its owner, or null when it is strong enough. */
export function passwordWeakness(password: string, owner: PasswordOwner): string | null {
  if (password.trim().length === 0) return 'is only spaces';
  const inputs = [owner.email, owner.email.split('@')[0] ?? '', owner.name ?? '', owner.organisation ?? '', 'lectern']
    .flatMap((s) => [s, ...s.split(/[\s@._-]+/)])
    .filter((s) => s.length >= 3);
  const result = zxcvbn().check(password, inputs);
  if (result.score >= MIN_SCORE) return null;
  const { warning, suggestions } = result.feedback;
  const why = warning ? ` (${warning.replace(/\.$/, '').toLowerCase()})` : '';
  const hint = suggestions[0] ?? 'Add a few more uncommon words.';
  return `is too easy to guess${why}. ${hint}`;
}
