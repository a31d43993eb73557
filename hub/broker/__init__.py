"""The real Apache Kafka broker (KRaft), fetched from Maven Central and run by the project."""

from hub.broker.errors import BrokerError
from hub.broker.fetch import KAFKA_VERSION, fetch_kafka
from hub.broker.process import BrokerStatus, LocalBroker

__all__ = ["KAFKA_VERSION", "BrokerError", "BrokerStatus", "LocalBroker", "fetch_kafka"]
