import { afterEach, beforeEach } from 'vitest';

/**
 * The gateway reports every failure it survives as one `console.error` line
 * starting `tessera:`. Many unit tests provoke those failures on purpose, so
 * a green run would print dozens of them. Each test's `tessera:` lines are
 * held back and printed only if the test fails, where they help; anything
 * else written to console.error prints as usual. A test that asserts on the
 * log spies on console.error itself, which still sees every line.
 */
const original = console.error;

beforeEach(({ onTestFailed }) => {
  const held: unknown[][] = [];
  console.error = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('tessera:')) held.push(args);
    else original.apply(console, args);
  };
  onTestFailed(() => {
    for (const args of held) original.apply(console, args);
  });
});

afterEach(() => {
  console.error = original;
});
