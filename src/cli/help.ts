import { type Command, Help, type HelpConfiguration, type Option } from 'commander';

/**
 * Commander's help laid out as the original's (clap's): description first, `[OPTIONS]` in the
 * usage, subcommands by name alone, long-only flags indented under the long flags of the others, `[default: X]`, help then
 * version last, and no wrapping. Subcommands made with `program.command()` inherit it.
 */
export const CLAP_STYLE_HELP: HelpConfiguration = {
  helpWidth: Number.MAX_SAFE_INTEGER,
  commandDescription: () => '',
  formatHelp(this: Help, cmd: Command, helper: Help): string {
    const body = Help.prototype.formatHelp.call(this, cmd, helper);
    const description = cmd.description();
    return description === '' ? body : `${description}\n\n${body}`;
  },
  commandUsage(this: Help, cmd: Command): string {
    return Help.prototype.commandUsage
      .call(this, cmd)
      .replace('[options]', '[OPTIONS]')
      .replace('[command]', '[COMMAND]');
  },
  subcommandTerm: (cmd: Command): string => cmd.name(),
  optionTerm(option: Option): string {
    return option.short === undefined ? `    ${option.flags}` : option.flags;
  },
  optionDescription(option: Option): string {
    const extra: string[] = [];
    const takesValue = option.required || option.optional;
    if (
      option.defaultValue !== undefined &&
      (takesValue || typeof option.defaultValue === 'boolean')
    ) {
      extra.push(`[default: ${option.defaultValueDescription ?? String(option.defaultValue)}]`);
    }
    if (option.argChoices) extra.push(`[possible values: ${option.argChoices.join(', ')}]`);
    if (option.envVar !== undefined) extra.push(`[env: ${option.envVar}]`);
    return [option.description, ...extra].filter((part) => part !== '').join(' ');
  },
  visibleOptions(this: Help, cmd: Command): Option[] {
    const options = Help.prototype.visibleOptions.call(this, cmd);
    const isVersion = (option: Option): boolean => option.long === '--version';
    return [...options.filter((o) => !isVersion(o)), ...options.filter(isVersion)];
  },
};

/** The help of `--no-relay-proof`, shared by the peer and `emulate`. */
export const RELAY_PROOF_HELP =
  "Prove every peer's address by our own dial-back (a probe connection per inbound claim), never through a peer linked to both";
