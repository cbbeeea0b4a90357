// How a Kafka client proves who it is and protects the connection: TLS and SASL/SCRAM settings
// applied in one place to every librdkafka handle a service opens (producers, consumers, the
// transactional processor, topic administration, the view rebuild).
#pragma once

#include <map>
#include <string>

struct rd_kafka_conf_s;

namespace lapor::kafka {

struct ClientSecurity {
  // librdkafka security.protocol: plaintext, ssl, sasl_plaintext or sasl_ssl.
  std::string protocol = "plaintext";
  std::string sasl_mechanism = "SCRAM-SHA-512";
  std::string sasl_username;
  std::string sasl_password;  // read from a file or the environment, never from the config file
  std::string ssl_ca_file;    // CA that signed the brokers' certificates ("" = system store)
  std::string ssl_cert_file;  // client certificate, for brokers that require mutual TLS
  std::string ssl_key_file;
  // Checks the combination; returns "" or what is wrong, naming the config key (kafka.*).
  std::string validate() const;
  bool usesSasl() const;
  // What cannot work with the librdkafka this process runs on ("" when nothing): before 2.6.1
  // a SCRAM login to a Kafka 4 broker always fails ("invalid credentials").
  std::string warning() const;
  bool usesTls() const;
  // The librdkafka properties for these settings (nothing for plaintext).
  std::map<std::string, std::string> properties() const;
};

namespace detail {
// A new librdkafka configuration with bootstrap.servers and the security properties set; throws
// std::invalid_argument naming the property librdkafka refused.
rd_kafka_conf_s* clientConf(const std::string& brokers, const ClientSecurity& security);
}  // namespace detail

}  // namespace lapor::kafka
