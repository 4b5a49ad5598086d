// The two probes: liveness never touches the database (an outage must not get healthy processes
// restarted); readiness asks it (an instance that cannot reach it should get no traffic).
import type { OperationHandlers } from '../http/typed-handler.ts';
import { ProblemError } from '../http/problem.ts';
import type { ReadinessCheck } from './readiness.ts';

type HealthHandlers = Pick<OperationHandlers, 'checkLiveness' | 'checkReadiness'>;

export function healthHandlers(readiness: ReadinessCheck): HealthHandlers {
  return {
    checkLiveness: (_req, res) => {
      res.json({ status: 'ok' });
    },

    checkReadiness: async (_req, res) => {
      const result = await readiness.check();
      if (!result.ready) throw new ProblemError(503, result.reason);
      res.json({ status: 'ok' });
    },
  };
}
