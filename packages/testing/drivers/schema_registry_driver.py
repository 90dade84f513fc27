"""confluent-kafka Python's SchemaRegistryClient and its Avro, JSON Schema and Protobuf
serializers against Tributary's schema registry, for packages/testing/test/schema-registry.

  schema_registry_driver.py REGISTRY_URL BOOTSTRAP SCENARIO [ARG]

Scenarios, each printing one JSON line (the test asserts on it):
  roundtrip PREFIX   serialize three records per format (auto-registering the schemas), produce
                     them to PREFIX-avro / -json / -protobuf, consume and deserialize them
  client-api         the registry client's REST calls, including its error codes
  decode-avro TOPIC  consume TOPIC (written by another client) with the AvroDeserializer
"""

import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

AVRO_SCHEMA = json.dumps({
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "total", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
})
JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order", "type": "object",
    "properties": {"id": {"type": "string"}, "total": {"type": "integer"}},
    "required": ["id", "total"],
})
RECORDS = [{"id": f"order-{n}", "total": 100 * n, "note": None if n % 2 else f"n{n}"}
           for n in range(1, 4)]
CONSUME_TIMEOUT_S = 30


def order_class():
    """shop.Order as a generated class would define it, built from a FileDescriptorProto."""
    file = descriptor_pb2.FileDescriptorProto(name="shop/order.proto", package="shop",
                                              syntax="proto3")
    message = file.message_type.add(name="Order")
    field = descriptor_pb2.FieldDescriptorProto
    message.field.add(name="id", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    message.field.add(name="total", number=2, type=field.TYPE_INT64, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))


def consume(bootstrap, topic, count, deserialize):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"sr-{topic}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values = []
    try:
        import time
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            context = SerializationContext(topic, MessageField.VALUE)
            values.append(deserialize(message.value(), context))
    finally:
        consumer.close()
    return values


def produce(bootstrap, topic, values, serialize):
    producer = Producer({"bootstrap.servers": bootstrap})
    context = SerializationContext(topic, MessageField.VALUE)
    for value in values:
        producer.produce(topic, value=serialize(value, context))
    assert producer.flush(30) == 0, "records left unsent"


def schema_id_of(framed):
    return int.from_bytes(framed[1:5], "big")


def roundtrip(client, bootstrap, prefix):
    results = {}
    avro_topic = f"{prefix}-avro"
    produce(bootstrap, avro_topic, RECORDS, AvroSerializer(client, AVRO_SCHEMA))
    results["avro"] = consume(bootstrap, avro_topic, len(RECORDS), AvroDeserializer(client))

    json_topic = f"{prefix}-json"
    plain = [{"id": r["id"], "total": r["total"]} for r in RECORDS]
    produce(bootstrap, json_topic, plain, JSONSerializer(JSON_SCHEMA, client))
    results["json"] = consume(bootstrap, json_topic, len(plain),
                              JSONDeserializer(None, schema_registry_client=client))

    order = order_class()
    proto_topic = f"{prefix}-protobuf"
    messages = [order(id=r["id"], total=r["total"]) for r in RECORDS]
    produce(bootstrap, proto_topic, messages, ProtobufSerializer(order, client))
    decoded = consume(bootstrap, proto_topic, len(messages),
                      ProtobufDeserializer(order, schema_registry_client=client))
    results["protobuf"] = [json_format.MessageToDict(m, preserving_proto_field_name=True)
                           for m in decoded]
    for fmt in ("avro", "json", "protobuf"):
        latest = client.get_latest_version(f"{prefix}-{fmt}-value")
        results[f"{fmt}_subject"] = {"id": latest.schema_id, "version": latest.version,
                                     "type": latest.schema.schema_type}
    return results


def error_of(call):
    try:
        call()
    except SchemaRegistryError as error:
        return {"http_status": error.http_status_code, "error_code": error.error_code}
    return None


def client_api(client):
    subject = "api-orders-value"
    out = {}
    first = client.register_schema(subject, Schema(AVRO_SCHEMA, "AVRO"))
    out["first_id"] = first
    wider = json.loads(AVRO_SCHEMA)
    wider["fields"].append({"name": "currency", "type": "string", "default": "EUR"})
    second = Schema(json.dumps(wider), "AVRO")
    out["compatible"] = client.test_compatibility(subject, second)
    breaking = json.loads(AVRO_SCHEMA)
    breaking["fields"].append({"name": "country", "type": "string"})
    out["breaking_compatible"] = client.test_compatibility(subject, Schema(json.dumps(breaking),
                                                                            "AVRO"))
    out["breaking_error"] = error_of(
        lambda: client.register_schema(subject, Schema(json.dumps(breaking), "AVRO")))
    out["second_id"] = client.register_schema(subject, second)
    out["versions"] = client.get_versions(subject)
    out["lookup_version"] = client.lookup_schema(subject, Schema(AVRO_SCHEMA, "AVRO")).version
    out["subjects"] = client.get_subjects()
    out["set_compat"] = client.set_compatibility(subject, "FULL")
    out["get_compat"] = client.get_compatibility(subject)
    out["missing_subject"] = error_of(lambda: client.get_latest_version("no-such-subject"))
    out["missing_version"] = error_of(lambda: client.get_version(subject, 42))
    out["missing_schema"] = error_of(lambda: client.get_schema(424242))
    out["invalid_schema"] = error_of(
        lambda: client.register_schema(subject, Schema("{not avro", "AVRO")))
    out["deleted_version"] = client.delete_version(subject, 1)
    out["versions_after_delete"] = client.get_versions(subject)
    out["soft_deleted_subject"] = client.delete_subject(subject)
    out["after_soft_delete"] = error_of(lambda: client.get_latest_version(subject))
    out["hard_deleted_subject"] = client.delete_subject(subject, permanent=True)
    out["schema_still_readable"] = client.get_schema(first).schema_type
    return out


def main():
    url, bootstrap, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    client = SchemaRegistryClient({"url": url})
    if scenario == "roundtrip":
        result = roundtrip(client, bootstrap, sys.argv[4])
    elif scenario == "client-api":
        result = client_api(client)
    elif scenario == "decode-avro":
        topic = sys.argv[4]
        result = consume(bootstrap, topic, int(sys.argv[5]), AvroDeserializer(client))
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
