/**
 * The MQTT topic tree of one controller. Everything lives under one base topic (default
 * `sekisho/<controller.id>`); docs/mqtt.md lists every topic with an example payload.
 */

export interface MqttTopics {
  readonly base: string;
  /** Retained `{"state":"online",…}`; the retained last will is `{"state":"offline"}`. */
  readonly status: string;
  /** QoS 1: every journal record. */
  readonly events: string;
  /** QoS 1: alarm raised / acknowledged / cleared. */
  readonly alarms: string;
  /** Retained: the latched (active) alarms now. */
  readonly alarmsActive: string;
  /** Retained: the latest signed journal checkpoint. */
  readonly checkpoint: string;
  /** Retained: one door's lock, contact, mode and occupancy. */
  doorState(doorId: string): string;
}

export function defaultBaseTopic(controllerId: string): string {
  return `sekisho/${controllerId}`;
}

/**
 * Why `topic` cannot be a base topic, or null if it can: it must be a plain topic name (no `+`
 * or `#` wildcards, no NUL), without empty levels or a leading/trailing `/`, not starting with
 * `$` (reserved for the broker), at most 200 characters.
 */
export function baseTopicProblem(topic: string): string | null {
  if (topic.length === 0) return 'must not be empty';
  if (topic.length > 200) return 'must be at most 200 characters';
  if (/[+#\0]/.test(topic)) return 'must not contain the wildcards "+" or "#"';
  if (topic.startsWith('$')) return 'must not start with "$" (reserved for the broker)';
  if (topic.split('/').some((level) => level.length === 0))
    return 'must not start or end with "/" or contain "//"';
  return null;
}

/** One topic level taken from an id: anything but letters, digits, `_` and `-` becomes `_`. */
export function topicLevel(id: string): string {
  const level = id.replace(/[^A-Za-z0-9_-]/g, '_');
  return level.length > 0 ? level : '_';
}

export function mqttTopics(base: string): MqttTopics {
  const problem = baseTopicProblem(base);
  if (problem) throw new Error(`base topic ${JSON.stringify(base)} ${problem}`);
  return {
    base,
    status: `${base}/status`,
    events: `${base}/events`,
    alarms: `${base}/alarms`,
    alarmsActive: `${base}/alarms/active`,
    checkpoint: `${base}/journal/checkpoint`,
    doorState: (doorId: string) => `${base}/doors/${topicLevel(doorId)}/state`,
  };
}
