import { describe, expect, it } from 'vitest';
import { cliActor, identityOf, personOf, samePerson } from '../../controller/accounts/person.js';

describe('the person behind an actor', () => {
  it('resolves sessions and CLI users to people, tokens and system accounts to no one', () => {
    expect(identityOf('user:Tanaka')).toEqual({
      actor: 'user:Tanaka',
      credential: 'session',
      person: 'tanaka',
    });
    expect(personOf('cli:tanaka/root')).toBe('tanaka');
    expect(personOf('cli:tanaka')).toBe('tanaka');
    expect(personOf('cli:root')).toBeNull();
    expect(personOf('cli:sekisho')).toBeNull();
    expect(personOf('token:api')).toBeNull();
    expect(personOf('system')).toBeNull();
    expect(personOf(null)).toBeNull();
    expect(personOf('cli:a/b/c')).toBeNull();
    expect(personOf('user:')).toBeNull();
  });

  it('compares people, and no person is never the same as anyone', () => {
    expect(samePerson('user:tanaka', 'cli:tanaka/root')).toBe(true);
    expect(samePerson('user:tanaka', 'user:sato')).toBe(false);
    expect(samePerson('token:api', 'token:api')).toBe(false);
    expect(samePerson('cli:root', 'cli:root')).toBe(false);
  });

  it('names the sudo user behind a command', () => {
    expect(cliActor('root', { SUDO_USER: 'tanaka' })).toBe('cli:tanaka/root');
    expect(cliActor('sekisho', { SUDO_USER: 'tanaka' })).toBe('cli:tanaka/sekisho');
    expect(cliActor('tanaka', {})).toBe('cli:tanaka');
    expect(cliActor('tanaka', { SUDO_USER: 'tanaka' })).toBe('cli:tanaka');
    expect(cliActor('root', { SUDO_USER: 'bad name;rm' })).toBe('cli:root');
  });
});
