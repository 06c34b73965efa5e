/** The cluster log: the one logging door (see clusterlog.ts). */
export {
  ClusterLog,
  LOG_LEVELS,
  LOG_PENDING_MAX,
  LOG_RECENT_MAX_DEFAULT,
  createLog,
  levelAtLeast,
  parseLogLevel,
  silentLog,
  stderrSink,
} from "./clusterlog.ts";
export type {
  CreateLogOptions,
  LevelOptions,
  LogLevel,
  LogRecord,
  LogSink,
  LogSinkSpec,
  LogStats,
  LogSubscriber,
} from "./clusterlog.ts";
export { LOG_FIELDS_CHARS_MAX, formatLogFields, formatLogLine, formatLogTime } from "./format.ts";
