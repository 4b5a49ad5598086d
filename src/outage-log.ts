// How an outage of something the service depends on (the database, the key server) reaches the log:
// once when it starts, at `error`, with its cause and what clients get meanwhile; once when it ends,
// at `info`, with how long it lasted. Never once per request: an operator reads two lines, not
// thousands, and both dependencies say it in the same words.
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

export class OutageLog {
  readonly #logger: Logger;
  readonly #dependency: string;
  readonly #meanwhile: string;
  readonly #clock: Clock;
  /** When the current outage began; undefined while the dependency answers. */
  #downSince: number | undefined;

  /**
   * `dependency` names it at the start of each line ("database"); `meanwhile` says what clients get
   * until it is back ("task calls answer 503 until it is back"). Only intervals matter, so the
   * default clock is monotonic: a wall-clock step cannot make an outage last a negative time.
   */
  constructor(logger: Logger, dependency: string, meanwhile: string, clock: Clock = () => performance.now()) {
    this.#logger = logger;
    this.#dependency = dependency;
    this.#meanwhile = meanwhile;
    this.#clock = clock;
  }

  /** The dependency failed; logged if this starts an outage. */
  failed(cause: string): void {
    if (this.#downSince !== undefined) return;
    this.#downSince = this.#clock();
    this.#logger.error({ cause }, `${this.#dependency}: unavailable (${cause}); ${this.#meanwhile}`);
  }

  /** The dependency answered; logged if this ends an outage. */
  answered(): void {
    if (this.#downSince === undefined) return;
    const seconds = Math.round((this.#clock() - this.#downSince) / 100) / 10;
    this.#downSince = undefined;
    this.#logger.info({ downSeconds: seconds }, `${this.#dependency}: reachable again after ${seconds} s`);
  }
}
