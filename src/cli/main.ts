import { Command, CommanderError } from 'commander';
import { registerEmulate } from './emulate-command.js';
import { isEntry } from './entry.js';
import { exitStatusOf, originalErrorText } from './errors.js';
import { CLAP_STYLE_HELP } from './help.js';
import { registerPeer } from './peer-command.js';
import { registerSimulate } from './simulate-command.js';
import { packageVersion } from './version.js';

/** Once the command is done, whatever still holds the event loop gets this long. */
const EXIT_GRACE_MS = 2_000;

/**
 * The `naive-peer` program. The root command is the original's peer; subcommands are registered
 * after the shared settings so that `program.command()` makes them inherit help layout, error
 * wording and exit handling. Options are positional: `naive-peer emulate -p 1` is the
 * subcommand's `-p`.
 */
export function createProgram(): Command {
  const program = new Command('naive-peer')
    .version(`naive-peer ${packageVersion()}`, '-V, --version', 'Print version')
    .helpOption('-h, --help', 'Print help')
    .configureHelp(CLAP_STYLE_HELP)
    .configureOutput({ outputError: (text, write) => write(originalErrorText(text)) })
    .exitOverride()
    .enablePositionalOptions();
  registerPeer(program);
  registerEmulate(program);
  registerSimulate(program);
  return program;
}

/** Parses `argv` and runs the chosen command; sets `process.exitCode`. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    process.exitCode = exitStatusOf(error);
  }
}

/** Runs the CLI as the whole process: the launcher calls this. */
export function run(): void {
  main()
    .catch((error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => setTimeout(() => process.exit(), EXIT_GRACE_MS).unref());
}

if (isEntry(import.meta.url)) run();
