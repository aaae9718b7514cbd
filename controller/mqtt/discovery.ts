/**
 * Home Assistant MQTT discovery (optional, `mqtt.homeAssistant`): three read-only binary sensors per
 * door — contact, lock and alarm — fed by the door's retained state topic, available while the
 * controller's status is `online`. Nothing is offered that could send a command: Home Assistant's
 * MQTT `lock` needs a command topic, so the lock is a `binary_sensor` with device class `lock`.
 */
import { type MqttTopics, topicLevel } from './topics.js';

export interface DiscoveryDoor {
  id: string;
  name: string;
}

export interface DiscoveryMessage {
  topic: string;
  /** The retained config, JSON. */
  payload: string;
}

export interface DiscoveryOptions {
  discoveryPrefix: string;
  controllerId: string;
  version: string;
  topics: MqttTopics;
  doors: readonly DiscoveryDoor[];
}

/** The retained discovery configs, one per door and sensor. */
export function discoveryMessages(o: DiscoveryOptions): DiscoveryMessage[] {
  const node = `sekisho_${topicLevel(o.controllerId)}`;
  const device = {
    identifiers: [node],
    name: `Sekisho ${o.controllerId}`,
    manufacturer: 'Sekisho',
    model: 'machine-room access controller',
    sw_version: o.version,
  };
  const availability = {
    availability_topic: o.topics.status,
    availability_template: '{{ value_json.state }}',
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const out: DiscoveryMessage[] = [];
  for (const door of o.doors) {
    const level = topicLevel(door.id);
    const sensors = [
      {
        key: 'contact',
        name: `${door.name} door`,
        device_class: 'door',
        value_template: "{{ 'ON' if value_json.open else 'OFF' }}",
      },
      {
        key: 'lock',
        // device class lock: ON means unlocked.
        name: `${door.name} lock`,
        device_class: 'lock',
        value_template: "{{ 'OFF' if value_json.locked else 'ON' }}",
      },
      {
        key: 'alarm',
        name: `${door.name} alarm`,
        device_class: 'problem',
        value_template: "{{ 'ON' if value_json.alarm else 'OFF' }}",
        json_attributes_topic: o.topics.doorState(door.id),
        json_attributes_template:
          '{{ {"active_alarms": value_json.activeAlarms, "unacknowledged_alarms": value_json.unacknowledgedAlarms} | tojson }}',
      },
    ];
    for (const { key, ...sensor } of sensors) {
      const objectId = `${level}_${key}`;
      out.push({
        topic: `${o.discoveryPrefix}/binary_sensor/${node}/${objectId}/config`,
        payload: JSON.stringify({
          ...sensor,
          unique_id: `${node}_${objectId}`,
          object_id: `${node}_${objectId}`,
          state_topic: o.topics.doorState(door.id),
          ...availability,
          device,
        }),
      });
    }
  }
  return out;
}
