// Time as a dependency: the rate limiter and the readiness cache read it through a Clock, so tests
// can move it instead of sleeping or racing the wall clock's window boundaries.

/** Milliseconds, like Date.now(). */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
