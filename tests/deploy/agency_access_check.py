#!/usr/bin/env python3
"""Per-agency access on a secured Kafka, as an agency sees it (confluent-kafka, SCRAM-SHA-512).

Run by kafka_acl_test.sh against a broker with ACLs from deploy/kafka/lapor-kafka-access:
agency A reads its own dispatch topic in its own group prefix and finds the complaint that
was just routed to it; agency B's topic, the lifecycle topic, a foreign group name, writing
to its own topic and a wrong password are all refused with the broker's error.
Arguments: OWN_AGENCY OTHER_AGENCY PASSWORD COMPLAINT_ID; brokers and CA from the environment.
"""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

own, other, password, complaint_id = sys.argv[1:5]
base = {
    "bootstrap.servers": os.environ["LAPOR_KAFKA_SASL_BROKERS"],
    "security.protocol": "SASL_SSL",
    "sasl.mechanisms": "SCRAM-SHA-512",
    "sasl.username": f"agency-{own}",
    "sasl.password": password,
    "ssl.ca.location": os.environ["LAPOR_KAFKA_SSL_CA_FILE"],
}
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def consume(topic, group, deadline_s=30, want_key=None, assign=False):
    """Returns (messages, first error code) reading `topic` in `group` until the deadline,
    until a message keyed `want_key` arrives, or until the first error."""
    c = Consumer({**base, "group.id": group, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    if assign:
        c.assign([TopicPartition(topic, p) for p in range(3)])
    else:
        c.subscribe([topic])
    got, err, end = [], None, time.monotonic() + deadline_s
    try:
        while time.monotonic() < end:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                err = m.error()
                break
            got.append(m)
            if want_key is not None and m.key() == want_key.encode():
                break
    except KafkaException as e:
        err = e.args[0]
    finally:
        c.close()
    return got, err


def code_name(err):
    return err.name() if err is not None else "no error"


got, err = consume(f"lapor.dispatch.{own}.v1", f"agency-{own}.feed", 60, complaint_id)
keys = [m.key().decode() for m in got if m.key()]
check(f"agency-{own} reads lapor.dispatch.{own}.v1 and finds complaint {complaint_id}",
      complaint_id in keys, f"keys {keys}, error {code_name(err)}")

_, err = consume(f"lapor.dispatch.{other}.v1", f"agency-{own}.feed", 20, assign=True)
check(f"agency-{own} reading lapor.dispatch.{other}.v1 is denied",
      err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, code_name(err))

_, err = consume("lapor.complaints.v1", f"agency-{own}.audit", 20, assign=True)
check(f"agency-{own} reading the lifecycle topic is denied",
      err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, code_name(err))

_, err = consume(f"lapor.dispatch.{own}.v1", f"agency-{other}.feed", 20)
check(f"agency-{own} in agency-{other}'s group is denied",
      err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, code_name(err))

delivery = []
p = Producer({**base, "message.timeout.ms": 15000})
p.produce(f"lapor.dispatch.{own}.v1", b"forged", key=complaint_id.encode(),
          on_delivery=lambda e, m: delivery.append(e))
p.flush(20)
check(f"agency-{own} writing to its own feed is denied",
      delivery and delivery[0] is not None
      and delivery[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
      code_name(delivery[0] if delivery else None))

errors = []
c = Consumer({**base, "sasl.password": password + "-wrong", "group.id": f"agency-{own}.feed",
              "log_level": 0, "error_cb": errors.append})
c.subscribe([f"lapor.dispatch.{own}.v1"])
end = time.monotonic() + 20
while not errors and time.monotonic() < end:
    c.poll(0.2)
c.close()
check(f"agency-{own} with a wrong password is refused",
      bool(errors) and errors[0].code() == KafkaError._AUTHENTICATION,
      errors[0].str() if errors else "no error")

print(f"{6 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
