/** A named, weighted pattern of one signal: the unit the text rules score with. */
export type Signal =
  | 'concealment'
  | 'override'
  | 'instruction-tag'
  | 'coercion'
  | 'sensitive-path'
  | 'file-read'
  | 'exfiltration'
  | 'tool-redirect'
  | 'model-address'
  | 'remote-code'
  | 'obfuscation';

export interface TextPattern {
  id: string;
  signal: Signal;
  /** Evidence weight; a rule fires when the distinct signals of one tool or result add up to its threshold. */
  weight: number;
  regex: RegExp;
}
