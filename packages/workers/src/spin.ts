// A short look before a thread sleeps in Atomics.wait: a peer usually gets there within
// microseconds, and waking a sleeping thread costs tens of them.

/** How many looks between two readings of the clock: a reading allocates a number. */
const LOOKS_PER_CLOCK = 64;

/** Looks while `waiting()` holds, for at most `ms` milliseconds. */
export function spinWhile(waiting: () => boolean, ms: number): void {
  const until = performance.now() + ms;
  for (let looks = 1; waiting(); looks++) {
    if (looks % LOOKS_PER_CLOCK === 0 && performance.now() >= until) return;
  }
}
