/**
 * MQTT: the broker connection, the publisher that drains the journal's outbox, the topic tree, the
 * payloads (zod schemas for consumers) and Home Assistant discovery. See docs/mqtt.md.
 *
 * The alarm lifecycle itself (raise, latch, acknowledge, clear) is pure and lives in
 * controller/domain/alarms.ts; the journal is its record.
 */
export {
  type BrokerSettings,
  brokerAddress,
  brokerSettings,
  MqttSetupError,
  probeBroker,
} from './broker.js';
export { type DiscoveryMessage, type DiscoveryOptions, discoveryMessages } from './discovery.js';
export {
  ActiveAlarmEntry,
  ActiveAlarmsPayload,
  ALARM_ROW_EVENTS,
  AlarmEvent,
  AlarmPayload,
  activeAlarmsPayload,
  alarmPayload,
  CheckpointPayload,
  checkpointPayload,
  type DoorSnapshot,
  DoorStatePayload,
  doorStatePayload,
  EventPayload,
  eventPayload,
  isAlarmRow,
  isoOf,
  LAST_WILL,
  minimalEventPayload,
  type OnlineStatus,
  offlinePayload,
  onlinePayload,
  PAYLOAD_VERSION,
  type PersonLookup,
  PersonRef,
  StatusPayload,
  withoutSecrets,
} from './payloads.js';
export {
  BACKLOG_WARN_LEVELS,
  MQTT_NOT_CONFIGURED,
  MQTT_RECORD_TYPES,
  MqttPublisher,
  type MqttStatus,
  type PublisherDeps,
  type PublisherTuning,
  type RetainedHead,
} from './publisher.js';
export { baseTopicProblem, defaultBaseTopic, type MqttTopics, mqttTopics, topicLevel } from './topics.js';
