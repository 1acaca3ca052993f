export { replay, type ReplayOptions, type ReplayProgress, type ReplayResult } from './replay.js';
