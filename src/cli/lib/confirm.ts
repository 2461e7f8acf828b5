/** The terminal confirmation of the commands that destroy or stop something (`down`, `stop`). */
import { Interrupted } from '../../base/errors.js';

/**
 * Print the lines, then ask `question [y/N]` on the terminal; only `y`/`yes` goes ahead. Ctrl-C is an
 * interrupt (exit 130, saying `untouched`: "nothing was deleted"); Ctrl-D, the end of input, answers no.
 */
export async function askYesNo(lines: string[], question: string, untouched: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  for (const l of lines) process.stderr.write(l + '\n');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const interrupted = () => new Interrupted(untouched);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      // Ctrl-C at the prompt arrives as a keypress (the terminal is in raw mode), not as a signal.
      rl.once('SIGINT', () => reject(interrupted()));
      // Without an answer, a pending question would never settle and Node would exit 13.
      rl.once('close', () => resolve(''));
      rl.question(`${question} [y/N] `).then(resolve, (err: unknown) => {
        reject((err as { code?: string }).code === 'ABORT_ERR' ? interrupted() : err);
      });
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
