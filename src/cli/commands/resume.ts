import type { Command } from 'commander';
import { registerScheduleCommand } from './pause.js';

/** `batchctl resume [job]`: lift a pause and give the schedule(s) the config's state again. */
export function registerResume(program: Command): void {
  registerScheduleCommand(
    program,
    'resume',
    "lift a pause: the schedule of a job (or every job) gets the config's state again (schedule.enabled)",
  );
}
