export * from './constants.ts';
export * from './types.ts';
export * from './errors.ts';
export { parseOnnxModel, safeParseOnnxModel } from './parse.ts';
export type { ParseResult } from './parse.ts';
