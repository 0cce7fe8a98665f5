import type { Rule } from './rules.js';
import { SETTING_KEYS, SETTINGS, type RunConfig, type Setting } from './settings.js';

/** The flags that set config values, as commander hands them over. */
export interface ConfigFlags {
  data?: string;
  epochs?: string;
  batchSize?: string;
  chunkSize?: string;
  lr?: string;
  dropout?: string;
  clipNorm?: string;
  schedule?: string;
  earlyStopping?: string;
  kernel?: string;
  seed?: string;
  checkpointEvery?: string;
  hidden?: string;
  augment?: string;
  imageSize?: string;
  imageFit?: string;
  imageChannels?: string;
  skipBadImages?: boolean;
  cacheMb?: string;
}

/** A flag's text, checked by `rule`; undefined when the flag is not given. */
export function flagValue<T>(flag: string, rule: Rule<T>, text: string | undefined): T | undefined {
  return text === undefined ? undefined : rule.check(rule.fromText(text), flag, JSON.stringify(text));
}

/** The config values the flags set (only those given), each checked by its setting's rule. */
export function flagConfig(flags: ConfigFlags): Partial<RunConfig> {
  const texts = flags as Record<string, string | undefined>;
  const values: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const { flag, rule } = SETTINGS[key] as Setting<unknown>;
    if (flag !== undefined && texts[key] !== undefined) values[key] = flagValue(flag, rule, texts[key]);
  }
  return values as Partial<RunConfig>;
}
