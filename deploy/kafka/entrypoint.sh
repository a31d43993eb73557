#!/usr/bin/env bash
# Entrypoint for the official apache/kafka image in docker-compose.yml: renders a secured
# single-node KRaft config (SASL/SCRAM-SHA-512 over TLS for clients on 9094, SASL/SCRAM on 9092
# for the broker itself and its health check, SASL/PLAIN for the controller, StandardAuthorizer,
# deny by default), formats storage once with the admin SCRAM user, starts. The TLS keystore is
# made by `mash broker tls --host kafka --out secrets/kafka-tls`.
set -euo pipefail
admin_pw=$(cat /run/secrets/kafka_admin_password)
controller_pw=$(cat /run/secrets/kafka_controller_password)
conf=/tmp/server.properties
cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=kafka:9093
listeners=CLIENT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,SECURE://0.0.0.0:9094
advertised.listeners=CLIENT://kafka:9092,SECURE://kafka:9094
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,SECURE:SASL_SSL
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin_pw}";
listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin_pw}";
listener.name.secure.ssl.keystore.type=PEM
listener.name.secure.ssl.keystore.location=/run/secrets/kafka_tls_keystore
listener.name.secure.ssl.enabled.protocols=TLSv1.3,TLSv1.2
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${controller_pw}" user_admin="${controller_pw}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
PROPS
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format --standalone -t "${KAFKA_CLUSTER_ID}" -c "$conf" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${admin_pw}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
