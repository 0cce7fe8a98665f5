import { CommanderError } from 'commander';
import { UserError } from './errors.js';
import { watchStdout } from './output/stdout.js';
import { buildProgram, type Outcome } from './program.js';

watchStdout();

/**
 * Whether `error` is one that @lockstep/core raised on purpose. Core is imported here rather than at
 * the start, where it nearly doubled the time of a start that needs none of it (--help, a flag error).
 * A LockstepError can only come from a core that is loaded already, so then this import costs
 * nothing; a core that failed to load threw nothing of its own.
 */
async function isLockstepError(error: Error): Promise<boolean> {
  try {
    const { LockstepError } = await import('@lockstep/core');
    return error instanceof LockstepError;
  } catch {
    return false;
  }
}

const outcome: Outcome = { exitCode: 0 };
const program = buildProgram(outcome);
const oneLine = (text: string): string => text.replace(/^error: /, '').trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
program.exitOverride();
for (const command of [program, ...program.commands]) {
  command.exitOverride().configureOutput({ outputError: (text) => process.stderr.write(`lockstep: ${oneLine(text)}\n`) });
}

try {
  await program.parseAsync(process.argv);
  process.exitCode = outcome.exitCode;
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof UserError || (error instanceof Error && (await isLockstepError(error)))) {
    process.stderr.write(`lockstep: ${oneLine(error.message)}\n`);
    process.exitCode = 1;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lockstep: internal error: ${oneLine(message)}; this is a bug, please report it with the command you ran\n`);
    process.exitCode = 70;
  }
}
